import type { Config } from '../config/schema.js';
import { collectSnapshot, FlinkRestClient, listJobs } from '../sources/flink-rest/index.js';
import { FlinkRescaleBackend } from '../actions/flink-rescale/backend.js';
import type { JobSource } from './daemon.js';

export type FlinkClusterConfig = Config['flink']['clusters'][number];

/** A Flink REST cluster as a JobSource: discovery from /jobs/overview, snapshots per job. */
export function restJobSource(
  cluster: FlinkClusterConfig,
  client?: FlinkRestClient,
): JobSource & { client: FlinkRestClient } {
  const c =
    client ??
    new FlinkRestClient({
      baseUrl: cluster.url,
      timeoutMs: cluster.timeout,
      retries: cluster.retries,
      budget: { maxInFlight: cluster.maxConcurrentRequests },
    });
  return {
    id: `flink:${cluster.label}`,
    client: c,
    listJobs: () => listJobs(c, { clusterLabel: cluster.label, labels: cluster.labels }),
    collect: (job, now) => collectSnapshot(c, job, now),
    restClient: () => c,
  };
}

export function sourcesFromConfig(config: Config): (JobSource & { client: FlinkRestClient })[] {
  return config.flink.clusters.map(c => restJobSource(c));
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
