import { cpuMsSince } from '../../domain/clock.js';
import type { Agg, VertexMetrics } from '../../domain/snapshot.js';
import type { PrometheusClient, Sample } from './client.js';

/**
 * Bulk collection: per cluster and tick, ONE PromQL query per metric family for ALL jobs of the
 * cluster, aggregated server-side where the facts need only one aggregate, per subtask where they
 * need several (max, avg and skew of busy time; sums and skew of record rates). Results are
 * split by `job_id` (never by job name: the reporter filters label values to [a-zA-Z0-9:_]).
 */

export type FamilyAgg = 'subtask' | 'max' | 'min' | 'sum' | 'avg';

export interface TaskFamily {
  /** Family name, as listed in `missing` (`prometheus:<name>`) and in the logs. */
  name: string;
  /** Prometheus metric name. */
  metric: string;
  agg: FamilyAgg;
  /** Where the value lands: a vertex metric, or the source operators' output watermark. */
  target: keyof VertexMetrics | 'sourceOutputWatermark';
  /** Also group by tm_id: which TaskManagers run the vertex (placement). */
  placement?: boolean;
}

const T = 'flink_taskmanager_job_task_';
const OP = 'flink_taskmanager_job_task_operator_';

export const TASK_FAMILIES: readonly TaskFamily[] = [
  {
    name: 'busy',
    metric: `${T}busyTimeMsPerSecond`,
    agg: 'subtask',
    target: 'busyTimeMsPerSecond',
    placement: true,
  },
  {
    name: 'backPressured',
    metric: `${T}backPressuredTimeMsPerSecond`,
    agg: 'subtask',
    target: 'backPressuredTimeMsPerSecond',
  },
  { name: 'idle', metric: `${T}idleTimeMsPerSecond`, agg: 'avg', target: 'idleTimeMsPerSecond' },
  { name: 'recordsIn', metric: `${T}numRecordsInPerSecond`, agg: 'subtask', target: 'numRecordsInPerSecond' },
  {
    name: 'recordsOut',
    metric: `${T}numRecordsOutPerSecond`,
    agg: 'subtask',
    target: 'numRecordsOutPerSecond',
  },
  {
    name: 'inputWatermark',
    metric: `${T}currentInputWatermark`,
    agg: 'min',
    target: 'currentInputWatermark',
  },
  {
    name: 'checkpointStartDelay',
    metric: `${T}checkpointStartDelayNanos`,
    agg: 'max',
    target: 'checkpointStartDelayNanos',
  },
  {
    name: 'checkpointAlignment',
    metric: `${T}checkpointAlignmentTime`,
    agg: 'max',
    target: 'checkpointAlignmentTime',
  },
  { name: 'pendingRecords', metric: `${OP}pendingRecords`, agg: 'sum', target: 'pendingRecords' },
  {
    name: 'emitEventTimeLag',
    metric: `${OP}currentEmitEventTimeLag`,
    agg: 'max',
    target: 'currentEmitEventTimeLag',
  },
  {
    name: 'outputWatermark',
    metric: `${OP}currentOutputWatermark`,
    agg: 'min',
    target: 'sourceOutputWatermark',
  },
];

/** JobManager-side job metrics, fetched together in one `__name__=~` query. */
export const JOB_METRICS = [
  'numRestarts',
  'numberOfCompletedCheckpoints',
  'numberOfFailedCheckpoints',
  'numberOfInProgressCheckpoints',
  'totalNumberOfCheckpoints',
  'lastCompletedCheckpointId',
  'lastCheckpointDuration',
  'lastCheckpointFullSize',
  'lastCheckpointSize',
  'lastCheckpointCompletedTimestamp',
] as const;
export type JobMetric = (typeof JOB_METRICS)[number];

/** TaskManager Status.* metrics (REST ids), fetched together in one `__name__=~` query. */
export const TM_METRICS = [
  'Status.JVM.Memory.Heap.Used',
  'Status.JVM.Memory.Heap.Max',
  'Status.JVM.Memory.Metaspace.Used',
  'Status.JVM.Memory.Metaspace.Max',
  'Status.JVM.Memory.Direct.MemoryUsed',
  'Status.JVM.Memory.Direct.TotalCapacity',
  'Status.JVM.CPU.Load',
  'Status.JVM.GarbageCollector.G1_Young_Generation.Time',
  'Status.JVM.GarbageCollector.G1_Old_Generation.Time',
  'Status.JVM.GarbageCollector.All.TimeMsPerSecond',
  'Status.JVM.GarbageCollector.All.Time',
] as const;

