import { TM_LIMITS, type ClusterModel, type TaskManagerState } from './cluster.js';
import { MIN_WATERMARK, type JobModel, type SubtaskState, type VertexState } from './job-model.js';
import { metricOperatorName } from './topology.js';

/**
 * Flink's REST metric endpoints read a MetricStore that the JobManager's MetricFetcher refreshes
 * at most every `metrics.fetcher.update-interval` (10 s). This is that store: a frozen copy of
 * every metric taken at the last fetch, so a load change shows up only after the next fetch.
 */

/** Metric id → value. Integer-typed metrics (Java Long) are listed in LONG_METRICS. */
export type MetricMap = Map<string, number | boolean>;

export interface JobMetricsView {
  /** Per vertex id, per subtask index: task and operator metrics. */
  subtasks: Map<string, MetricMap[]>;
  /** JobManager-side job metrics (numRestarts, lastCheckpointDuration, …). */
  job: MetricMap;
}

export interface StoreView {
  fetchedAt: number;
  jobs: Map<string, JobMetricsView>;
  /** Per TaskManager resource id. */
  taskManagers: Map<string, MetricMap>;
  jobManager: MetricMap;
}

const LONG_SUFFIXES = [
  'numRecordsIn',
  'numRecordsOut',
  'numBytesIn',
  'numBytesOut',
  'backPressuredTimeMsPerSecond',
  'idleTimeMsPerSecond',
  'softBackPressuredTimeMsPerSecond',
  'hardBackPressuredTimeMsPerSecond',
  'accumulateBusyTimeMs',
  'accumulateBackPressuredTimeMs',
  'accumulateIdleTimeMs',
  'pendingRecords',
  'currentEmitEventTimeLag',
  'currentInputWatermark',
  'currentOutputWatermark',
  'checkpointStartDelayNanos',
  'sourceIdleTime',
  'mailboxQueueSize',
  // Job and JobManager gauges of type Long: "47", "8", "2" in the 1.20.3 / 2.3.0 recordings.
  'numRestarts',
  'fullRestarts',
  'numRescales',
  'taskSlotsTotal',
  'taskSlotsAvailable',
  'numRegisteredTaskManagers',
  'numPendingTaskManagers',
  'numRunningJobs',
  'lastCheckpointDuration',
  'lastCheckpointSize',
  'lastCheckpointFullSize',
  'numberOfCompletedCheckpoints',
  'numberOfFailedCheckpoints',
  'numberOfInProgressCheckpoints',
  'totalNumberOfCheckpoints',
  'uptime',
  'downtime',
  'restartingTime',
];

/** True when Flink registers the metric as a Long (served as an integer string). */
export function isLongMetric(id: string): boolean {
  if (
    /(Count|Time|Used|Max|Committed|Total|MemoryUsed|TotalCapacity|Open)$/.test(id) &&
    id.startsWith('Status.')
  )
    return !id.endsWith('TimeMsPerSecond') && !id.endsWith('CPU.Load');
  return LONG_SUFFIXES.some(s => id === s || id.endsWith(`.${s}`));
}

