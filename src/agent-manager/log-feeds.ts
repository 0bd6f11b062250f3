import type { ExceptionClassifier } from '../agents/detect/classify.js';
import type { Config } from '../config/schema.js';
import type { CoreV1Api } from '@kubernetes/client-node';
import type { Clock, JobRef, LogClassSignal, LogSignal, Snapshot } from '../domain/index.js';
import type { FlinkRestClient } from '../sources/flink-rest/client.js';
import type { LogClassCount, LogCollection } from '../sources/logs/counter.js';
import { LogFeed, type LogCursor } from '../sources/logs/feed.js';
import { FileLogSource } from '../sources/logs/file-source.js';
import { PodLogSource } from '../sources/logs/pod-source.js';
import { RestLogSource } from '../sources/logs/rest-source.js';
import type { Logger } from '../telemetry/logger.js';

/** What a job source offers for log collection (each optional). */
export interface LogCapableSource {
  /** The REST client of the job's JobManager (shared request budget). */
  restClient?(job: JobRef): FlinkRestClient | undefined;
  /** Where the job's FlinkDeployment pods are (Kubernetes sources). */
  podLogs?(job: JobRef): { api: CoreV1Api; namespace: string; deployment: string } | undefined;
}

/**
 * Does a log event of `scope` concern the job? Its own (`job:<id>`), the JobManager's and
 * unknown origins' unattributed ones, and those of the TaskManagers running its subtasks — of
 * every TaskManager while that is not known (the job is not running: the TaskManager it lost
 * matters most then). Events naming another job do not.
 */
export function concerns(scope: string, job: JobRef, tms: ReadonlySet<string>): boolean {
  if (scope.startsWith('job:')) return scope === `job:${job.flinkJobId}`;
  if (scope.startsWith('tm:')) return tms.size === 0 || tms.has(scope.slice(3));
  return true;
}

function mergeByClass(counts: readonly LogClassCount[]): LogClassSignal[] {
  const by = new Map<string, LogClassSignal>();
  for (const c of counts) {
    const prev = by.get(c.class);
    if (prev === undefined)
      by.set(c.class, {
        class: c.class,
        count: c.count,
        firstSeen: c.firstSeen,
        lastSeen: c.lastSeen,
        sample: c.sample,
      });
    else {
      prev.count += c.count;
      prev.firstSeen = Math.min(prev.firstSeen, c.firstSeen);
      if (c.lastSeen >= prev.lastSeen) {
        prev.lastSeen = c.lastSeen;
        prev.sample = c.sample;
      }
    }
  }
  return [...by.values()];
}

/**
 * The log feeds of the daemon: one per JobManager (REST), FlinkDeployment (pod logs) or log
 * directory (files), created on first use and shared by the jobs behind it; each job reads
 * through its own cursor. Per job the first configured kind wins: files for its cluster, then
 * Kubernetes pod logs, then the REST log files. A feed that fails leaves the job's logs absent.
 */
export class LogFeeds {
  private readonly feeds = new Map<string, LogFeed>();
  private readonly cursors = new Map<string, LogCursor>();
  private readonly failures = new Map<string, number>();
  private readonly minIntervalMs: number;

  constructor(
    private readonly config: Config,
    private readonly classifier: ExceptionClassifier,
    private readonly log: Logger,
    private readonly clock: Clock,
  ) {
    this.minIntervalMs = Math.max(1, Math.floor(config.agent.interval / 2));
  }

  private parser() {
    return { maxLineLength: this.config.logs.maxLineLength, maxLines: this.config.logs.maxEventLines };
  }

  private feedFor(job: JobRef, source: LogCapableSource): { key: string; feed: LogFeed } | undefined {
    const cfg = this.config.logs;
    if (!cfg.enabled) return undefined;
    const files = cfg.files.find(f => f.cluster === job.cluster);
    let key: string | undefined;
    let create: (() => { collect(): Promise<LogCollection> }) | undefined;
    if (files !== undefined) {
      key = `files:${files.dir}:${files.glob}`;
      create = () =>
        new FileLogSource({
          dir: files.dir,
          glob: files.glob,
          classifier: this.classifier,
          minLevel: cfg.minLevel,
          maxBytesPerCycle: files.bytesPerCycle,
          parser: this.parser(),
        });
    } else if (cfg.kubernetes.enabled && source.podLogs?.(job) !== undefined) {
      const pods = source.podLogs(job);
      if (pods !== undefined) {
        key = `pods:${pods.namespace}/${pods.deployment}`;
        create = () =>
          new PodLogSource({
            ...pods,
            container: cfg.kubernetes.container,
            classifier: this.classifier,
            minLevel: cfg.minLevel,
            bytesPerCycle: cfg.kubernetes.bytesPerCycle,
            maxPods: cfg.kubernetes.maxPods,
            timeoutMs: this.config.kubernetes.timeout,
            now: () => this.clock.now(),
            parser: this.parser(),
          });
      }
    } else if (cfg.rest.enabled) {
      const client = source.restClient?.(job);
      if (client !== undefined) {
        key = `rest:${client.baseUrl}`;
        create = () =>
          new RestLogSource({
            client,
            classifier: this.classifier,
            minLevel: cfg.minLevel,
            glob: cfg.rest.glob,
            bytesPerCycle: cfg.rest.bytesPerCycle,
            maxResponseBytes: cfg.rest.maxResponseBytes,
            taskManagers: cfg.rest.taskManagers,
            maxTaskManagers: cfg.rest.maxTaskManagers,
            parser: this.parser(),
          });
      }
    }
    if (key === undefined || create === undefined) return undefined;
    let feed = this.feeds.get(key);
    if (feed === undefined) {
      feed = new LogFeed(create(), this.minIntervalMs);
      this.feeds.set(key, feed);
    }
    return { key, feed };
  }

  /**
   * The job's log signal since its last read, or undefined (not collected, or unreadable now).
   * Of a shared log it keeps what concerns the job (see `concerns`); `snapshot` tells which
   * TaskManagers run the job's subtasks.
   */
  async read(
    job: JobRef,
    source: LogCapableSource,
    now: number,
    snapshot?: Snapshot,
  ): Promise<LogSignal | undefined> {
    const f = this.feedFor(job, source);
    if (f === undefined) return undefined;
    try {
      const { collection, cursor } = await f.feed.read(this.cursors.get(job.jobKey), now);
      this.cursors.set(job.jobKey, cursor);
      this.failures.delete(f.key);
      const tms = new Set((snapshot?.vertices ?? []).flatMap(v => v.taskManagers ?? []));
      const counts = mergeByClass(collection.counts.filter(c => concerns(c.scope, job, tms)));
      return { counts, bytes: collection.bytes, skippedBytes: collection.skippedBytes };
    } catch (err) {
      const n = (this.failures.get(f.key) ?? 0) + 1;
      this.failures.set(f.key, n);
      if (n === 1 || n % 100 === 0)
        this.log.warn(
          {
            feed: f.key.replace(/^(rest|pods|files):/, '$1 '),
            failures: n,
            err:
              err instanceof Error
                ? { message: err.message, code: (err as { code?: unknown }).code }
                : String(err),
          },
          'log collection failed; log facts absent',
        );
      return undefined;
    }
  }

  /** A job left the inventory. */
  forget(jobKey: string): void {
    this.cursors.delete(jobKey);
  }
}
