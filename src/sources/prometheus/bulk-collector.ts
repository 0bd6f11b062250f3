import { cpuMsSince } from '../../domain/clock.js';
import type { JobRef } from '../../domain/identity.js';
import type {
  CheckpointInfo,
  CheckpointsSnapshot,
  ClusterSnapshot,
  ExceptionEntry,
  FlinkJobStatus,
  JobSnapshot,
  Snapshot,
  TaskManagerSnapshot,
  VertexSnapshot,
} from '../../domain/snapshot.js';
import type { FlinkRestClient } from '../flink-rest/client.js';
import { listJobs } from '../flink-rest/discovery.js';
import { FlinkRestError } from '../flink-rest/errors.js';
import type { JobDetailsWire } from '../flink-rest/schemas.js';
import {
  checkpointsSnapshot,
  cleanWatermark,
  clusterSnapshot,
  exceptionEntries,
  inputsOf,
  jobSnapshotOf,
  Parts,
  setTaskManagerValues,
  taskManagerBase,
  versionError,
} from '../flink-rest/snapshot.js';
import { FALLBACK_FEATURES, type FlinkFeatures } from '../flink-rest/version.js';
import type { PrometheusClient } from './client.js';
import { collectClusterMetrics, reporterFiltered, type ClusterMetrics, type JobPartial } from './bulk.js';

/** The few log calls the collector makes (pino's Logger fits). */
export interface CollectorLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export interface BulkCollectorOptions {
  /** Cluster label (job keys `rest:<label>/<name>`) and labels added to every job. */
  cluster: { label: string; labels?: Readonly<Record<string, string>> };
  rest: FlinkRestClient;
  prometheus: PrometheusClient;
  /** The agent tick: a cluster collection is shared by the cycles of the same tick. */
  tickMs: number;
  /**
   * How often each job's REST-only parts (job graph, checkpoint details, exceptions) are
   * re-read when no symptom asks for them earlier.
   */
  restIntervalMs: number;
  log?: CollectorLog;
  /**
   * Per collected job: CPU ms of parsing Prometheus answers (the cluster collection's share, i.e.
   * its parse CPU over its jobs) and of splitting and merging them into the job's snapshot.
   */
  onCost?: (job: JobRef, cost: { parseCpuMs: number; collectCpuMs: number }) => void;
  /** Spreads each job's first slow REST read over `restIntervalMs` (default Math.random; 0 = at once). */
  random?: () => number;
}

export interface BulkCollectorStats {
  /** Cluster collections (one per tick). */
  ticks: number;
  /** Prometheus queries sent. */
  queries: number;
  /** Failed family queries. */
  failedFamilies: number;
  /** Per-job REST reads: due by the cadence, asked for by a symptom, first read of a job. */
  restReads: { scheduled: number; symptom: number; first: number };
  /** CPU ms of splitting cluster results into per-job snapshots. */
  splitCpuMs: number;
  /** Wall ms of cluster collections, summed, and the longest. */
  tickWallMs: number;
  maxTickWallMs: number;
}

/** What one tick read for the whole cluster. */
interface ClusterTick {
  at: number;
  jobIds: Set<string>;
  features: FlinkFeatures;
  versionKnown: boolean;
  cluster: ClusterSnapshot;
  /** /jobs/overview: current state per job id (undefined when the read failed). */
  states: Map<string, FlinkJobStatus> | undefined;
  /** Base TaskManager snapshots from /taskmanagers, by reporter-filtered tm_id. */
  taskManagers: Map<string, TaskManagerSnapshot> | undefined;
  metrics: ClusterMetrics;
  missing: string[];
}

/** Per-job REST knowledge, refreshed on the cadence or by a symptom. */
interface JobRest {
  incarnation: string;
  details?: JobDetailsWire;
  jobStatus?: JobSnapshot;
  checkpoints?: CheckpointsSnapshot;
  exceptions?: ExceptionEntry[];
  /** When checkpoint details and exceptions are due again. */
  slowDueAt: number;
  detailsDueAt: number;
  /** Last values seen in Prometheus, for symptoms. */
  restarts?: number;
  failedCheckpoints?: number;
}