function subtaskMetrics(v: VertexState, s: SubtaskState, now: number, cpStartDelayNs: number): MetricMap {
  const m: MetricMap = new Map();
  const bp = s.backPressured.value();
  m.set('busyTimeMsPerSecond', s.busy.value());
  m.set('backPressuredTimeMsPerSecond', Math.round(bp));
  m.set('softBackPressuredTimeMsPerSecond', Math.round(bp));
  m.set('hardBackPressuredTimeMsPerSecond', 0);
  m.set('idleTimeMsPerSecond', Math.round(s.idle.value()));
  m.set('accumulateBusyTimeMs', Math.round(s.accBusyMs));
  m.set('accumulateBackPressuredTimeMs', Math.round(s.accBackPressuredMs));
  m.set('accumulateIdleTimeMs', Math.round(s.accIdleMs));
  m.set('isBackPressured', bp > 100);
  m.set('numRecordsIn', Math.floor(s.recordsIn));
  m.set('numRecordsOut', Math.floor(s.recordsOut));
  m.set('numRecordsInPerSecond', s.inRate.value());
  m.set('numRecordsOutPerSecond', s.outRate.value());
  m.set('numBytesIn', Math.floor(s.recordsIn * 120));
  m.set('numBytesOut', Math.floor(s.recordsOut * 120));
  m.set('numBytesOutPerSecond', s.outRate.value() * 120);
  m.set('buffers.inPoolUsage', s.inPoolUsage);
  m.set('buffers.outPoolUsage', s.outPoolUsage);
  m.set('mailboxQueueSize', 0);
  m.set('checkpointStartDelayNanos', cpStartDelayNs);
  if (!v.isSource) m.set('currentInputWatermark', finiteWatermark(s.watermark));
  const op = metricOperatorName(v.spec.name);
  m.set(`${op}.numRecordsIn`, Math.floor(s.opRecordsIn));
  m.set(`${op}.numRecordsOut`, Math.floor(s.recordsOut));
  m.set(`${op}.numRecordsInPerSecond`, s.opInRate.value());
  m.set(`${op}.numRecordsOutPerSecond`, s.outRate.value());
  m.set(`${op}.currentOutputWatermark`, finiteWatermark(s.watermark));
  if (v.isSource) {
    if (v.spec.backlog) m.set(`${op}.pendingRecords`, Math.round(s.pending));
    m.set(`${op}.currentEmitEventTimeLag`, Math.round(s.emitLagMs));
    m.set(`${op}.sourceIdleTime`, s.watermark === Number.POSITIVE_INFINITY ? now : 0);
  }
  return m;
}

/** Long.MAX_VALUE: the watermark of an idle input. */
const LONG_MAX = 2 ** 63 - 1;

function finiteWatermark(w: number): number {
  return Number.isFinite(w) ? Math.round(w) : w > 0 ? LONG_MAX : MIN_WATERMARK;
}

function jobMetrics(cluster: ClusterModel, job: JobModel, now: number): MetricMap {
  const m: MetricMap = new Map();
  const cp = job.checkpoints;
  m.set('numRestarts', job.numRestarts);
  if (cluster.features.fullRestartsMetric) m.set('fullRestarts', job.numRestarts);
  if (cluster.features.numRescalesMetric) m.set('numRescales', job.numRescales);
  m.set('lastCheckpointDuration', cp.latestCompleted?.endToEndDurationMs ?? -1);
  m.set('lastCheckpointSize', cp.latestCompleted?.checkpointedSizeBytes ?? -1);
  m.set('lastCheckpointFullSize', cp.latestCompleted?.stateSizeBytes ?? -1);
  m.set('lastCompletedCheckpointId', cp.latestCompleted?.id ?? -1);
  m.set('lastCheckpointCompletedTimestamp', cp.latestCompleted?.latestAckTimestamp ?? -1);
  m.set('numberOfCompletedCheckpoints', cp.counts.completed);
  m.set('numberOfFailedCheckpoints', cp.counts.failed);
  m.set('numberOfInProgressCheckpoints', cp.counts.inProgress);
  m.set('totalNumberOfCheckpoints', cp.counts.total);
  m.set('runningTime', job.status === 'RUNNING' ? now - job.runningSince : 0);
  m.set('restartingTime', job.status === 'RESTARTING' ? now - job.statusSince : 0);
  m.set('uptime', job.status === 'RUNNING' ? now - job.runningSince : 0);
  m.set('downtime', job.status === 'RUNNING' ? 0 : now - job.statusSince);
  return m;
}

