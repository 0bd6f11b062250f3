import type { JobRef } from '../../domain/identity.js';
import type {
  Agg,
  CheckpointInfo,
  CheckpointsSnapshot,
  ClusterSnapshot,
  ExceptionEntry,
  JobSnapshot,
  Snapshot,
  TaskManagerSnapshot,
  VertexMetrics,
  VertexSnapshot,
} from '../../domain/snapshot.js';
import type { Aggregation, FlinkRestClient } from './client.js';
import { FlinkRestError } from './errors.js';
import type { AggregatedMetricsWire, CheckpointWire, JobDetailsWire, TaskManagerWire } from './schemas.js';
import { FALLBACK_FEATURES, type FlinkFeatures } from './version.js';

/** Values at or beyond these are Long.MIN_VALUE / Long.MAX_VALUE: "no watermark yet" / idle. */
const NO_WATERMARK = -9.2e18;
const IDLE_WATERMARK = 9.2e18;

const TASK_METRICS = [
  'busyTimeMsPerSecond',
  'backPressuredTimeMsPerSecond',
  'idleTimeMsPerSecond',
  'numRecordsInPerSecond',
  'numRecordsOutPerSecond',
  'currentInputWatermark',
  'checkpointStartDelayNanos',
  'checkpointAlignmentTime',
] as const;

const TM_METRICS = [
  'Status.JVM.Memory.Heap.Used',
  'Status.JVM.Memory.Heap.Max',
  'Status.JVM.Memory.Metaspace.Used',
  'Status.JVM.Memory.Metaspace.Max',
  'Status.JVM.Memory.Direct.MemoryUsed',
  'Status.JVM.Memory.Direct.TotalCapacity',
  'Status.JVM.CPU.Load',
  'Status.JVM.GarbageCollector.G1_Young_Generation.Time',
  'Status.JVM.GarbageCollector.G1_Old_Generation.Time',
];
const TM_GC_ALL = ['Status.JVM.GarbageCollector.All.TimeMsPerSecond', 'Status.JVM.GarbageCollector.All.Time'];
const JM_METRICS = [
  'taskSlotsTotal',
  'taskSlotsAvailable',
  'numRegisteredTaskManagers',
  'numPendingTaskManagers',
  'Status.JVM.Memory.Heap.Used',
  'Status.JVM.Memory.Heap.Max',
];

/** host:port of a standalone TaskManager id (`<host>:<port>-<6 hex>`), else the id itself (a pod name). */
export function stableTaskManagerId(resourceId: string): string {
  return resourceId.replace(/-[0-9a-f]{6}$/, '');
}

export function hostOf(tm: TaskManagerWire): string {
  const m = tm.path === undefined ? null : /@([^:/]+):\d+/.exec(tm.path);
  return m?.[1] ?? stableTaskManagerId(tm.id).replace(/:\d+$/, '');
}