function symptomFromPrometheus(
  rest: JobRest,
  partial: JobPartial | undefined,
  state: FlinkJobStatus | undefined,
): { details: boolean; slow: boolean } {
  const out = { details: false, slow: false };
  const restarts = partial?.job.numRestarts;
  if (restarts !== undefined && rest.restarts !== undefined && restarts > rest.restarts) {
    out.details = true;
    out.slow = true;
  }
  const failed = partial?.job.numberOfFailedCheckpoints;
  if (failed !== undefined && rest.failedCheckpoints !== undefined && failed > rest.failedCheckpoints)
    out.slow = true;
  const details = rest.details;
  if (details !== undefined) {
    if (state !== undefined && state !== details.state) out.details = true;
    for (const [taskId, v] of partial?.vertices ?? []) {
      const known = details.vertices.find(x => x.id === taskId);
      // A vertex Prometheus knows and the graph does not, or more subtasks: rescaled or redeployed.
      if (known === undefined || v.subtasks > known.parallelism) out.details = true;
    }
  }
  return out;
}

function latestFromPrometheus(
  job: JobPartial['job'],
  rest: CheckpointInfo | undefined,
): CheckpointInfo | undefined {
  const id = job.lastCompletedCheckpointId;
  if (id === undefined || id < 0) return rest;
  if (rest !== undefined && rest.id === id) return rest;
  const out: CheckpointInfo = { id, status: 'COMPLETED', triggerTimestamp: 0, isSavepoint: false };
  const at = job.lastCheckpointCompletedTimestamp;
  const duration = job.lastCheckpointDuration;
  if (at !== undefined && at > 0) out.latestAckTimestamp = at;
  if (duration !== undefined && duration >= 0) out.endToEndDurationMs = duration;
  if (at !== undefined && at > 0 && duration !== undefined && duration >= 0)
    out.triggerTimestamp = at - duration;
  if (job.lastCheckpointFullSize !== undefined && job.lastCheckpointFullSize >= 0)
    out.stateSizeBytes = job.lastCheckpointFullSize;
  if (job.lastCheckpointSize !== undefined && job.lastCheckpointSize >= 0)
    out.checkpointedSizeBytes = job.lastCheckpointSize;
  return out;
}

/**
 * Checkpoints: counts and the latest completed one from Prometheus every tick; history, the
 * latest failure's message and the configuration from the (slower) REST read. Without the
 * Prometheus job family, only a REST read of this very cycle counts (older counts would hide
 * failures), else the part is absent.
 */
function mergeCheckpoints(
  partial: JobPartial | undefined,
  rest: CheckpointsSnapshot | undefined,
  restIsFresh: boolean,
): CheckpointsSnapshot | undefined {
  const job = partial?.job;
  const completed = job?.numberOfCompletedCheckpoints;
  const failed = job?.numberOfFailedCheckpoints;
  if (job === undefined || completed === undefined || failed === undefined)
    return restIsFresh ? rest : undefined;
  const inProgress = job.numberOfInProgressCheckpoints ?? 0;
  const out: CheckpointsSnapshot = {
    counts: {
      completed,
      failed,
      inProgress,
      total: job.totalNumberOfCheckpoints ?? completed + failed + inProgress,
      restored: rest?.counts.restored ?? 0,
    },
    history: rest?.history ?? [],
  };
  const latest = latestFromPrometheus(job, rest?.latestCompleted);
  if (latest !== undefined) out.latestCompleted = latest;
  if (rest?.latestFailed !== undefined) out.latestFailed = rest.latestFailed;
  if (rest?.config !== undefined) out.config = rest.config;
  return out;
}

