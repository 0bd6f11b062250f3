import type {
  Clock,
  ExceptionEntry,
  HealthReport,
  JobMode,
  JobFacts,
  JobRef,
  ParamOverrides,
  PlannedAction,
  Snapshot,
} from '../domain/index.js';
import type { Store } from '../state/store.js';
import { analyze, markUnknown, type AnalyzeResult } from './analyze/analyze.js';
import type { RuleEvaluator } from './analyze/rule-evaluator.js';
import { detect, type DetectState } from './detect/detect.js';
import { cpuMsSince } from '../domain/clock.js';
import { logFacts } from './detect/logs.js';
import type { WindowLengths } from './detect/windows.js';
import { firstAction, healthScore, riskOf } from './select/health-score.js';

/** Reads the outside world for one job (sources/). Throws when nothing usable came back. */
export interface Collector {
  collect(job: JobRef, now: number): Promise<Snapshot>;
}

/** What a planner sees: the fresh report and the snapshot it came from. */
export interface PlanContext {
  job: JobRef;
  snapshot: Snapshot;
  facts: JobFacts;
  report: HealthReport;
  mode: Exclude<JobMode, 'paused'>;
  now: number;
}

/** Only planners create PlannedActions (rules advise, planners act). */
export interface Planner {
  plan(ctx: PlanContext): Promise<PlannedAction[]>;
}

/** Changes the outside world (actions/): alerts, rescales. Never called on stale data. */
export interface Executor {
  /** `facts`: this cycle's facts when fresh (verification compares observed rates). */
  execute(
    report: HealthReport,
    actions: readonly PlannedAction[],
    job: JobRef,
    facts?: JobFacts,
  ): Promise<void>;
}

/** The effective per-job policy the cycle needs. */
export interface CyclePolicy {
  mode: Exclude<JobMode, 'paused'>;
  overrides?: ParamOverrides;
  disabledRules?: ReadonlySet<string>;
}

export interface AgentTiming {
  collect: number;
  detect: number;
  analyze: number;
  select: number;
  execute: number;
  store: number;
}

/**
 * CPU ms of the synchronous work of each stage (benchmarks): detect = fact derivation, analyze =
 * rule evaluation, select = score and planners' synchronous part, store = the state copy handed
 * to the store. Measured with process.cpuUsage (~1 µs a call) around synchronous calls only, so
 * concurrent cycles never leak in (other threads of the process, e.g. GC helpers, can).
 */
export interface AgentCpu {
  detect: number;
  analyze: number;
  select: number;
  store: number;
}

export interface AgentSettings {
  tickMs: number;
  /** Data older than this makes the job unobservable. */
  staleAfterMs: number;
  scoringWindowMs: number;
  historyPoints: number;
  windows: WindowLengths;
  catchUpMs: number;
  /** Exception → class (rules/log-patterns.json); without it the exception-class facts are absent. */
  classify?: (entry: ExceptionEntry) => string;
  /** The classes of rules/log-patterns.json: each gets `job.logs.<class>.*` facts when logs are read. */
  logClasses?: readonly string[];
}

export interface DetectStateCache {
  get(jobKey: string): DetectState | undefined | Promise<DetectState | undefined>;
  set(jobKey: string, state: DetectState): unknown;
}

export interface AgentDeps {
  clock: Clock;
  collector: Collector;
  store: Store;
  evaluator: RuleEvaluator;
  rulesVersion: string;
  settings: AgentSettings;
  /**
   * Metric windows per jobKey. Standalone: a Map in memory (rebuilt from the sources after a
   * restart). Distributed: kept in the shared store, because a job's cycles move between replicas.
   */
  detectStates: DetectStateCache;
  policy?: (job: JobRef) => CyclePolicy;
  planners?: readonly Planner[];
  executor?: Executor;
  /** Called with stage timings in ms (telemetry, benchmarks). */
  onTiming?: (t: AgentTiming) => void;
  /** Called with the CPU of each stage's synchronous work (benchmarks). */
  onCpu?: (cpu: AgentCpu, job: JobRef) => void;
  onError?: (stage: keyof AgentTiming, err: unknown, job: JobRef) => void;
}

