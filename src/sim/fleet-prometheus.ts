import type { Fleet, FleetJob, FleetTaskManager } from './fleet.js';
import type { MetricMap } from './metric-store.js';
import { promLabel, promName } from './prometheus.js';
import type { Labels, Series, SeriesSource } from './promql.js';
import { metricOperatorName } from './topology.js';

/**
 * The fleet's series as one Prometheus sees them after scraping every TaskManager and JobManager
 * reporter of every origin (Flink names and labels, label values filtered to [a-zA-Z0-9:_]).
 * Values come from the fleet's closed-form model at the query time; a query selecting jobs by
 * `job_id` (or TaskManagers by `tm_id`) looks them up instead of scanning 30,000 jobs.
 */

const TASK = 'flink_taskmanager_job_task_';
const OPERATOR = 'flink_taskmanager_job_task_operator_';
const JOB = 'flink_jobmanager_job_';
const FETCH_MS = 10_000;
const CACHE_JOBS = 4096;

interface Located {
  origin: number;
  k: number;
}

/** A job with the labels of its subtasks (fixed for the life of the fleet), built once. */
interface LabelledJob {
  job: FleetJob;
  /** Per vertex, per subtask: task labels and operator labels. */
  task: Labels[][];
  operator: Labels[][];
  jobLabels: Labels;
}

export class FleetSeries implements SeriesSource {
  private jobIndex: Map<string, Located> | undefined;
  private tmIndex: Map<string, { origin: number; tm: FleetTaskManager }> | undefined;
  private readonly tmNames = new Map<string, string>();
  private readonly metrics = new Map<string, { t: number; maps: MetricMap[][] }>();
  private readonly labelled = new Map<string, LabelledJob>();

  constructor(private readonly fleet: Fleet) {
    for (const id of [
      'Status.JVM.Memory.Heap.Used',
      'Status.JVM.Memory.Heap.Max',
      'Status.JVM.CPU.Load',
      'Status.JVM.GarbageCollector.G1_Young_Generation.Time',
      'Status.JVM.GarbageCollector.G1_Old_Generation.Time',
      'Status.JVM.GarbageCollector.All.TimeMsPerSecond',
    ])
      this.tmNames.set(promName('taskmanager', id), id);
  }

  private jobs(hint: ReadonlyMap<string, ReadonlySet<string>>): Located[] {
    const ids = hint.get('job_id');
    if (ids === undefined) {
      const out: Located[] = [];
      for (let o = 0; o < this.fleet.options.origins; o++)
        for (let k = 0; k < this.fleet.jobsOf(o).length; k++) out.push({ origin: o, k });
      return out;
    }
    if (this.jobIndex === undefined) {
      this.jobIndex = new Map();
      for (let o = 0; o < this.fleet.options.origins; o++)
        this.fleet.jobsOf(o).forEach((j, k) => this.jobIndex?.set(j.id, { origin: o, k }));
    }
    const out: Located[] = [];
    for (const id of ids) {
      const at = this.jobIndex.get(id);
      if (at !== undefined) out.push(at);
    }
    return out;
  }

  private taskManagers(
    hint: ReadonlyMap<string, ReadonlySet<string>>,
  ): { origin: number; tm: FleetTaskManager }[] {
    if (this.tmIndex === undefined) {
      this.tmIndex = new Map();
      for (let o = 0; o < this.fleet.options.origins; o++)
        for (const tm of this.fleet.taskManagers(o)) this.tmIndex.set(promLabel(tm.id), { origin: o, tm });
    }
    const ids = hint.get('tm_id');
    if (ids === undefined) return [...this.tmIndex.values()];
    return [...ids].flatMap(id => {
      const hit = this.tmIndex?.get(id);
      return hit === undefined ? [] : [hit];
    });
  }

  /** Subtask metric maps of a job at the metric fetch before `at`, cached per fetch. */
  private subtaskMetrics(job: FleetJob, at: number): MetricMap[][] {
    const t = Math.floor(at / FETCH_MS);
    const hit = this.metrics.get(job.id);
    if (hit !== undefined && hit.t === t) return hit.maps;
    const maps = this.fleet.subtaskMetrics(job, at);
    this.metrics.delete(job.id);
    if (this.metrics.size >= CACHE_JOBS) {
      const oldest = this.metrics.keys().next();
      if (oldest.done !== true) this.metrics.delete(oldest.value);
    }
    this.metrics.set(job.id, { t, maps });
    return maps;
  }

  private labelledJob(origin: number, k: number): LabelledJob {
    const key = `${origin}/${k}`;
    const hit = this.labelled.get(key);
    if (hit !== undefined) return hit;
    const job = this.fleet.job(origin, k);
    const jobName = promLabel(job.name);
    const task: Labels[][] = [];
    const operator: Labels[][] = [];
    for (const v of job.vertices) {
      const t: Labels[] = [];
      const o: Labels[] = [];
      for (let s = 0; s < v.parallelism; s++) {
        const tm = this.fleet.taskManagerOf(origin, k, s);
        const labels = {
          host: promLabel(tm?.host ?? ''),
          tm_id: promLabel(tm?.id ?? ''),
          job_id: job.id,
          job_name: jobName,
          task_id: v.id,
          task_name: promLabel(v.name),
          task_attempt_num: '0',
          subtask_index: String(s),
        };
        t.push(labels);
        o.push({ ...labels, operator_id: v.id, operator_name: promLabel(v.name) });
      }
      task.push(t);
      operator.push(o);
    }
    const out = { job, task, operator, jobLabels: { host: 'jobmanager', job_id: job.id, job_name: jobName } };
    this.labelled.set(key, out);
    return out;
  }

  *series(name: string, at: number, hint: ReadonlyMap<string, ReadonlySet<string>>): Iterable<Series> {
    const operator = name.startsWith(OPERATOR);
    if (operator || name.startsWith(TASK)) {
      const metric = name.slice(operator ? OPERATOR.length : TASK.length);
      for (const { origin, k } of this.jobs(hint)) {
        const { job, task, operator: opLabels } = this.labelledJob(origin, k);
        const maps = this.subtaskMetrics(job, at);
        for (let vi = 0; vi < job.vertices.length; vi++) {
          const v = job.vertices[vi];
          if (v === undefined) continue;
          const id = operator ? `${metricOperatorName(v.name)}.${metric}` : metric;
          const subtasks = maps[vi] ?? [];
          const labels = (operator ? opLabels : task)[vi] ?? [];
          for (let s = 0; s < subtasks.length; s++) {
            const value = subtasks[s]?.get(id);
            const l = labels[s];
            if (typeof value === 'number' && l !== undefined) yield { labels: l, value };
          }
        }
      }
      return;
    }
    if (name.startsWith(JOB)) {
      const metric = name.slice(JOB.length);
      for (const { origin, k } of this.jobs(hint)) {
        const { job, jobLabels } = this.labelledJob(origin, k);
        const value = this.fleet.jobMetrics(job, at).get(metric);
        if (typeof value === 'number') yield { labels: jobLabels, value };
      }
      return;
    }
    const tmMetric = this.tmNames.get(name);
    if (tmMetric !== undefined)
      for (const { tm } of this.taskManagers(hint)) {
        const value = this.fleet.taskManagerMetrics(tm).get(tmMetric);
        if (typeof value === 'number')
          yield { labels: { host: promLabel(tm.host), tm_id: promLabel(tm.id) }, value };
      }
  }
}