/**
 * The bulk collector of one Flink cluster: a Prometheus collection per tick for all its jobs,
 * shared by their cycles, merged per job with what only the JobManager's REST API knows (job
 * graph and parallelism, checkpoint details, exceptions), read per job every `restIntervalMs` or
 * when a symptom asks for it (restarts or failed checkpoints increased, state or graph changed),
 * through the client's per-JobManager request budget.
 */
export class BulkCollector {
  readonly stats: BulkCollectorStats = {
    ticks: 0,
    queries: 0,
    failedFamilies: 0,
    restReads: { scheduled: 0, symptom: 0, first: 0 },
    splitCpuMs: 0,
    tickWallMs: 0,
    maxTickWallMs: 0,
  };
  private inventory: JobRef[] = [];
  private tick: { at: number; jobIds: Set<string>; result: Promise<ClusterTick> } | undefined;
  private readonly jobs = new Map<string, JobRest>();
  private readonly random: () => number;

  constructor(private readonly opts: BulkCollectorOptions) {
    this.random = opts.random ?? Math.random;
  }

  get id(): string {
    return `flink:${this.opts.cluster.label}`;
  }

  /** Discovery from REST `/jobs/overview`; the inventory is also the set of jobs each tick queries. */
  async listJobs(): Promise<JobRef[]> {
    const jobs = await listJobs(this.opts.rest, {
      clusterLabel: this.opts.cluster.label,
      labels: this.opts.cluster.labels ?? {},
    });
    this.inventory = jobs;
    const ids = new Set(jobs.map(j => j.flinkJobId));
    for (const id of this.jobs.keys()) if (!ids.has(id)) this.jobs.delete(id);
    return jobs;
  }

  /** The cluster collection of the current tick (started by the first cycle of the tick). */
  private tickFor(job: JobRef, now: number): Promise<ClusterTick> {
    const t = this.tick;
    if (t !== undefined && now >= t.at && now - t.at < this.opts.tickMs / 2 && t.jobIds.has(job.flinkJobId))
      return t.result;
    const jobIds = new Set(this.inventory.map(j => j.flinkJobId));
    jobIds.add(job.flinkJobId);
    const started = performance.now();
    const result = this.collectCluster([...jobIds], now).finally(() => {
      const ms = performance.now() - started;
      this.stats.tickWallMs += ms;
      this.stats.maxTickWallMs = Math.max(this.stats.maxTickWallMs, ms);
    });
    this.tick = { at: now, jobIds, result };
    // Each cycle awaits it; nothing is left unhandled when no cycle is waiting.
    result.catch(() => undefined);
    return result;
  }

  private async collectCluster(jobIds: string[], now: number): Promise<ClusterTick> {
    const { rest, prometheus } = this.opts;
    this.stats.ticks++;
    const parts = new Parts();
    const features = rest.features(now);
    const taskManagers = parts.get('taskmanagers', () =>
      rest.cached('taskmanagers', now, rest.clusterCacheMs, () => rest.taskManagers()),
    );
    const tmLabels = taskManagers.then(list => list?.taskmanagers.map(tm => reporterFiltered(tm.id)));
    const metricsPromise = collectClusterMetrics(prometheus, jobIds, tmLabels);
    let f: FlinkFeatures;
    try {
      f = await features;
    } catch (err) {
      this.stats.queries += (await metricsPromise).families.length;
      throw versionError(err, rest.baseUrl);
    }
    const versionKnown = f !== FALLBACK_FEATURES;
    if (!versionKnown) parts.missing.push('cluster.version');
    const [cluster, overview, tms, metrics] = await Promise.all([
      clusterSnapshot(rest, f, versionKnown, now, parts),
      parts.get('jobs.overview', () =>
        rest.cached('jobs-overview', now, rest.clusterCacheMs, () => rest.jobsOverview()),
      ),
      taskManagers,
      metricsPromise,
    ]);
    this.stats.queries += metrics.families.length;
    this.stats.failedFamilies += metrics.failed.size;
    if (metrics.failed.size > 0)
      this.opts.log?.warn(
        {
          cluster: this.opts.cluster.label,
          endpoint: prometheus.baseUrl,
          failed: Object.fromEntries(metrics.failed),
        },
        'prometheus queries failed; those metric families are absent for the cluster this tick',
      );
    return {
      at: now,
      jobIds: new Set(jobIds),
      features: f,
      versionKnown,
      cluster,
      states: overview === undefined ? undefined : new Map(overview.jobs.map(j => [j.jid, j.state])),
      taskManagers:
        tms === undefined
          ? undefined
          : new Map(tms.taskmanagers.map(tm => [reporterFiltered(tm.id), taskManagerBase(tm, now)])),
      metrics,
      missing: [...parts.missing, ...[...metrics.failed.keys()].map(f => `prometheus:${f}`)],
    };
  }

