import type { Config } from '../config/schema.js';
import { collectSnapshot, FlinkRestClient, listJobs } from '../sources/flink-rest/index.js';
import { FlinkRescaleBackend } from '../actions/flink-rescale/backend.js';
import {
  BulkCollector,
  PrometheusClient,
  type BulkCollectorOptions,
  type CollectorLog,
} from '../sources/prometheus/index.js';
import type { JobSource } from './daemon.js';

export type FlinkClusterConfig = Config['flink']['clusters'][number];

/** A Flink REST cluster as a JobSource: discovery from /jobs/overview, snapshots per job. */
export function restJobSource(
  cluster: FlinkClusterConfig,
  client?: FlinkRestClient,
): JobSource & { client: FlinkRestClient } {
  const c = client ?? restClientOf(cluster);
  return {
    id: `flink:${cluster.label}`,
    client: c,
    listJobs: () => listJobs(c, { clusterLabel: cluster.label, labels: cluster.labels }),
    collect: (job, now) => collectSnapshot(c, job, now),
    restClient: () => c,
  };
}

function restClientOf(cluster: FlinkClusterConfig): FlinkRestClient {
  return new FlinkRestClient({
    baseUrl: cluster.url,
    timeoutMs: cluster.timeout,
    retries: cluster.retries,
    budget: { maxInFlight: cluster.maxConcurrentRequests },
  });
}

/**
 * A Flink cluster observed through Prometheus in bulk: one collection per tick for all its jobs
 * (shared by their cycles), REST per job only for what Prometheus lacks (see BulkCollector).
 */
export function bulkJobSource(
  cluster: FlinkClusterConfig,
  prometheus: PrometheusClient,
  settings: {
    tickMs: number;
    restIntervalMs: number;
    log?: CollectorLog;
    random?: () => number;
    onCost?: BulkCollectorOptions['onCost'];
  },
  client: FlinkRestClient = restClientOf(cluster),
): JobSource & { client: FlinkRestClient; collector: BulkCollector } {
  const collector = new BulkCollector({
    cluster: { label: cluster.label, labels: cluster.labels },
    rest: client,
    prometheus,
    tickMs: settings.tickMs,
    restIntervalMs: settings.restIntervalMs,
    ...(settings.log === undefined ? {} : { log: settings.log }),
    ...(settings.random === undefined ? {} : { random: settings.random }),
    ...(settings.onCost === undefined ? {} : { onCost: settings.onCost }),
  });
  return {
    id: collector.id,
    bulk: true,
    client,
    collector,
    listJobs: () => collector.listJobs(),
    collect: (job, now) => collector.collect(job, now),
  };
}

/**
 * The configured Flink clusters as sources: bulk Prometheus collection when `prometheus.url` is
 * set (one client shared by every cluster), else REST per job.
 */
export function sourcesFromConfig(
  config: Config,
  log?: CollectorLog,
): (JobSource & { client: FlinkRestClient })[] {
  const url = config.prometheus.url;
  if (url === undefined) return config.flink.clusters.map(c => restJobSource(c));
  const prometheus = new PrometheusClient({ baseUrl: url, timeoutMs: config.prometheus.timeout });
  return config.flink.clusters.map(c =>
    bulkJobSource(c, prometheus, {
      tickMs: config.agent.interval,
      restIntervalMs: config.prometheus.restInterval,
      ...(log === undefined ? {} : { log }),
    }),
  );
}

/** Rescales through the adaptive scheduler of the cluster each job runs on (same clients as the sources). */
export function restRescaleBackend(
  config: Config,
  sources: readonly (JobSource & { client: FlinkRestClient })[],
): FlinkRescaleBackend {
  const byCluster = new Map(config.flink.clusters.map((c, i) => [c.label, sources[i]?.client]));
  return new FlinkRescaleBackend(job => {
    const client = byCluster.get(job.cluster);
    if (!client) throw new Error(`no Flink REST client for cluster ${job.cluster}`);
    return client;
  });
}
