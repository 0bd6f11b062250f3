import type { JobRef } from '../domain/index.js';

/**
 * Where a rescale is written: Flink's adaptive scheduler (`PUT /jobs/:id/resource-requirements`)
 * or a FlinkDeployment / FlinkSessionJob merge patch. The executor talks to this interface only.
 */
export interface LiveState {
  /** The job's current incarnation (JobID, + generation on Kubernetes). */
  incarnation: string;
  /** Actual parallelism per vertex (not the requested bound). */
  parallelism: Record<string, number>;
  /** Kubernetes resourceVersion of the resource, re-read just now. */
  resourceVersion?: string;
  /** When the job failed, if it is failed now (epoch ms). */
  jobFailedSince?: number;
}

export interface RescaleBackend {
  readLive(job: JobRef): Promise<LiveState>;
  /**
   * Writes an absolute target listing every vertex. `basis.resourceVersion` is the one just
   * re-read; a backend that cannot apply the write on it throws ConflictError.
   */
  write(job: JobRef, target: Record<string, number>, basis: { resourceVersion?: string }): Promise<void>;
}

/** The resource changed under us (HTTP 409). The old body is never re-sent: the planner re-plans. */
export class ConflictError extends Error {
  readonly code = 'WRITE_CONFLICT';
  constructor(message = 'the resource changed since it was read', options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConflictError';
  }
}
