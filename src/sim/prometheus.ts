import type { ClusterModel, TaskManagerState } from './cluster.js';
import type { MetricMap, StoreView } from './metric-store.js';
import type { Series, SeriesSource } from './promql.js';
import { metricOperatorName } from './topology.js';

/**
 * Prometheus text exposition as Flink's PrometheusReporter writes it (flink_<scope>_<name>,
 * scope variables as labels, label values filtered to [a-zA-Z0-9:_]), plus kube-style pod/node/
 * namespace labels and node-exporter / kube-state-metrics series for the nodes and pods.
 */

type Labels = Readonly<Record<string, string>>;

/** Where rendered series go: exposition text, or an index the query API evaluates over. */
interface SeriesSink {
  add(name: string, labels: Labels, value: number, type?: string): void;
}

class Exposition implements SeriesSink {
  private readonly families = new Map<string, { type: string; lines: string[] }>();

  add(name: string, labels: Labels, value: number, type = 'gauge'): void {
    let fam = this.families.get(name);
    if (fam === undefined) {
      fam = { type, lines: [] };
      this.families.set(name, fam);
    }
    const text = Object.entries(labels)
      .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`)
      .join(',');
    fam.lines.push(`${name}{${text}} ${Number.isFinite(value) ? value : 'NaN'}`);
  }

  render(): string {
    const out: string[] = [];
    for (const [name, fam] of this.families) {
      out.push(`# HELP ${name} ${name}`, `# TYPE ${name} ${fam.type}`, ...fam.lines);
    }
    return `${out.join('\n')}\n`;
  }
}

/** PrometheusReporter's label value filter. */
export function promLabel(value: string): string {
  return value.replace(/[^a-zA-Z0-9:_]/g, '_');
}

/** PrometheusReporter's name filter: flink_<scope>_<metric> with invalid characters as `_`. */
export function promName(scope: string, metric: string): string {
  return `flink_${scope}_${metric}`.replace(/[^a-zA-Z0-9:_]/g, '_');
}

export function podOf(cluster: ClusterModel, tm: TaskManagerState): string {
  return `${cluster.scenario.cluster.label}-taskmanager-${tm.generation + 1}-${tm.index + 1}`;
}

