import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HealthReport } from '../domain/index.js';

/**
 * The daemon's own metrics (prom-client, on a registry of its own, never the global one).
 *
 * Label cardinality. Every label combination is a time series kept until the process ends, so
 * labels here take values from small fixed sets only: `stage` (6 cycle stages) and `risk`
 * (high, medium, low, unobservable). The one exception is `autopilot_job_health_score{job}`,
 * one series per job: fine for hundreds of jobs, too many at 30,000 (each job would cost a
 * series in every Prometheus that scrapes us, and the fleet's state is already in the
 * `jobs_by_risk` counts and the API). So per-job scores are exported for at most
 * `maxJobSeries` jobs (default 1000), the worst first (risk, then score, then jobKey — the
 * dashboard's order); `autopilot_job_health_score_omitted` says how many were left out. Jobs
 * whose score is null (unobservable) have no series; a series disappears when its job does.
 * Never label with vertex ids, subtasks, pods, rule params or error texts.
 *
 * Report-derived gauges are computed when scraped (prom-client `collect`), from the `reports`
 * callback if given, so nothing runs on a timer and a daemon with 30,000 jobs pays once per
 * scrape, not once per cycle.
 */

export const CYCLE_STAGES = ['collect', 'detect', 'analyze', 'select', 'execute', 'store'] as const;
export type CycleStage = (typeof CYCLE_STAGES)[number];

/** Milliseconds per stage of one cycle (`AgentTiming` from the agent has this shape). */
export type StageTimings = Readonly<Record<CycleStage, number>>;

export const RISK_LABELS = ['high', 'medium', 'low', 'unobservable'] as const;

export interface MetricsOptions {
  /** Per-job score series cap. Default 1000. */
  maxJobSeries?: number;
  /** Where report-derived gauges read at scrape time (e.g. `() => daemon.reports()`). */
  reports?: () => readonly HealthReport[];
  /** Node process metrics (`autopilot_process_*`, `autopilot_nodejs_*`). Default true. */
  defaultMetrics?: boolean;
}

export interface AutopilotMetrics {
  readonly registry: Registry;
  /** One cycle's stage durations. */
  observeCycle(timing: StageTimings): void;
  /** A stage of a cycle failed. */
  observeFailure(stage: CycleStage): void;
  /** How late a cycle started against its schedule. */
  observeLag(ms: number): void;
  /** Sets jobs tracked, jobs by risk, paused jobs and per-job scores from these reports. */
  observeReports(reports: readonly HealthReport[]): void;
  setRulesLoaded(count: number): void;
}

const STAGE_BUCKETS_S = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const LAG_BUCKETS_S = [0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
const RISK_RANK: Readonly<Record<string, number>> = { high: 0, medium: 1, low: 2 };

function worstFirst(a: HealthReport, b: HealthReport): number {
  const ra = RISK_RANK[a.risk ?? ''] ?? 3;
  const rb = RISK_RANK[b.risk ?? ''] ?? 3;
  if (ra !== rb) return ra - rb;
  if (a.score !== b.score) return (a.score ?? Infinity) - (b.score ?? Infinity);
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function createMetrics(opts: MetricsOptions = {}): AutopilotMetrics {
  const registry = new Registry();
  const registers = [registry];
  const maxJobSeries = opts.maxJobSeries ?? 1000;
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'autopilot_' });

  const stageDuration = new Histogram({
    name: 'autopilot_cycle_stage_duration_seconds',
    help: 'Time spent in each stage of a job cycle.',
    labelNames: ['stage'] as const,
    buckets: STAGE_BUCKETS_S,
    registers,
  });
  const lag = new Histogram({
    name: 'autopilot_cycle_lag_seconds',
    help: 'How late a job cycle started against its schedule.',
    buckets: LAG_BUCKETS_S,
    registers,
  });
  const failures = new Counter({
    name: 'autopilot_cycle_failures_total',
    help: 'Job cycle stages that failed.',
    labelNames: ['stage'] as const,
    registers,
  });
  const rulesLoaded = new Gauge({ name: 'autopilot_rules_loaded', help: 'Rules in use.', registers });
  for (const stage of CYCLE_STAGES) {
    stageDuration.zero({ stage });
    failures.inc({ stage }, 0);
  }

  // Recomputed at most once per scrape: every report gauge's collect() asks, the first one does it.
  let refreshed = false;
  const refresh = (): void => {
    if (opts.reports === undefined || refreshed) return;
    refreshed = true;
    setImmediate(() => (refreshed = false));
    observeReports(opts.reports());
  };
  const gauge = (name: string, help: string) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        refresh();
      },
    });
  const jobsTracked = gauge('autopilot_jobs_tracked', 'Jobs the daemon watches.');
  const pausedJobs = gauge('autopilot_jobs_paused', 'Jobs whose mode is paused.');
  const omitted = gauge(
    'autopilot_job_health_score_omitted',
    'Jobs with a score but no autopilot_job_health_score series (over the per-job series cap).',
  );
  const byRisk = new Gauge({
    name: 'autopilot_jobs_by_risk',
    help: 'Jobs per risk level; unobservable = no fresh data (score and risk null).',
    labelNames: ['risk'] as const,
    registers,
    collect() {
      refresh();
    },
  });
  const jobScore = new Gauge({
    name: 'autopilot_job_health_score',
    help: `Health score per job (0–100), for the worst ${maxJobSeries} jobs at most.`,
    labelNames: ['job'] as const,
    registers,
    collect() {
      refresh();
    },
  });

  function observeReports(reports: readonly HealthReport[]): void {
    const counts: Record<(typeof RISK_LABELS)[number], number> = {
      high: 0,
      medium: 0,
      low: 0,
      unobservable: 0,
    };
    let paused = 0;
    for (const r of reports) {
      counts[r.risk ?? 'unobservable'] += 1;
      if (r.mode === 'paused') paused += 1;
    }
    jobsTracked.set(reports.length);
    pausedJobs.set(paused);
    for (const risk of RISK_LABELS) byRisk.set({ risk }, counts[risk]);
    const scored = reports.filter(r => r.score !== null);
    const kept = scored.length <= maxJobSeries ? scored : [...scored].sort(worstFirst).slice(0, maxJobSeries);
    jobScore.reset();
    for (const r of kept) jobScore.set({ job: r.id }, r.score ?? 0);
    omitted.set(scored.length - kept.length);
  }

  return {
    registry,
    observeCycle(t) {
      for (const stage of CYCLE_STAGES) stageDuration.observe({ stage }, t[stage] / 1000);
    },
    observeFailure(stage) {
      failures.inc({ stage });
    },
    observeLag(ms) {
      lag.observe(Math.max(0, ms) / 1000);
    },
    observeReports,
    setRulesLoaded(count) {
      rulesLoaded.set(count);
    },
  };
}
