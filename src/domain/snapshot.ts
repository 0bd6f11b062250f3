import type { JobRef } from './identity.js';

/**
 * A Snapshot is what the sources collected about one job at one moment, already parsed from the
 * wire and typed. Every metric is optional: what the source did not deliver is absent, and
 * detect turns absence into absent facts. `observedAt` is the source's time of the data.
 */

/** Subtask aggregation as Flink's `agg=min,max,avg,sum,skew` returns it. */
export interface Agg {
  min?: number;
  max?: number;
  avg?: number;
  sum?: number;
  skew?: number;
}

/** Flink's JobStatus values (the wire's `state`). */
export const FLINK_JOB_STATUSES = [
  'INITIALIZING',
  'CREATED',
  'RUNNING',
  'FAILING',
  'FAILED',
  'CANCELLING',
  'CANCELED',
  'FINISHED',
  'RESTARTING',
  'SUSPENDED',
  'RECONCILING',
] as const;
export type FlinkJobStatus = (typeof FLINK_JOB_STATUSES)[number];

export interface VertexMetrics {
  busyTimeMsPerSecond?: Agg;
  backPressuredTimeMsPerSecond?: Agg;
  idleTimeMsPerSecond?: Agg;
  numRecordsInPerSecond?: Agg;
  numRecordsOutPerSecond?: Agg;
  /** Source readers only: records waiting in the external system. */
  pendingRecords?: Agg;
  /** Source readers only: currentEmitEventTimeLag in ms. */
  currentEmitEventTimeLag?: Agg;
  /** Lowest input watermark across subtasks, epoch ms (absent before the first watermark). */
  currentInputWatermark?: Agg;
  checkpointStartDelayNanos?: Agg;
  checkpointAlignmentTime?: Agg;
}

export interface VertexSnapshot {
  id: string;
  name: string;
  parallelism: number;
  maxParallelism?: number;
  /** Ids of the vertices feeding this one (from the job plan). */
  inputs: string[];
  /** An input edge is hash-partitioned (keyBy): parallelism is aligned to key groups. */
  keyedInput?: boolean;
  /** Source partitions (e.g. Kafka), when the source reports them. */
  partitions?: number;
  /** Output ratio records out / records in, measured; absent until there is traffic. */
  metrics: VertexMetrics;
  /** Stable ids (pod name or host:port) of the TaskManagers running its subtasks. */
  taskManagers?: string[];
}

export interface CheckpointInfo {
  id: number;
  status: 'COMPLETED' | 'FAILED' | 'IN_PROGRESS';
  triggerTimestamp: number;
  /** Completion (or failure) time, epoch ms. */
  latestAckTimestamp?: number;
  endToEndDurationMs?: number;
  stateSizeBytes?: number;
  checkpointedSizeBytes?: number;
  failureMessage?: string;
  isSavepoint: boolean;
}

export interface CheckpointsSnapshot {
  counts: { completed: number; failed: number; inProgress: number; total: number; restored: number };
  latestCompleted?: CheckpointInfo;
  latestFailed?: CheckpointInfo;
  history: CheckpointInfo[];
  config?: {
    /** EXACTLY_ONCE or AT_LEAST_ONCE. */
    mode: string;
    intervalMs: number;
    timeoutMs: number;
    unaligned: boolean;
    tolerableFailed?: number;
  };
}

export interface ExceptionEntry {
  exceptionName: string;
  stacktrace: string;
  timestamp: number;
  taskName?: string;
  taskManagerId?: string;
}

export interface TaskManagerSnapshot {
  /** Stable id: pod name (Kubernetes) or host:port; not Flink's resource id. */
  id: string;
  /** Flink's resource id (changes on every restart). */
  resourceId: string;
  host: string;
  slotsTotal: number;
  slotsFree: number;
  timeSinceLastHeartbeatMs?: number;
  heapUsed?: number;
  heapMax?: number;
  metaspaceUsed?: number;
  metaspaceMax?: number;
  directUsed?: number;
  directMax?: number;
  /** GarbageCollector.All.TimeMsPerSecond (Flink >= 1.19). */
  gcTimeMsPerSecond?: number;
  /** Cumulative GC time over all collectors (older Flink; detect derives the rate). */
  gcTimeMsTotal?: number;
  cpuLoad?: number;
  /** Node the TaskManager runs on (Kubernetes spec.nodeName, else the host). */
  node?: string;
}

export interface NodeSnapshot {
  name: string;
  cpuStealRatio?: number;
  cpuIowaitRatio?: number;
  diskFreeRatio?: number;
  diskBusyRatio?: number;
  nicErrorsPerSecond?: number;
  nicDropsPerSecond?: number;
  memoryAvailableRatio?: number;
}

export interface ClusterSnapshot {
  reachable: boolean;
  flinkVersion?: string;
  taskManagers?: number;
  slotsTotal?: number;
  slotsAvailable?: number;
  pendingTaskManagers?: number;
  jobManagerHeapUsed?: number;
  jobManagerHeapMax?: number;
}

export interface JobSnapshot {
  id: string;
  name: string;
  state: FlinkJobStatus;
  startTime: number;
  /** When the job last entered RUNNING (from `timestamps.RUNNING`). */
  runningSince?: number;
  maxParallelism?: number;
  schedulerType?: 'Default' | 'Adaptive' | 'AdaptiveBatch';
  /** numRestarts counter (resets with the incarnation). */
  numRestarts?: number;
}

export interface Snapshot {
  job: JobRef;
  /** Source time of the data, epoch ms. */
  observedAt: number;
  /** Which source produced it (a cluster URL or label), for "cannot observe <source>". */
  sourceId: string;
  cluster: ClusterSnapshot;
  jobStatus?: JobSnapshot;
  vertices: VertexSnapshot[];
  checkpoints?: CheckpointsSnapshot;
  exceptions?: ExceptionEntry[];
  taskManagers?: TaskManagerSnapshot[];
  nodes?: NodeSnapshot[];
  /**
   * What the job's logs said since the last cycle (JobManager and TaskManager logs, per class of
   * `rules/log-patterns.json`). Absent when logs are not collected or could not be read: then the
   * log facts are absent too, never zero.
   */
  logs?: LogSignal;
  /** Parts the sources failed to deliver this cycle (e.g. "checkpoints", "vertex:<id>"). */
  missing: string[];
}

/** Log events of one class read since the last cycle. */
export interface LogClassSignal {
  class: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** First line of the latest event, secrets masked. */
  sample: string;
}

export interface LogSignal {
  counts: LogClassSignal[];
  /** Bytes read and bytes skipped (over budget, oversize, rotated away) since the last cycle. */
  bytes: number;
  skippedBytes: number;
}

/** What a job remembers of its logs between cycles (kept with the job's state; bounded). */
export interface LogHistory {
  /** Since when the logs have been read every cycle (unset by a cycle without them). */
  since?: number;
  /** Per cycle that saw events: the cycle's time and the count per class. Oldest first. */
  buckets: { at: number; counts: Record<string, number> }[];
  /** Per class seen within the long window: its first and newest event, and a sample line. */
  classes: Record<string, { firstSeen: number; lastSeen: number; sample: string }>;
}
