import type { FlinkRestClient } from './client.js';
import type { ResourceRequirements } from './schemas.js';

export type { ResourceRequirements } from './schemas.js';

/** GET /jobs/:jobid/resource-requirements (Flink ≥ 1.18, adaptive scheduler). */
export function getResourceRequirements(
  client: FlinkRestClient,
  jobId: string,
): Promise<ResourceRequirements> {
  return client.getResourceRequirements(jobId);
}

/**
 * PUT /jobs/:jobid/resource-requirements. The body must list every vertex. Fails with a
 * FlinkRestError: code `http` and status 400 (invalid body, missing vertex, bound above
 * maxParallelism) or 500; a 409 is handled as a conflict, though real Flink 1.20.3 and 2.3.0
 * accept an update while another is pending or the job restarts (recordings).
 */
export function putResourceRequirements(
  client: FlinkRestClient,
  jobId: string,
  body: ResourceRequirements,
): Promise<void> {
  return client.putResourceRequirements(jobId, body);
}

/** Requirements with every vertex's upper bound set to `target` (lower bound kept at or below it). */
export function withParallelism(
  current: ResourceRequirements,
  target: Readonly<Record<string, number>>,
): ResourceRequirements {
  const out: ResourceRequirements = {};
  for (const [vid, req] of Object.entries(current)) {
    const p = target[vid] ?? req.parallelism.upperBound;
    out[vid] = { parallelism: { lowerBound: Math.min(req.parallelism.lowerBound, p), upperBound: p } };
  }
  return out;
}