  /** Reads what only REST knows about the job, as due or asked for; failures go to `parts`. */
  private async readRest(
    job: JobRef,
    state: JobRest,
    tick: ClusterTick,
    now: number,
    parts: Parts,
  ): Promise<boolean> {
    const partial = tick.metrics.jobs.get(job.flinkJobId);
    const symptom = symptomFromPrometheus(state, partial, tick.states?.get(job.flinkJobId));
    const first = state.details === undefined;
    const details = first || symptom.details || now >= state.detailsDueAt;
    const slow = symptom.slow || now >= state.slowDueAt;
    if (!details && !slow) return false;
    if (first) this.stats.restReads.first++;
    else if (symptom.details || symptom.slow) this.stats.restReads.symptom++;
    else this.stats.restReads.scheduled++;
    const { rest } = this.opts;
    const [d, checkpoints, exceptions] = await Promise.all([
      !details
        ? Promise.resolve(undefined)
        : first
          ? rest.job(job.flinkJobId) // the graph is essential: without it there is nothing to report
          : parts.get('job', () => rest.job(job.flinkJobId)),
      slow ? checkpointsSnapshot(rest, job, parts) : Promise.resolve(undefined),
      slow ? exceptionEntries(rest, job, parts) : Promise.resolve(undefined),
    ]);
    if (d !== undefined) {
      state.details = d;
      state.jobStatus = await jobSnapshotOf(rest, job, d, parts);
      // After the first read, a random phase: the jobs discovered together do not re-read together.
      state.detailsDueAt =
        now +
        (first ? Math.floor(this.opts.restIntervalMs * (0.5 + this.random() / 2)) : this.opts.restIntervalMs);
    }
    if (slow) {
      if (checkpoints !== undefined) state.checkpoints = checkpoints;
      if (exceptions !== undefined) state.exceptions = exceptions;
      if (checkpoints !== undefined && exceptions !== undefined)
        state.slowDueAt = now + this.opts.restIntervalMs;
    }
    return slow && checkpoints !== undefined;
  }

  /**
   * The job's snapshot: the shared cluster collection of this tick, split to the job, merged with
   * its REST parts. Throws a FlinkRestError when the JobManager is unreachable or the job is gone
   * (as the REST collector does); anything else missing is listed in `missing` and left absent.
   */
  async collect(job: JobRef, now: number): Promise<Snapshot> {
    const tick = await this.tickFor(job, now);
    if (tick.states !== undefined && !tick.states.has(job.flinkJobId))
      throw new FlinkRestError('job-gone', 'job is not on its JobManager any more', {
        url: `${this.opts.rest.baseUrl}/jobs/${job.flinkJobId}`,
      });
    let state = this.jobs.get(job.flinkJobId);
    if (state === undefined || state.incarnation !== job.incarnation) {
      state = {
        incarnation: job.incarnation,
        detailsDueAt: now + this.opts.restIntervalMs,
        slowDueAt: now + Math.floor(this.random() * this.opts.restIntervalMs),
      };
      this.jobs.set(job.flinkJobId, state);
    }
    const parts = new Parts();
    const restCheckpointsFresh = await this.readRest(job, state, tick, now, parts);
    const details = state.details;
    if (details === undefined)
      throw new FlinkRestError('malformed', 'no job details', { url: this.opts.rest.baseUrl });
    const cpu0 = process.cpuUsage();
    const partial = tick.metrics.jobs.get(job.flinkJobId);
    if (partial?.job.numRestarts !== undefined) state.restarts = partial.job.numRestarts;
    if (partial?.job.numberOfFailedCheckpoints !== undefined)
      state.failedCheckpoints = partial.job.numberOfFailedCheckpoints;
    const snapshot = this.assemble(job, tick, state, details, partial, restCheckpointsFresh, parts);
    const d = cpuMsSince(cpu0);
    const collectCpuMs = d;
    this.stats.splitCpuMs += collectCpuMs;
    this.opts.onCost?.(job, {
      parseCpuMs: tick.metrics.parseCpuMs / Math.max(1, tick.jobIds.size),
      collectCpuMs,
    });
    return snapshot;
  }