/** PrometheusReporter's name and label-value filter: anything outside [a-zA-Z0-9:_] becomes `_`. */
export function reporterFiltered(value: string): string {
  return value.replace(/[^a-zA-Z0-9:_]/g, '_');
}

const tmPromName = (id: string): string => reporterFiltered(`flink_taskmanager_${id}`);
const TM_BY_PROM_NAME = new Map<string, string>(TM_METRICS.map(id => [tmPromName(id), id]));
const JOB_PREFIX = 'flink_jobmanager_job_';

export interface VertexPartial {
  metrics: VertexMetrics;
  /** Subtask indexes seen (per-subtask families). */
  subtasks: number;
  /** tm_id label values (reporter-filtered) of the TaskManagers running its subtasks. */
  tmLabels: Set<string>;
  sourceOutputWatermark?: Agg;
}

export interface JobPartial {
  vertices: Map<string, VertexPartial>;
  /** JobManager job metrics that Prometheus had (finite values only). */
  job: Partial<Record<JobMetric, number>>;
}

export interface ClusterMetrics {
  /** Per Flink job id. A job Prometheus knows nothing about has no entry. */
  jobs: Map<string, JobPartial>;
  /** Per tm_id label value: REST metric id → value. */
  taskManagers: Map<string, Map<string, number>>;
  /** Families whose query failed this tick, with the error message. */
  failed: Map<string, string>;
  /** Families queried this tick. */
  families: string[];
  /** CPU ms spent parsing this collection's answers. */
  parseCpuMs: number;
}

/** `job_id=~"a|b|c"`: the cluster's jobs (ids are hex, no regex metacharacters to escape). */
export function jobSelector(jobIds: readonly string[]): string {
  return `job_id=~"${jobIds.map(reporterFiltered).join('|')}"`;
}

export function taskFamilyQuery(f: TaskFamily, selector: string): string {
  const by =
    f.agg === 'subtask'
      ? `job_id, task_id, subtask_index${f.placement === true ? ', tm_id' : ''}`
      : 'job_id, task_id';
  return `${f.agg === 'subtask' || f.agg === 'max' ? 'max' : f.agg} by (${by}) (${f.metric}{${selector}})`;
}

export function jobFamilyQuery(selector: string): string {
  return `{__name__=~"${JOB_METRICS.map(m => JOB_PREFIX + m).join('|')}", ${selector}}`;
}

export function tmFamilyQuery(tmLabels: readonly string[]): string {
  return `{__name__=~"${[...TM_BY_PROM_NAME.keys()].join('|')}", tm_id=~"${tmLabels.join('|')}"}`;
}

function vertexOf(jobs: Map<string, JobPartial>, jobId: string, taskId: string): VertexPartial {
  let job = jobs.get(jobId);
  if (job === undefined) jobs.set(jobId, (job = { vertices: new Map(), job: {} }));
  let v = job.vertices.get(taskId);
  if (v === undefined) job.vertices.set(taskId, (v = { metrics: {}, subtasks: 0, tmLabels: new Set() }));
  return v;
}