function aggOf(row: AggregatedMetricsWire[number] | undefined): Agg | undefined {
  if (row === undefined) return undefined;
  const out: Agg = {};
  for (const k of ['min', 'max', 'avg', 'sum', 'skew'] as const) {
    const v = row[k];
    if (v !== undefined && Number.isFinite(v)) out[k] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

function watermarkAgg(row: AggregatedMetricsWire[number] | undefined): Agg | undefined {
  return cleanWatermark(aggOf(row));
}

/** A watermark aggregate without Flink's sentinels: absent before the first watermark or when idle. */
export function cleanWatermark(a: Agg | undefined): Agg | undefined {
  if (a === undefined || a.min === undefined || a.min <= NO_WATERMARK) return undefined;
  if (a.min >= IDLE_WATERMARK) return undefined;
  const out: Agg = { min: a.min };
  if (a.max !== undefined && a.max < IDLE_WATERMARK) out.max = a.max;
  return out;
}

/** Which metric ids to ask for, from the vertex's list of available ids. */
export function selectMetricIds(available: readonly string[]): { ids: string[]; sourceOp?: string } {
  const have = new Set(available);
  const ids: string[] = TASK_METRICS.filter(m => have.has(m));
  const ops = available
    .filter(id => id.endsWith('.pendingRecords') || id.endsWith('.currentEmitEventTimeLag'))
    .map(id => id.slice(0, id.lastIndexOf('.')));
  const sourceOp =
    ops[0] ??
    available
      .find(id => /^Source__.*\.numRecordsInPerSecond$/.test(id))
      ?.replace(/\.numRecordsInPerSecond$/, '');
  if (sourceOp !== undefined)
    for (const m of [
      'pendingRecords',
      'currentEmitEventTimeLag',
      'numRecordsInPerSecond',
      'currentOutputWatermark',
    ])
      if (have.has(`${sourceOp}.${m}`)) ids.push(`${sourceOp}.${m}`);
  return sourceOp === undefined ? { ids } : { ids, sourceOp };
}

function vertexMetricsOf(
  rows: AggregatedMetricsWire,
  sourceOp: string | undefined,
  isSource: boolean,
): VertexMetrics {
  const by = new Map(rows.map(r => [r.id, r]));
  const m: VertexMetrics = {};
  const set = (key: keyof VertexMetrics, value: Agg | undefined): void => {
    if (value !== undefined) m[key] = value;
  };
  set('busyTimeMsPerSecond', aggOf(by.get('busyTimeMsPerSecond')));
  set('backPressuredTimeMsPerSecond', aggOf(by.get('backPressuredTimeMsPerSecond')));
  set('idleTimeMsPerSecond', aggOf(by.get('idleTimeMsPerSecond')));
  set('numRecordsOutPerSecond', aggOf(by.get('numRecordsOutPerSecond')));
  set('checkpointStartDelayNanos', aggOf(by.get('checkpointStartDelayNanos')));
  set('checkpointAlignmentTime', aggOf(by.get('checkpointAlignmentTime')));
  // A source task reads no records from an input gate: its rate is the source operator's.
  const opIn = sourceOp === undefined ? undefined : aggOf(by.get(`${sourceOp}.numRecordsInPerSecond`));
  set(
    'numRecordsInPerSecond',
    isSource && opIn !== undefined ? opIn : aggOf(by.get('numRecordsInPerSecond')),
  );
  if (sourceOp !== undefined) {
    set('pendingRecords', aggOf(by.get(`${sourceOp}.pendingRecords`)));
    set('currentEmitEventTimeLag', aggOf(by.get(`${sourceOp}.currentEmitEventTimeLag`)));
  }
  const wm =
    isSource && sourceOp !== undefined
      ? by.get(`${sourceOp}.currentOutputWatermark`)
      : by.get('currentInputWatermark');
  set('currentInputWatermark', watermarkAgg(wm));
  return m;
}

function checkpointOf(c: CheckpointWire): CheckpointInfo {
  const out: CheckpointInfo = {
    id: c.id,
    status: c.status,
    triggerTimestamp: c.trigger_timestamp,
    isSavepoint: c.is_savepoint ?? false,
  };
  if (c.latest_ack_timestamp !== undefined) out.latestAckTimestamp = c.latest_ack_timestamp;
  if (c.end_to_end_duration !== undefined) out.endToEndDurationMs = c.end_to_end_duration;
  if (c.state_size !== undefined) out.stateSizeBytes = c.state_size;
  if (c.checkpointed_size !== undefined) out.checkpointedSizeBytes = c.checkpointed_size;
  if (typeof c.failure_message === 'string') out.failureMessage = c.failure_message;
  return out;
}

function numberOf(values: readonly { id: string; value: string }[], id: string): number | undefined {
  const raw = values.find(v => v.id === id)?.value;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

async function rememberAsync<T>(client: FlinkRestClient, key: string, load: () => Promise<T>): Promise<T> {
  return client.remembered<T>(key) ?? client.remember(key, await load());
}

/** Collects the parts of a snapshot; a failed part is recorded in `missing`, never thrown. */
export class Parts {
  readonly missing: string[] = [];

  async get<T>(name: string, load: () => Promise<T>): Promise<T | undefined> {
    try {
      return await load();
    } catch (err) {
      this.missing.push(name);
      if (!(err instanceof FlinkRestError)) throw err;
      return undefined;
    }
  }
}

async function taskManagerSnapshots(
  client: FlinkRestClient,
  features: FlinkFeatures,
  now: number,
  parts: Parts,
): Promise<TaskManagerSnapshot[] | undefined> {
  const list = await parts.get('taskmanagers', () =>
    client.cached('taskmanagers', now, client.clusterCacheMs, () => client.taskManagers()),
  );
  if (list === undefined) return undefined;
  const ids = features.gcAllMetrics ? [...TM_METRICS, ...TM_GC_ALL] : TM_METRICS;
  return Promise.all(
    list.taskmanagers.map(async tm => {
      const snap = taskManagerBase(tm, now);
      const values = await parts.get(`taskmanager:${snap.id}`, () =>
        client.cached(`tm-metrics:${tm.id}`, now, client.clusterCacheMs, () =>
          client.taskManagerMetrics(tm.id, ids),
        ),
      );
      if (values === undefined) return snap;
      setTaskManagerValues(snap, id => numberOf(values, id), features);
      return snap;
    }),
  );
}

/** What `/taskmanagers` tells about one TaskManager (identity, slots, heartbeat). */
export function taskManagerBase(tm: TaskManagerWire, now: number): TaskManagerSnapshot {
  const host = hostOf(tm);
  const snap: TaskManagerSnapshot = {
    id: stableTaskManagerId(tm.id),
    resourceId: tm.id,
    host,
    node: host,
    slotsTotal: tm.slotsNumber,
    slotsFree: tm.freeSlots,
  };
  if (tm.timeSinceLastHeartbeat !== undefined)
    snap.timeSinceLastHeartbeatMs = Math.max(
      0,
      tm.timeSinceLastHeartbeat > 1e12 ? now - tm.timeSinceLastHeartbeat : tm.timeSinceLastHeartbeat,
    );
  return snap;
}

/** Sets a TaskManager's JVM values from its Status.* metrics (REST ids), whatever the source. */
export function setTaskManagerValues(
  snap: TaskManagerSnapshot,
  value: (id: string) => number | undefined,
  features: FlinkFeatures,
): void {
  const set = (key: keyof TaskManagerSnapshot, id: string): void => {
    const v = value(id);
    if (v !== undefined && Number.isFinite(v)) (snap as unknown as Record<string, number>)[key] = v;
  };
  set('heapUsed', 'Status.JVM.Memory.Heap.Used');
  set('heapMax', 'Status.JVM.Memory.Heap.Max');
  set('metaspaceUsed', 'Status.JVM.Memory.Metaspace.Used');
  set('metaspaceMax', 'Status.JVM.Memory.Metaspace.Max');
  set('directUsed', 'Status.JVM.Memory.Direct.MemoryUsed');
  set('directMax', 'Status.JVM.Memory.Direct.TotalCapacity');
  set('cpuLoad', 'Status.JVM.CPU.Load');
  if (features.gcAllMetrics) {
    set('gcTimeMsPerSecond', 'Status.JVM.GarbageCollector.All.TimeMsPerSecond');
    set('gcTimeMsTotal', 'Status.JVM.GarbageCollector.All.Time');
  } else {
    const young = value('Status.JVM.GarbageCollector.G1_Young_Generation.Time');
    const old = value('Status.JVM.GarbageCollector.G1_Old_Generation.Time');
    if (young !== undefined || old !== undefined) snap.gcTimeMsTotal = (young ?? 0) + (old ?? 0);
  }
}

export async function clusterSnapshot(
  client: FlinkRestClient,
  features: FlinkFeatures,
  versionKnown: boolean,
  now: number,
  parts: Parts,
): Promise<ClusterSnapshot> {
  const [overview, jm] = await Promise.all([
    parts.get('cluster.overview', () =>
      client.cached('overview', now, client.clusterCacheMs, () => client.overview()),
    ),
    parts.get('cluster.jobmanager', () =>
      client.cached('jm-metrics', now, client.clusterCacheMs, () => client.jobManagerMetrics(JM_METRICS)),
    ),
  ]);
  const c: ClusterSnapshot = { reachable: true };
  if (versionKnown) c.flinkVersion = features.version;
  if (overview !== undefined) {
    c.taskManagers = overview.taskmanagers;
    c.slotsTotal = overview['slots-total'];
    c.slotsAvailable = overview['slots-available'];
  }
  if (jm !== undefined) {
    const pending = numberOf(jm, 'numPendingTaskManagers');
    const heapUsed = numberOf(jm, 'Status.JVM.Memory.Heap.Used');
    const heapMax = numberOf(jm, 'Status.JVM.Memory.Heap.Max');
    if (pending !== undefined) c.pendingTaskManagers = pending;
    if (heapUsed !== undefined) c.jobManagerHeapUsed = heapUsed;
    if (heapMax !== undefined) c.jobManagerHeapMax = heapMax;
  }
  return c;
}

export interface PlanInputs {
  ids: string[];
  /** An input is hash-partitioned (keyBy): the vertex's parallelism should align to key groups. */
  keyed: boolean;
}

export function inputsOf(details: JobDetailsWire): Map<string, PlanInputs> {
  return new Map(
    (details.plan?.nodes ?? []).map(n => [
      n.id,
      { ids: (n.inputs ?? []).map(i => i.id), keyed: (n.inputs ?? []).some(i => i.ship_strategy === 'HASH') },
    ]),
  );
}

async function vertexSnapshot(
  client: FlinkRestClient,
  job: JobRef,
  v: JobDetailsWire['vertices'][number],
  plan: PlanInputs,
  aggs: readonly Aggregation[],
  parts: Parts,
): Promise<VertexSnapshot> {
  const inputs = plan.ids;
  const snap: VertexSnapshot = { id: v.id, name: v.name, parallelism: v.parallelism, inputs, metrics: {} };
  if (plan.keyed) snap.keyedInput = true;
  if (v.maxParallelism !== undefined && v.maxParallelism > 0) snap.maxParallelism = v.maxParallelism;
  const isSource = inputs.length === 0;
  const namesKey = `names:${job.incarnation}:${v.id}`;
  const [names, details] = await Promise.all([
    parts.get(`vertex:${v.id}`, async () => {
      const known = client.remembered<string[]>(namesKey);
      if (known !== undefined) return known;
      const list = await client.subtaskMetricNames(job.flinkJobId, v.id);
      // Nothing registered yet (job not running): ask again next cycle.
      return list.length > 0 ? client.remember(namesKey, list) : list;
    }),
    parts.get(`vertex:${v.id}:taskmanagers`, () => client.vertexDetails(job.flinkJobId, v.id)),
  ]);
  if (details !== undefined) {
    const tms = [
      ...new Set(
        details.subtasks
          .map(s => s['taskmanager-id'])
          .filter((x): x is string => x !== undefined && x !== ''),
      ),
    ];
    snap.taskManagers = tms.map(stableTaskManagerId);
  }
  if (names === undefined || names.length === 0) return snap;
  const { ids, sourceOp } = selectMetricIds(names);
  if (ids.length === 0) return snap;
  const rows = await parts.get(`vertex:${v.id}`, () =>
    client.subtaskMetrics(job.flinkJobId, v.id, ids, aggs),
  );
  if (rows !== undefined) snap.metrics = vertexMetricsOf(rows, sourceOp, isSource);
  return snap;
}

export async function checkpointsSnapshot(
  client: FlinkRestClient,
  job: JobRef,
  parts: Parts,
): Promise<CheckpointsSnapshot | undefined> {
  const [stats, config] = await Promise.all([
    parts.get('checkpoints', () => client.checkpoints(job.flinkJobId)),
    parts.get('checkpoints.config', () =>
      rememberAsync(client, `cp-config:${job.incarnation}`, () => client.checkpointConfig(job.flinkJobId)),
    ),
  ]);
  if (stats === undefined) return undefined;
  const c = stats.counts;
  const snap: CheckpointsSnapshot = {
    counts: {
      completed: c.completed,
      failed: c.failed,
      inProgress: c.in_progress,
      total: c.total,
      restored: c.restored,
    },
    history: stats.history.map(checkpointOf),
  };
  if (stats.latest?.completed) snap.latestCompleted = checkpointOf(stats.latest.completed);
  if (stats.latest?.failed) snap.latestFailed = checkpointOf(stats.latest.failed);
  if (config !== undefined) {
    snap.config = {
      mode: config.mode.toUpperCase(),
      intervalMs: config.interval,
      timeoutMs: config.timeout,
      unaligned: config.unaligned_checkpoints ?? false,
    };
    if (config.tolerable_failed_checkpoints !== undefined)
      snap.config.tolerableFailed = config.tolerable_failed_checkpoints;
  }
  return snap;
}

export async function exceptionEntries(
  client: FlinkRestClient,
  job: JobRef,
  parts: Parts,
): Promise<ExceptionEntry[] | undefined> {
  const body = await parts.get('exceptions', () => client.exceptions(job.flinkJobId));
  if (body === undefined) return undefined;
  return (body.exceptionHistory?.entries ?? []).map(e => {
    const out: ExceptionEntry = {
      exceptionName: e.exceptionName,
      stacktrace: e.stacktrace,
      timestamp: e.timestamp,
    };
    if (typeof e.taskName === 'string') out.taskName = e.taskName;
    if (typeof e.taskManagerId === 'string') out.taskManagerId = stableTaskManagerId(e.taskManagerId);
    return out;
  });
}

async function jobSnapshot(
  client: FlinkRestClient,
  job: JobRef,
  details: JobDetailsWire,
  parts: Parts,
): Promise<JobSnapshot> {
  const [metrics, snap] = await Promise.all([
    parts.get('job.metrics', () => client.jobMetrics(job.flinkJobId, ['numRestarts'])),
    jobSnapshotOf(client, job, details, parts),
  ]);
  const restarts = metrics === undefined ? undefined : numberOf(metrics, 'numRestarts');
  if (restarts !== undefined) snap.numRestarts = restarts;
  return snap;
}

/** The job's status from its details (and, before Flink exposes `schedulerType`, its config). */
export async function jobSnapshotOf(
  client: FlinkRestClient,
  job: JobRef,
  details: JobDetailsWire,
  parts: Parts,
): Promise<JobSnapshot> {
  const snap: JobSnapshot = {
    id: details.jid,
    name: details.name,
    state: details.state,
    startTime: details['start-time'],
  };
  const running = details.timestamps?.RUNNING;
  if (running !== undefined && running > 0) snap.runningSince = running;
  // -1 = not set on the job (real 1.20.3 and 2.3.0): each vertex carries its own.
  if (details.maxParallelism !== undefined && details.maxParallelism > 0)
    snap.maxParallelism = details.maxParallelism;
  if (details.schedulerType !== undefined) {
    snap.schedulerType = details.schedulerType;
    return snap;
  }
  const config = await parts.get('job.config', () =>
    rememberAsync(client, `jm-config:${job.incarnation}`, () => client.jobManagerConfigOfJob(job.flinkJobId)),
  );
  if (config !== undefined) {
    const scheduler = config.find(e => e.key === 'jobmanager.scheduler')?.value.toLowerCase();
    snap.schedulerType = scheduler === 'adaptive' ? 'Adaptive' : 'Default';
  }
  return snap;
}

/**
 * Why the Flink version could not be read, as the error a collection fails with: the JobManager
 * being unreachable, over budget or slow stays what it is; anything else means it is unreachable.
 */
export function versionError(err: unknown, url: string): FlinkRestError {
  if (
    err instanceof FlinkRestError &&
    (err.code === 'unreachable' || err.code === 'budget' || err.code === 'timeout')
  )
    return err;
  return new FlinkRestError('unreachable', 'cannot read the Flink version', { url }, { cause: err });
}

/**
 * Everything the REST source can tell about one job at `now`. Parts that fail (malformed, partial,
 * slow) are listed in `snapshot.missing` and left absent; it throws a FlinkRestError only when
 * nothing useful can be collected: the JobManager is unreachable or the job is gone.
 */
export async function collectSnapshot(client: FlinkRestClient, job: JobRef, now: number): Promise<Snapshot> {
  const parts = new Parts();
  let features: FlinkFeatures;
  try {
    features = await client.features(now);
  } catch (err) {
    throw versionError(err, client.baseUrl);
  }
  const versionKnown = features !== FALLBACK_FEATURES;
  if (!versionKnown) parts.missing.push('cluster.version');
  // The job itself is essential: without it there is nothing to report.
  const detailsPromise = client.job(job.flinkJobId);
  const clusterPromise = clusterSnapshot(client, features, versionKnown, now, parts);
  const details = await detailsPromise;
  const inputs = inputsOf(details);
  const aggs: Aggregation[] = features.aggSkew
    ? ['min', 'max', 'avg', 'sum', 'skew']
    : ['min', 'max', 'avg', 'sum'];
  const [cluster, jobStatus, vertices, checkpoints, exceptions, taskManagers] = await Promise.all([
    clusterPromise,
    jobSnapshot(client, job, details, parts),
    Promise.all(
      details.vertices.map(v =>
        vertexSnapshot(client, job, v, inputs.get(v.id) ?? { ids: [], keyed: false }, aggs, parts),
      ),
    ),
    checkpointsSnapshot(client, job, parts),
    exceptionEntries(client, job, parts),
    taskManagerSnapshots(client, features, now, parts),
  ]);
  const snapshot: Snapshot = {
    job,
    observedAt: now,
    sourceId: `flink:${job.cluster}`,
    cluster,
    jobStatus,
    vertices,
    missing: [...new Set(parts.missing)],
  };
  if (checkpoints !== undefined) snapshot.checkpoints = checkpoints;
  if (exceptions !== undefined) snapshot.exceptions = exceptions;
  if (taskManagers !== undefined) snapshot.taskManagers = taskManagers;
  return snapshot;
}
