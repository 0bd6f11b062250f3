import type { JobRef } from '../domain/index.js';
import type { FlinkRestClient } from '../sources/flink-rest/index.js';

/**
 * Where a rescale is written: Flink's adaptive scheduler (`PUT /jobs/:id/resource-requirements`)
 * or a FlinkDeployment / FlinkSessionJob merge patch. The executor talks to this interface only.
 */
export interface LiveState {
  /** The job's current incarnation (JobID, + generation on Kubernetes). */
  incarnation: string;
  /** Actual parallelism per vertex (not the requested bound). */
  parallelism: Record<string, number>;
  /**
   * The parallelism last asked for (the adaptive scheduler's upper bounds, or the overrides in
   * the resource's spec), when it can be read: a write whose answer was lost shows up here
   * before the job has restarted at it.
   */
  requested?: Record<string, number>;
  /** Kubernetes resourceVersion of the resource, re-read just now. */
  resourceVersion?: string;
  /**
   * False while the change last written is not acted on yet (a FlinkDeployment whose operator
   * has not observed its generation): verification waits. Absent = settled.
   */
  settled?: boolean;
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

/**
 * The write may or may not have been applied: the request went out and no answer came back
 * (connection reset, timeout). The executor leaves the action `executing`; the next cycle
 * re-reads the live state and journals it `executed` if the target is live, else runs it again
 * (writes are absolute targets, so a repeated write is harmless).
 */
export class OutcomeUnknownError extends Error {
  readonly code = 'WRITE_OUTCOME_UNKNOWN';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutcomeUnknownError';
  }
}

/**
 * The backend will not make this write, for a reason that holds until someone changes the job or
 * its resource (e.g. a stateless upgrade mode, the operator's own autoscaler, no opt-in). The
 * executor journals it `skipped` with the reason; it is not a failure of the cluster.
 */
export class RescaleRefusedError extends Error {
  readonly code = 'RESCALE_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'RescaleRefusedError';
  }
}

/** One backend per job origin: Flink REST jobs through the adaptive scheduler, Kubernetes ones by patch. */
export function backendByOrigin(backends: Partial<Record<JobRef['origin'], RescaleBackend>>): RescaleBackend {
  const of = (job: JobRef): RescaleBackend => {
    const b = backends[job.origin];
    if (!b) throw new RescaleRefusedError(`no rescale backend for ${job.origin} jobs (${job.jobKey})`);
    return b;
  };
  return {
    readLive: job => of(job).readLive(job),
    write: (job, target, basis) => of(job).write(job, target, basis),
  };
}

type JobDetails = Awaited<ReturnType<FlinkRestClient['job']>>;
const FAILED_STATES: ReadonlySet<string> = new Set(['FAILING', 'FAILED']);

/** Live state from `GET /jobs/:id`: the actual parallelism per vertex, and when it failed if it did. */
export function liveFromJob(d: JobDetails, incarnation: string): LiveState {
  const live: LiveState = {
    incarnation,
    parallelism: Object.fromEntries(d.vertices.map(v => [v.id, v.parallelism])),
  };
  const failedAt = FAILED_STATES.has(d.state) ? d.timestamps?.[d.state] : undefined;
  if (failedAt !== undefined) live.jobFailedSince = failedAt;
  return live;
}

/** A target must name exactly the vertices of the running job graph: never a partial or foreign body. */
export function assertSameGraph(vertexIds: Iterable<string>, target: Readonly<Record<string, number>>): void {
  const ids = new Set(vertexIds);
  const missing = [...ids].filter(id => target[id] === undefined);
  const unknown = Object.keys(target).filter(id => !ids.has(id));
  if (missing.length > 0 || unknown.length > 0)
    throw new ConflictError(
      `the job graph changed (missing ${missing.join(',') || '-'}, unknown ${unknown.join(',') || '-'})`,
    );
}