function numeric(m: MetricMap, id: string): number | undefined {
  const v = m.get(id);
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

const TASK_METRICS = [
  'busyTimeMsPerSecond',
  'backPressuredTimeMsPerSecond',
  'idleTimeMsPerSecond',
  'isBackPressured',
  'numRecordsIn',
  'numRecordsOut',
  'numRecordsInPerSecond',
  'numRecordsOutPerSecond',
  'buffers.outPoolUsage',
  'buffers.inPoolUsage',
  'currentInputWatermark',
  'checkpointStartDelayNanos',
];
const OPERATOR_METRICS = [
  'numRecordsInPerSecond',
  'numRecordsOutPerSecond',
  'pendingRecords',
  'currentEmitEventTimeLag',
  'currentOutputWatermark',
];

export function renderPrometheus(cluster: ClusterModel, view: StoreView, namespace = 'flink'): string {
  const e = new Exposition();
  emitSeries(e, cluster, view, namespace);
  return e.render();
}

/** Every series of one metric fetch, by metric name: what a Prometheus scrape of it would store. */
class SeriesIndex implements SeriesSink, SeriesSource {
  readonly byName = new Map<string, Series[]>();

  add(name: string, labels: Labels, value: number): void {
    let list = this.byName.get(name);
    if (list === undefined) this.byName.set(name, (list = []));
    list.push({ labels, value });
  }

  series(name: string): Iterable<Series> {
    return this.byName.get(name) ?? [];
  }
}

const indexes = new WeakMap<StoreView, SeriesSource>();

/**
 * The series of a metric-store view as the query API's source, built once per metric fetch (the
 * view changes only every `metrics.fetcher.update-interval`), so a query never re-renders text.
 */
export function seriesOf(cluster: ClusterModel, view: StoreView, namespace = 'flink'): SeriesSource {
  let index = indexes.get(view);
  if (index === undefined) {
    const i = new SeriesIndex();
    emitSeries(i, cluster, view, namespace);
    indexes.set(view, (index = i));
  }
  return index;
}

function emitSeries(e: SeriesSink, cluster: ClusterModel, view: StoreView, namespace: string): void {
  const tmLabels = new Map<number, Labels>();
  for (const tm of cluster.taskManagers) {
    if (!tm.alive) continue;
    const node = cluster.nodes[tm.node]?.name ?? '';
    tmLabels.set(tm.index, {
      host: promLabel(tm.host),
      tm_id: promLabel(tm.resourceId),
      pod: podOf(cluster, tm),
      node,
      namespace,
    });
    const m = view.taskManagers.get(tm.resourceId);
    if (m === undefined) continue;
    for (const [id, v] of m)
      if (typeof v === 'number') e.add(promName('taskmanager', id), tmLabels.get(tm.index) ?? {}, v);
  }
  for (const [id, v] of view.jobManager)
    if (typeof v === 'number') e.add(promName('jobmanager', id), { host: 'jobmanager', namespace }, v);
  for (const job of cluster.jobs) {
    const jv = view.jobs.get(job.id);
    if (jv === undefined) continue;
    const jobLabels = { host: 'jobmanager', job_id: job.id, job_name: promLabel(job.spec.name), namespace };
    for (const [id, v] of jv.job)
      if (typeof v === 'number') e.add(promName('jobmanager_job', id), jobLabels, v);
    for (const v of job.vertices) {
      const subtasks = jv.subtasks.get(v.id) ?? [];
      const op = metricOperatorName(v.spec.name);
      subtasks.forEach((m, i) => {
        const tmIdx = v.subtasks[i]?.tm ?? 0;
        const base = {
          ...(tmLabels.get(tmIdx) ?? {}),
          job_id: job.id,
          job_name: promLabel(job.spec.name),
          task_id: v.id,
          task_name: promLabel(v.spec.name),
          task_attempt_num: String(job.attempt - 1),
          subtask_index: String(i),
        };
        for (const id of TASK_METRICS) {
          const x = numeric(m, id);
          if (x !== undefined) e.add(promName('taskmanager_job_task', id), base, x);
        }
        const opLabels = { ...base, operator_id: v.id, operator_name: promLabel(v.spec.name) };
        for (const id of OPERATOR_METRICS) {
          const x = numeric(m, `${op}.${id}`);
          if (x !== undefined) e.add(promName('taskmanager_job_task_operator', id), opLabels, x);
        }
      });
    }
  }
  renderNodes(e, cluster, namespace);
}

function renderNodes(e: SeriesSink, cluster: ClusterModel, namespace: string): void {
  for (const node of cluster.nodes) {
    const base = { instance: `10.1.0.${node.index + 10}:9100`, job: 'node-exporter', node: node.name };
    for (let cpu = 0; cpu < node.cores; cpu++)
      for (const [mode, seconds] of Object.entries(node.cpuSeconds))
        e.add('node_cpu_seconds_total', { ...base, cpu: String(cpu), mode }, seconds / node.cores, 'counter');
    const fs = { ...base, device: '/dev/nvme0n1p1', fstype: 'ext4', mountpoint: '/' };
    e.add('node_filesystem_avail_bytes', fs, Math.round(node.fsAvailBytes));
    e.add('node_filesystem_size_bytes', fs, node.fsSizeBytes);
    e.add('node_filesystem_readonly', fs, 0);
    const nic = { ...base, device: 'eth0' };
    e.add('node_network_receive_packets_total', nic, Math.round(node.rxPackets), 'counter');
    e.add('node_network_transmit_packets_total', nic, Math.round(node.txPackets), 'counter');
    e.add('node_network_receive_errs_total', nic, Math.round(node.rxErrors), 'counter');
    e.add('node_network_transmit_errs_total', nic, Math.round(node.txErrors), 'counter');
    e.add('node_network_receive_drop_total', nic, Math.round(node.rxDrops), 'counter');
    e.add('node_memory_MemTotal_bytes', base, node.memTotalBytes);
    e.add('node_memory_MemAvailable_bytes', base, Math.round(node.memAvailableBytes));
    e.add('node_vmstat_oom_kill', base, node.oomKills, 'counter');
    const busy = node.cores - node.cpuSeconds.idle / Math.max(1, cluster.elapsed() / 1000);
    e.add('node_load1', base, Math.max(0, Math.round(busy * 100) / 100));
  }
  for (const tm of cluster.taskManagers) {
    const pod = { namespace, pod: podOf(cluster, tm), container: 'flink-main-container' };
    e.add('kube_pod_container_status_restarts_total', pod, tm.generation, 'counter');
    if (tm.oomKills > 0)
      e.add('kube_pod_container_status_last_terminated_reason', { ...pod, reason: 'OOMKilled' }, 1);
    e.add(
      'kube_pod_info',
      { namespace, pod: pod.pod, node: cluster.nodes[tm.node]?.name ?? '', host_ip: tm.host },
      1,
    );
  }
}
