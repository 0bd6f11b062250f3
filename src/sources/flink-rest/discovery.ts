import { restJobKey, type JobRef } from '../../domain/identity.js';
import type { FlinkRestClient } from './client.js';

/**
 * Ended on purpose: a cancelled or finished job is no longer watched. A FAILED job stays in the
 * inventory (until a newer run of the same name replaces it): its failure is the finding.
 */
const ENDED = new Set(['CANCELED', 'FINISHED']);

export interface ListJobsOptions {
  /** Cluster label used in job keys (`rest:<label>/<job name>`); defaults to the base URL's host:port. */
  clusterLabel?: string;
  /** Include cancelled and finished jobs too (default false; failed jobs are always included). */
  includeTerminal?: boolean;
  labels?: Readonly<Record<string, string>>;
}

/**
 * Discovery from `/jobs/overview`: one JobRef per job that is not cancelled or finished. When several jobs share a
 * name (a redeploy that left the old one running), the newest keeps the key.
 */
export async function listJobs(client: FlinkRestClient, options: ListJobsOptions = {}): Promise<JobRef[]> {
  const cluster = options.clusterLabel ?? new URL(client.baseUrl).host;
  const { jobs } = await client.jobsOverview();
  const newest = new Map<string, (typeof jobs)[number]>();
  for (const j of jobs) {
    if (!options.includeTerminal && ENDED.has(j.state)) continue;
    const seen = newest.get(j.name);
    if (seen === undefined || j['start-time'] > seen['start-time']) newest.set(j.name, j);
  }
  return [...newest.values()]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map(j => ({
      jobKey: restJobKey(cluster, j.name),
      incarnation: j.jid,
      origin: 'rest' as const,
      cluster,
      name: j.name,
      flinkJobId: j.jid,
      restUrl: client.baseUrl,
      labels: options.labels ?? {},
    }));
}
