import { createHash } from 'node:crypto';
import {
  runCycle,
  type AgentDeps,
  type AgentTiming,
  type DetectStateCache,
  type Executor,
  type Planner,
} from '../agents/agent.js';
import { compileRules } from '../agents/analyze/compiled-evaluator.js';
import type { DetectState } from '../agents/detect/detect.js';
import { cannotObserveFindings } from '../agents/select/observability.js';
import { resolvePolicy, toCyclePolicy } from '../agents/select/policies/policy.js';
import type { Config } from '../config/schema.js';
import type {
  Clock,
  ExceptionEntry,
  Finding,
  HealthReport,
  JobRef,
  Rule,
  Snapshot,
} from '../domain/index.js';
import type { Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';
import { LocalScheduler } from './local-scheduler.js';
import type { LogCapableSource, LogFeeds } from './log-feeds.js';

/** One place jobs come from and are observed through: a Flink REST cluster, a Kubernetes context… */
export interface JobSource extends LogCapableSource {
  /** Stable id used in "cannot observe <id>" (e.g. `flink:<label>`). */
  readonly id: string;
  listJobs(): Promise<JobRef[]>;
  collect(job: JobRef, now: number): Promise<Snapshot>;
  /** A watching source (Kubernetes) calls `listener` when its jobs changed: discovery runs at once. */
  subscribe?(listener: () => void): () => void;
  /**
   * The source collects all its jobs at once per tick (bulk Prometheus collection): the
   * standalone scheduler gives its jobs one shared phase so one collection serves them all.
   */
  readonly bulk?: boolean;
  /** Stops the source's own loops (watches); the daemon calls it on close. */
  close?(): Promise<void>;
}

export interface DaemonOptions {
  config: Config;
  clock: Clock;
  sources: readonly JobSource[];
  store: Store;
  rules: readonly Rule[];
  rulesVersion: string;
  log: Logger;
  planners?: readonly Planner[];
  executor?: Executor;
  /** Called after every cycle with its report. */
  onReport?: (report: HealthReport) => void;
  /** Telemetry hooks: stage timings, failed stages, lag behind schedule (standalone scheduler). */
  onTiming?: (t: AgentTiming) => void;
  /** CPU of each stage's synchronous work (benchmarks). */
  onCpu?: AgentDeps['onCpu'];
  onStageError?: (stage: keyof AgentTiming) => void;
  onLag?: (lagMs: number) => void;
  /** Exception classifier (rules/log-patterns.json). */
  classify?: (entry: ExceptionEntry) => string;
  /** Log collection (config `logs`); without it no job has log facts. */
  logs?: LogFeeds;
  /** The classes of rules/log-patterns.json (each gets `job.logs.<class>.*` facts). */
  logClasses?: readonly string[];
  /** Default: the in-process LocalScheduler (standalone). Distributed: a BullmqScheduler. */
  scheduler?: (run: (job: JobRef) => Promise<void>) => CycleScheduler;
  /** Default: in memory. Distributed: `storeDetectStates(store)`, shared by the replicas. */
  detectStates?: DetectStateCache & { delete?(jobKey: string): unknown };
}

/** What the daemon needs of a scheduler: the local one and the BullMQ one both fit. */
export interface CycleScheduler {
  sync(
    jobs: readonly JobRef[],
  ): { added: number; removed: number } | Promise<{ added: number; removed: number }>;
  start(): void;
  close(): Promise<void>;
}

/** Metric windows kept in the store (distributed mode): any replica continues any job's windows. */
export function storeDetectStates(
  store: Store,
  clock: Clock,
  ttlMs: number,
): DetectStateCache & { delete(jobKey: string): Promise<void> } {
  return {
    get: jobKey => store.getRecord<DetectState>('detect', jobKey, clock.now()),
    set: (jobKey, state) => store.putRecord('detect', jobKey, state, clock.now() + ttlMs),
    delete: jobKey => store.deleteRecord('detect', jobKey),
  };
}

/** A short, stable version of a rule library: the hash of its files. */
export function rulesVersionOf(files: readonly { file: string; text: string }[]): string {
  const h = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.file < b.file ? -1 : 1))) h.update(`${f.file}\n${f.text}\n`);
  return h.digest('hex').slice(0, 12);
}

/**
 * The standalone daemon: discovery → one agent per job on the in-process scheduler → reports.
 * A source whose listing fails keeps its last good inventory (its jobs then go stale on their
 * own, and when all of them are, one "cannot observe" finding stands for the source).
 */