  private assemble(
    job: JobRef,
    tick: ClusterTick,
    state: JobRest,
    details: JobDetailsWire,
    partial: JobPartial | undefined,
    restCheckpointsFresh: boolean,
    parts: Parts,
  ): Snapshot {
    const failed = tick.metrics.failed;
    const busyOk = !failed.has('busy');
    const tmIdOf = (label: string): string | undefined => tick.taskManagers?.get(label)?.id;
    const inputs = inputsOf(details);
    const vertices: VertexSnapshot[] = details.vertices.map(v => {
      const plan = inputs.get(v.id) ?? { ids: [], keyed: false };
      const snap: VertexSnapshot = {
        id: v.id,
        name: v.name,
        parallelism: v.parallelism,
        inputs: plan.ids,
        metrics: {},
      };
      if (plan.keyed) snap.keyedInput = true;
      if (v.maxParallelism !== undefined) snap.maxParallelism = v.maxParallelism;
      const p = partial?.vertices.get(v.id);
      if (p !== undefined) {
        const m = { ...p.metrics };
        // A source task's watermark is its source operator's output watermark (as REST reads it).
        const wm = cleanWatermark(plan.ids.length === 0 ? p.sourceOutputWatermark : m.currentInputWatermark);
        if (wm === undefined) delete m.currentInputWatermark;
        else m.currentInputWatermark = wm;
        snap.metrics = m;
      }
      if (busyOk && tick.taskManagers !== undefined)
        snap.taskManagers = [
          ...new Set([...(p?.tmLabels ?? [])].map(tmIdOf).filter((x): x is string => x !== undefined)),
        ];
      return snap;
    });
    let jobStatus: JobSnapshot | undefined;
    if (state.jobStatus !== undefined) {
      jobStatus = { ...state.jobStatus };
      const current = tick.states?.get(job.flinkJobId);
      if (current !== undefined) jobStatus.state = current;
      delete jobStatus.numRestarts;
      if (partial?.job.numRestarts !== undefined) jobStatus.numRestarts = partial.job.numRestarts;
    }
    const taskManagers =
      tick.taskManagers === undefined
        ? undefined
        : [...tick.taskManagers].map(([label, base]) => {
            const tm = { ...base };
            const values = tick.metrics.taskManagers.get(label);
            if (values !== undefined) setTaskManagerValues(tm, id => values.get(id), tick.features);
            return tm;
          });
    const checkpoints = mergeCheckpoints(
      failed.has('job') ? undefined : partial,
      state.checkpoints,
      restCheckpointsFresh,
    );
    const snapshot: Snapshot = {
      job,
      observedAt: tick.at,
      sourceId: `flink:${job.cluster}`,
      cluster: tick.cluster,
      vertices,
      missing: [...new Set([...tick.missing, ...parts.missing])],
    };
    if (jobStatus !== undefined) snapshot.jobStatus = jobStatus;
    if (checkpoints !== undefined) snapshot.checkpoints = checkpoints;
    if (state.exceptions !== undefined) snapshot.exceptions = state.exceptions;
    if (taskManagers !== undefined) snapshot.taskManagers = taskManagers;
    return snapshot;
  }
}