export interface CycleResult {
  report: HealthReport;
  snapshot?: Snapshot;
  /** The collect error, when the sources returned nothing usable. */
  error?: unknown;
}

const PAUSE_KEYS = (job: JobRef): string[] => ['fleet', `cluster:${job.cluster}`, `job:${job.jobKey}`];

/**
 * One cycle for one job: collect → detect → analyze → select → execute.
 *
 * The core is deterministic given the Clock and the injected adapters. Missing data makes a job
 * stale — never a crash, never an action: a failed collect re-reports the last report as
 * `partial` (no evaluation, no action) until the last observation is older than `staleAfter`,
 * then the score and risk become null and the job's findings unknown.
 */
export async function runCycle(job: JobRef, deps: AgentDeps): Promise<CycleResult> {
  const { clock, store, settings } = deps;
  const t: AgentTiming = { collect: 0, detect: 0, analyze: 0, select: 0, execute: 0, store: 0 };
  let mark = performance.now();
  const lap = (stage: keyof AgentTiming): void => {
    const n = performance.now();
    t[stage] += n - mark;
    mark = n;
  };

  const cpu: AgentCpu | undefined = deps.onCpu ? { detect: 0, analyze: 0, select: 0, store: 0 } : undefined;
  const sync = <T>(stage: keyof AgentCpu, fn: () => T): T => {
    if (cpu === undefined) return fn();
    const c0 = process.cpuUsage();
    try {
      return fn();
    } finally {
      cpu[stage] += cpuMsSince(c0);
    }
  };

  const now = clock.now();
  const policy = deps.policy?.(job) ?? { mode: 'dry-run' as const };
  let snapshot: Snapshot | undefined;
  let error: unknown;
  try {
    snapshot = await deps.collector.collect(job, now);
  } catch (err) {
    error = err;
    deps.onError?.('collect', err, job);
  }
  lap('collect');

  const prev = await store.getJob(job.jobKey);
  const paused = await isPaused(store, job, now);
  const mode: JobMode = paused ? 'paused' : policy.mode;
  const base = {
    schemaVersion: 1 as const,
    id: job.jobKey,
    cluster: job.cluster,
    ...(job.namespace === undefined ? {} : { namespace: job.namespace }),
    name: job.name,
    flinkJobId: job.flinkJobId,
    labels: { ...job.labels },
    rulesVersion: deps.rulesVersion,
    mode,
    updatedAt: now,
  };
  const previousRecords =
    prev && prev.incarnation === job.incarnation ? prev.findings : (prev?.findings ?? {});
  const fresh = snapshot !== undefined && now - snapshot.observedAt <= settings.staleAfterMs;
  lap('store');

  let report: HealthReport;
  let analysis: AnalyzeResult;
  let cycleFacts: JobFacts | undefined;
  let logHistory = prev?.logHistory;
  if (!fresh) {
    const lastObservedAt = snapshot?.observedAt ?? prev?.lastObservedAt;
    const recent = lastObservedAt !== undefined && now - lastObservedAt <= settings.staleAfterMs;
    if (recent && prev?.lastReport) {
      // A passing failure: keep what we knew, say it is partial, do nothing.
      report = { ...prev.lastReport, ...base, dataState: 'partial', actions: [] };
      analysis = { records: previousRecords, findings: prev.lastReport.findings };
    } else {
      analysis = markUnknown(previousRecords, now, settings.scoringWindowMs);
      report = {
        ...base,
        state: snapshot?.jobStatus?.state ?? prev?.lastReport?.state ?? 'UNKNOWN',
        dataState: 'stale',
        observedAt: lastObservedAt ?? null,
        score: null,
        risk: null,
        scoreBreakdown: [],
        firstAction: null,
        findings: analysis.findings,
        actions: [],
      };
    }
    lap('analyze');
  } else {
    const observed = snapshot as Snapshot;
    const prevState = await deps.detectStates.get(job.jobKey);
    const d = sync('detect', () =>
      detect(observed, prevState, {
        windows: settings.windows,
        catchUpMs: settings.catchUpMs,
        ...(settings.classify === undefined ? {} : { classify: settings.classify }),
      }),
    );
    await deps.detectStates.set(job.jobKey, d.state);
    const logs = logFacts(observed.logs, prev?.logHistory, {
      windows: settings.windows,
      now,
      classes: settings.logClasses ?? [],
    });
    Object.assign(d.facts.job.facts, logs.facts);
    logHistory = logs.history;
    cycleFacts = d.facts;
    lap('detect');
    const analyzed = sync('analyze', () =>
      analyze({
        jobKey: job.jobKey,
        facts: d.facts,
        evaluator: deps.evaluator,
        previous: previousRecords,
        now,
        tickMs: settings.tickMs,
        retentionMs: settings.scoringWindowMs,
        ...(policy.overrides === undefined ? {} : { overrides: policy.overrides }),
        ...(policy.disabledRules === undefined ? {} : { disabledRules: policy.disabledRules }),
      }),
    );
    analysis = analyzed;
    lap('analyze');
    const scored: HealthReport = sync('select', () => {
      const { score, breakdown } = healthScore(
        Object.values(analyzed.records),
        now,
        settings.scoringWindowMs,
      );
      const firing = analyzed.findings.filter(f => f.state === 'firing');
      return {
        ...base,
        state: observed.jobStatus?.state ?? 'UNKNOWN',
        dataState: observed.missing.length > 0 ? 'partial' : 'ok',
        observedAt: observed.observedAt,
        score,
        risk: riskOf(score, firing),
        scoreBreakdown: breakdown,
        firstAction: firstAction(analyzed.findings),
        findings: analyzed.findings,
        actions: [],
      };
    });
    report = scored;
    if (mode !== 'paused' && report.dataState === 'ok') {
      for (const planner of deps.planners ?? []) {
        try {
          const planned = sync('select', () =>
            planner.plan({ job, snapshot: observed, facts: d.facts, report: scored, mode, now }),
          );
          report.actions.push(...(await planned));
        } catch (err) {
          deps.onError?.('select', err, job);
        }
      }
    }
    lap('select');
  }

  if (deps.executor && report.dataState !== 'stale') {
    try {
      await deps.executor.execute(
        report,
        report.dataState === 'ok' ? report.actions : [],
        job,
        report.dataState === 'ok' ? cycleFacts : undefined,
      );
    } catch (err) {
      deps.onError?.('execute', err, job);
    }
  }
  lap('execute');

  const history = [...(prev?.scoreHistory ?? []), { at: now, score: report.score }].slice(
    -settings.historyPoints,
  );
  const lastObservedAt = fresh ? (snapshot as Snapshot).observedAt : prev?.lastObservedAt;
  const finalReport = report;
  const records = analysis.records;
  await sync('store', () =>
    store.putJob({
      jobKey: job.jobKey,
      incarnation: job.incarnation,
      findings: records,
      scoreHistory: history,
      lastReport: finalReport,
      ...(lastObservedAt === undefined ? {} : { lastObservedAt }),
      ...(logHistory === undefined ? {} : { logHistory }),
    }),
  );
  lap('store');
  deps.onTiming?.(t);
  if (cpu !== undefined) deps.onCpu?.(cpu, job);
  return { report, ...(snapshot ? { snapshot } : {}), ...(error === undefined ? {} : { error }) };
}

async function isPaused(store: Store, job: JobRef, now: number): Promise<boolean> {
  for (const key of PAUSE_KEYS(job)) {
    if ((await store.getRecord('pause', key, now)) !== undefined) return true;
  }
  return false;
}