export class Daemon {
  private readonly scheduler: CycleScheduler;
  private readonly inventory = new Map<string, JobRef[]>();
  private readonly sourceOf = new Map<string, JobSource>();
  private refs = new Map<string, JobRef>();
  private readonly latest = new Map<string, HealthReport>();
  private readonly detectStates: DetectStateCache & { delete?(jobKey: string): unknown };
  private readonly deps: AgentDeps;
  private readonly cannotObserveSince = new Map<string, number>();
  private discovery: Promise<void> | undefined;
  /** Wakes the discovery loop early (a watched source changed). */
  private kick: (() => void) | undefined;
  private kicked = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly stop = new AbortController();
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: DaemonOptions) {
    const { config, clock } = opts;
    this.detectStates = opts.detectStates ?? new Map<string, DetectState>();
    const evaluator = compileRules(opts.rules);
    this.deps = {
      clock,
      collector: {
        collect: async (job, now) => {
          const source = this.sourceFor(job);
          const snapshot = await source.collect(job, now);
          const logs = await opts.logs?.read(job, source, now, snapshot);
          return logs === undefined ? snapshot : { ...snapshot, logs };
        },
      },
      store: opts.store,
      evaluator,
      rulesVersion: opts.rulesVersion,
      settings: {
        tickMs: config.agent.interval,
        staleAfterMs: config.agent.interval * config.agent.staleAfterTicks,
        scoringWindowMs: config.scoring.window,
        historyPoints: config.scoring.historyPoints,
        windows: config.windows,
        catchUpMs: config.autoscaler.catchUp,
        ...(opts.classify === undefined ? {} : { classify: opts.classify }),
        ...(opts.logClasses === undefined ? {} : { logClasses: opts.logClasses }),
      },
      detectStates: this.detectStates,
      policy: job => toCyclePolicy(resolvePolicy(job, config)),
      ...(opts.planners === undefined ? {} : { planners: opts.planners }),
      ...(opts.executor === undefined ? {} : { executor: opts.executor }),
      ...(opts.onTiming === undefined ? {} : { onTiming: opts.onTiming }),
      ...(opts.onCpu === undefined ? {} : { onCpu: opts.onCpu }),
      onError: (stage, err, job) => {
        opts.onStageError?.(stage);
        opts.log.warn(
          {
            stage,
            jobKey: job.jobKey,
            err:
              err instanceof Error
                ? { message: err.message, code: (err as { code?: unknown }).code }
                : String(err),
          },
          'cycle stage failed',
        );
      },
    };
    const run = async (job: JobRef): Promise<void> => {
      await this.cycle(job);
    };
    this.scheduler =
      opts.scheduler?.(run) ??
      new LocalScheduler({
        clock,
        intervalMs: config.agent.interval,
        jitter: config.agent.jitter,
        concurrency: config.agent.concurrency,
        run,
        groupOf: job => {
          const source = this.sourceOf.get(job.jobKey);
          return source?.bulk === true ? source.id : undefined;
        },
        onLag: (_job, lagMs) => opts.onLag?.(lagMs),
      });
  }

  private sourceFor(job: JobRef): JobSource {
    const s = this.sourceOf.get(job.jobKey);
    if (!s) throw new Error(`no source for ${job.jobKey}`);
    return s;
  }

  /** Runs one cycle for a job now (the scheduler calls this; so do `diagnose` and tests). */
  async cycle(queued: JobRef): Promise<HealthReport> {
    // A queued JobRef (BullMQ job data) may predate the last discovery: run the current one.
    const job = this.refs.get(queued.jobKey) ?? queued;
    const { report } = await runCycle(job, this.deps);
    if (!this.sourceOf.has(job.jobKey)) {
      // The job left the inventory while this cycle ran: keep nothing of it.
      await this.detectStates.delete?.(job.jobKey);
      this.opts.logs?.forget(job.jobKey);
      return report;
    }
    this.latest.set(job.jobKey, report);
    const source = this.sourceOf.get(job.jobKey);
    if (source !== undefined) this.updateClusterFindings(source.id);
    this.opts.onReport?.(report);
    return report;
  }

  /** Refreshes the inventory from every source and syncs the scheduler. */
  async discover(): Promise<JobRef[]> {
    await Promise.all(
      this.opts.sources.map(async source => {
        try {
          const jobs = await source.listJobs();
          this.inventory.set(source.id, jobs);
        } catch (err) {
          this.opts.log.warn(
            { source: source.id, err: (err as Error).message },
            'job discovery failed; keeping the last inventory',
          );
        }
      }),
    );
    const all: JobRef[] = [];
    this.sourceOf.clear();
    for (const source of this.opts.sources) {
      for (const job of this.inventory.get(source.id) ?? []) {
        if (this.sourceOf.has(job.jobKey)) continue;
        this.sourceOf.set(job.jobKey, source);
        all.push(job);
      }
    }
    this.refs = new Map(all.map(j => [j.jobKey, j]));
    const { added, removed } = await this.scheduler.sync(all);
    // A job that left the inventory leaves no agent state behind: its report and metric windows
    // go (also those of jobs that never finished a cycle here, e.g. run by another replica).
    for (const key of new Set([...this.latest.keys(), ...this.known])) {
      if (this.sourceOf.has(key)) continue;
      this.latest.delete(key);
      this.opts.logs?.forget(key);
      void Promise.resolve(this.detectStates.delete?.(key)).catch((err: unknown) =>
        this.opts.log.warn({ jobKey: key, err: (err as Error).message }, 'dropping detect state failed'),
      );
    }
    this.known = new Set(this.sourceOf.keys());
    if (added > 0 || removed > 0)
      this.opts.log.info({ jobs: all.length, added, removed }, 'job inventory changed');
    return all;
  }

  private ready = false;
  private known = new Set<string>();

  /** True once the first discovery has finished (the API's /readyz). */
  isReady(): boolean {
    return this.ready;
  }

  async start(): Promise<void> {
    await this.discover();
    this.ready = true;
    this.scheduler.start();
    for (const source of this.opts.sources) {
      const off = source.subscribe?.(() => {
        this.kicked = true;
        this.kick?.();
      });
      if (off) this.unsubscribe.push(off);
    }
    this.discovery = (async () => {
      while (!this.stop.signal.aborted) {
        if (!this.kicked) {
          const wait = new AbortController();
          const onStop = (): void => wait.abort();
          this.stop.signal.addEventListener('abort', onStop, { once: true });
          await Promise.race([
            this.opts.clock
              .sleep(this.opts.config.agent.discoveryInterval, wait.signal)
              .catch(() => undefined),
            new Promise<void>(resolve => (this.kick = resolve)),
          ]);
          wait.abort();
          this.stop.signal.removeEventListener('abort', onStop);
          this.kick = undefined;
          if (this.stop.signal.aborted) return;
        }
        this.kicked = false;
        try {
          await this.discover();
        } catch (err) {
          this.opts.log.warn(
            { err: (err as Error).message },
            'scheduler sync failed; retrying at the next discovery',
          );
        }
      }
    })();
  }

  /** The watched job with this key, from the last discovery. */
  job(jobKey: string): JobRef | undefined {
    return this.refs.get(jobKey);
  }

  reports(): HealthReport[] {
    return [...this.latest.values()];
  }

  report(jobKey: string): HealthReport | undefined {
    return this.latest.get(jobKey);
  }

  /** Cluster-scope findings the daemon raises itself ("cannot observe <source>"). */
  clusterFindings(): Finding[] {
    return cannotObserveFindings(this.observed(), this.opts.clock.now(), this.cannotObserveSince);
  }

  private *observed(): Iterable<{ sourceId: string; dataState: HealthReport['dataState'] }> {
    for (const [key, report] of this.latest) {
      const source = this.sourceOf.get(key);
      if (source) yield { sourceId: source.id, dataState: report.dataState };
    }
  }

  /** The reported jobs of one source (its inventory, not every report: a cycle costs O(its source)). */
  private *observedOf(
    sourceId: string,
  ): Iterable<{ sourceId: string; dataState: HealthReport['dataState'] }> {
    for (const job of this.inventory.get(sourceId) ?? []) {
      const report = this.latest.get(job.jobKey);
      if (report !== undefined && this.sourceOf.get(job.jobKey)?.id === sourceId)
        yield { sourceId, dataState: report.dataState };
    }
  }

  /** Raises or clears "cannot observe <source>" for the source whose job just reported. */
  private updateClusterFindings(sourceId: string): void {
    const now = this.opts.clock.now();
    const down = cannotObserveFindings(this.observedOf(sourceId), now).length > 0;
    const known = this.cannotObserveSince.has(sourceId);
    if (down && !known) {
      this.cannotObserveSince.set(sourceId, now);
      this.opts.log.error({ source: sourceId }, 'cannot observe source: every job behind it is unobservable');
    } else if (!down && known) {
      this.cannotObserveSince.delete(sourceId);
      this.opts.log.info({ source: sourceId }, 'source observable again');
    }
  }

  /** Stops discovery, drains running cycles, closes the store. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stop.abort();
      this.kick?.();
      await this.discovery;
      for (const off of this.unsubscribe.splice(0)) off();
      await Promise.all(this.opts.sources.map(s => s.close?.() ?? Promise.resolve()));
      await this.scheduler.close();
      await this.opts.store.close();
    })();
    return this.closing;
  }
}