/** min/max/avg/sum (and Flink's skew) over per-subtask values, as Flink's REST `agg=` computes them. */
export function aggOfValues(values: readonly number[]): Agg | undefined {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return undefined;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let sum = 0;
  for (const v of finite) {
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  const avg = sum / finite.length;
  let dev = 0;
  for (const v of finite) dev += Math.abs(v - avg);
  const skew = avg === 0 ? 0 : (dev / finite.length / Math.abs(avg)) * 100;
  return { min, max, avg, sum, skew };
}

/** Puts one family's samples into the per-job partials. */
export function splitFamily(f: TaskFamily, samples: readonly Sample[], jobs: Map<string, JobPartial>): void {
  if (f.agg !== 'subtask') {
    for (const s of samples) {
      const jobId = s.metric.job_id;
      const taskId = s.metric.task_id;
      if (jobId === undefined || taskId === undefined || !Number.isFinite(s.value)) continue;
      const v = vertexOf(jobs, jobId, taskId);
      const agg: Agg = { [f.agg]: s.value };
      if (f.target === 'sourceOutputWatermark') v.sourceOutputWatermark = agg;
      else v.metrics[f.target] = agg;
    }
    return;
  }
  // Per subtask (a subtask may appear twice while Prometheus still holds a series of its old TaskManager).
  const bySubtask = new Map<VertexPartial, Map<string, number>>();
  for (const s of samples) {
    const jobId = s.metric.job_id;
    const taskId = s.metric.task_id;
    const index = s.metric.subtask_index;
    if (jobId === undefined || taskId === undefined || index === undefined) continue;
    const v = vertexOf(jobs, jobId, taskId);
    if (f.placement === true && s.metric.tm_id !== undefined) v.tmLabels.add(s.metric.tm_id);
    let values = bySubtask.get(v);
    if (values === undefined) bySubtask.set(v, (values = new Map<string, number>()));
    const prev = values.get(index);
    values.set(index, prev === undefined || !(prev >= s.value) ? s.value : prev);
  }
  for (const [v, values] of bySubtask) {
    v.subtasks = Math.max(v.subtasks, values.size);
    const agg = aggOfValues([...values.values()]);
    if (agg !== undefined && f.target !== 'sourceOutputWatermark') v.metrics[f.target] = agg;
  }
}

export function splitJobFamily(samples: readonly Sample[], jobs: Map<string, JobPartial>): void {
  for (const s of samples) {
    const jobId = s.metric.job_id;
    const name = s.metric.__name__;
    if (
      jobId === undefined ||
      name === undefined ||
      !name.startsWith(JOB_PREFIX) ||
      !Number.isFinite(s.value)
    )
      continue;
    const metric = name.slice(JOB_PREFIX.length) as JobMetric;
    let job = jobs.get(jobId);
    if (job === undefined) jobs.set(jobId, (job = { vertices: new Map(), job: {} }));
    const prev = job.job[metric];
    job.job[metric] = prev === undefined ? s.value : Math.max(prev, s.value);
  }
}

export function splitTmFamily(samples: readonly Sample[], out: Map<string, Map<string, number>>): void {
  for (const s of samples) {
    const tm = s.metric.tm_id;
    const id = s.metric.__name__ === undefined ? undefined : TM_BY_PROM_NAME.get(s.metric.__name__);
    if (tm === undefined || id === undefined || !Number.isFinite(s.value)) continue;
    let m = out.get(tm);
    if (m === undefined) out.set(tm, (m = new Map<string, number>()));
    m.set(id, s.value);
  }
}

/**
 * Every job and TaskManager family of one cluster: one query per family, all in parallel. A
 * failed query leaves that family absent for the cluster's jobs (listed in `failed`); it never
 * throws, so one bad family never costs the others.
 */
export async function collectClusterMetrics(
  client: PrometheusClient,
  jobIds: readonly string[],
  taskManagerLabels: Promise<readonly string[] | undefined>,
): Promise<ClusterMetrics> {
  const out: ClusterMetrics = {
    jobs: new Map(),
    taskManagers: new Map(),
    failed: new Map(),
    families: [],
    parseCpuMs: 0,
  };
  if (jobIds.length === 0) return out;
  const selector = jobSelector(jobIds);
  const run = async (family: string, query: string, use: (samples: Sample[]) => void): Promise<void> => {
    out.families.push(family);
    try {
      const samples = await client.query(query, undefined, out);
      const c0 = process.cpuUsage();
      use(samples);
      const d = cpuMsSince(c0);
      out.parseCpuMs += d;
    } catch (err) {
      out.failed.set(family, err instanceof Error ? err.message : String(err));
    }
  };
  await Promise.all([
    ...TASK_FAMILIES.map(f => run(f.name, taskFamilyQuery(f, selector), s => splitFamily(f, s, out.jobs))),
    run('job', jobFamilyQuery(selector), s => splitJobFamily(s, out.jobs)),
    (async () => {
      const tms = await taskManagerLabels;
      if (tms === undefined || tms.length === 0) return;
      await run('taskmanager', tmFamilyQuery(tms), s => splitTmFamily(s, out.taskManagers));
    })(),
  ]);
  return out;
}