function taskManagerMetrics(cluster: ClusterModel, tm: TaskManagerState): MetricMap {
  const m: MetricMap = new Map();
  const heapMax = cluster.scenario.cluster.tmHeapBytes;
  m.set('Status.JVM.Memory.Heap.Used', Math.round(tm.heapUsed));
  m.set('Status.JVM.Memory.Heap.Committed', heapMax);
  m.set('Status.JVM.Memory.Heap.Max', heapMax);
  m.set('Status.JVM.Memory.NonHeap.Used', Math.round(tm.metaspaceUsed + 60 * 1024 ** 2));
  m.set('Status.JVM.Memory.Metaspace.Used', Math.round(tm.metaspaceUsed));
  m.set('Status.JVM.Memory.Metaspace.Max', TM_LIMITS.metaspaceMax);
  m.set('Status.JVM.Memory.Direct.MemoryUsed', Math.round(tm.directUsed));
  m.set('Status.JVM.Memory.Direct.TotalCapacity', TM_LIMITS.directMax);
  m.set('Status.JVM.Memory.Direct.Count', 4096);
  m.set('Status.JVM.GarbageCollector.G1_Young_Generation.Count', Math.floor(tm.youngCount));
  m.set('Status.JVM.GarbageCollector.G1_Young_Generation.Time', Math.floor(tm.youngTimeMs));
  m.set('Status.JVM.GarbageCollector.G1_Old_Generation.Count', Math.floor(tm.oldCount));
  m.set('Status.JVM.GarbageCollector.G1_Old_Generation.Time', Math.floor(tm.oldTimeMs));
  if (cluster.features.gcAllMetrics) {
    m.set('Status.JVM.GarbageCollector.All.Count', Math.floor(tm.youngCount + tm.oldCount));
    m.set('Status.JVM.GarbageCollector.All.Time', Math.floor(tm.youngTimeMs + tm.oldTimeMs));
    m.set('Status.JVM.GarbageCollector.All.TimeMsPerSecond', tm.gcMsPerSecond.value());
  }
  m.set('Status.JVM.CPU.Load', tm.cpuLoad.value());
  m.set('Status.JVM.Threads.Count', 120 + tm.slots * 12);
  m.set('Status.JVM.FileDescriptor.Open', 900);
  m.set('Status.JVM.FileDescriptor.Max', 1_048_576);
  m.set('Status.Flink.Memory.Managed.Used', 0);
  m.set('Status.Flink.Memory.Managed.Total', 512 * 1024 ** 2);
  m.set('Status.Shuffle.Netty.UsedMemory', 32 * 1024 ** 2);
  m.set('Status.Shuffle.Netty.TotalMemory', 128 * 1024 ** 2);
  return m;
}

function jobManagerMetrics(cluster: ClusterModel): MetricMap {
  const m: MetricMap = new Map();
  const total = cluster.slotsTotal();
  m.set('numRegisteredTaskManagers', cluster.taskManagers.filter(t => t.alive).length);
  m.set('numPendingTaskManagers', cluster.pendingTaskManagers());
  m.set('numRunningJobs', cluster.jobs.filter(j => j.status === 'RUNNING').length);
  m.set('taskSlotsTotal', total);
  m.set('taskSlotsAvailable', Math.max(0, total - cluster.slotsUsed()));
  m.set('Status.JVM.Memory.Heap.Used', 310 * 1024 ** 2);
  m.set('Status.JVM.Memory.Heap.Max', 1024 ** 3);
  m.set('Status.JVM.CPU.Load', 0.03);
  return m;
}

export function captureView(cluster: ClusterModel, now: number): StoreView {
  const jobs = new Map<string, JobMetricsView>();
  for (const job of cluster.jobs) {
    const subtasks = new Map<string, MetricMap[]>();
    const maxBp = Math.max(
      0,
      ...job.vertices.flatMap(v => v.subtasks.map(s => s.backPressured.value() / 1000)),
    );
    const startDelayNs = Math.round(maxBp * 30e9);
    for (const v of job.vertices)
      subtasks.set(
        v.id,
        v.subtasks.map(s => subtaskMetrics(v, s, now, startDelayNs)),
      );
    jobs.set(job.id, { subtasks, job: jobMetrics(cluster, job, now) });
  }
  const taskManagers = new Map<string, MetricMap>();
  for (const tm of cluster.taskManagers)
    if (tm.alive) taskManagers.set(tm.resourceId, taskManagerMetrics(cluster, tm));
  return { fetchedAt: now, jobs, taskManagers, jobManager: jobManagerMetrics(cluster) };
}

export class MetricStore {
  private view: StoreView | undefined;

  constructor(
    private readonly cluster: ClusterModel,
    private readonly updateIntervalMs: number,
  ) {}

  /** The store as a REST handler sees it at `now`: refreshed if the last fetch is old enough. */
  read(now: number): StoreView {
    if (this.view === undefined || now - this.view.fetchedAt >= this.updateIntervalMs) {
      this.cluster.advanceTo(now);
      this.view = captureView(this.cluster, now);
    }
    return this.view;
  }
}
