import type { ClusterModel } from '../cluster.js';
import type { JobModel } from '../job-model.js';
import type { MetricStore } from '../metric-store.js';
import { errors, type SimResponse } from './http.js';

/** What every REST handler of one simulated cluster reads. */
export interface SurfaceContext {
  cluster: ClusterModel;
  store: MetricStore;
  /** Current time (the model has been advanced to it before a handler runs). */
  now(): number;
}

export function jobNotFound(jobId: string): SimResponse {
  return errors(404, `Job ${jobId} not found`);
}

/** The job named in the path, or the 404 Flink answers for an unknown one. */
export function findJob(ctx: SurfaceContext, jobId: string | undefined): JobModel | SimResponse {
  const job = ctx.cluster.job(jobId ?? '');
  return job ?? jobNotFound(jobId ?? '');
}

export function isResponse(x: unknown): x is SimResponse {
  return typeof x === 'object' && x !== null && 'status' in x && 'body' in x && !('spec' in x);
}
