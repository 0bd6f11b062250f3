import type { JobRef } from '../../domain/index.js';
import {
  getResourceRequirements,
  isFlinkRestError,
  putResourceRequirements,
  withParallelism,
  type FlinkRestClient,
} from '../../sources/flink-rest/index.js';
import {
  assertSameGraph,
  ConflictError,
  OutcomeUnknownError,
  liveFromJob,
  RescaleRefusedError,
  type LiveState,
  type RescaleBackend,
} from '../backend.js';

export { RescaleRefusedError } from '../backend.js';

/**
 * Rescaling through Flink's adaptive scheduler: `PUT /jobs/:jobid/resource-requirements` (Flink
 * ≥ 1.18). Like the Kubernetes operator's in-place rescale, every vertex is listed, the upper
 * bound is the target and the lower bound is kept at or below it, so the scheduler may run below
 * the target while slots are short and catches up by itself when they appear. The live state is
 * the job's actual parallelism (`GET /jobs/:jobid`), with the requested bounds beside it.
 */
export class FlinkRescaleBackend implements RescaleBackend {
  constructor(private readonly clientFor: (job: JobRef) => FlinkRestClient) {}

  async readLive(job: JobRef): Promise<LiveState> {
    const client = this.clientFor(job);
    const d = await client.job(job.flinkJobId);
    const live = liveFromJob(d, d.jid === job.flinkJobId ? job.incarnation : d.jid);
    const current = await getResourceRequirements(client, job.flinkJobId);
    live.requested = Object.fromEntries(
      Object.entries(current).map(([v, r]) => [v, r.parallelism.upperBound]),
    );
    return live;
  }

  /**
   * `basis.resourceVersion` is a Kubernetes notion; the REST API has none. Real Flink answers 200
   * to a PUT while another update is pending or the job restarts (1.20.3, 2.3.0 recordings), so
   * concurrent writes are kept apart by the executor's per-job mutex; a 409, should one come, is
   * still reported as a conflict.
   */
  async write(
    job: JobRef,
    target: Record<string, number>,
    _basis: { resourceVersion?: string },
  ): Promise<void> {
    const client = this.clientFor(job);
    const current = await getResourceRequirements(client, job.flinkJobId);
    assertSameGraph(Object.keys(current), target);
    try {
      await putResourceRequirements(client, job.flinkJobId, withParallelism(current, target));
    } catch (err) {
      if (isFlinkRestError(err) && err.code === 'http' && err.status === 409) {
        throw new ConflictError('another resource-requirements update is running', { cause: err });
      }
      if (isFlinkRestError(err) && (err.code === 'unreachable' || err.code === 'timeout'))
        throw new OutcomeUnknownError(`no answer to the resource-requirements update: ${err.message}`, {
          cause: err,
        });
      if (isFlinkRestError(err) && err.code === 'http' && err.status === 400) {
        throw new RescaleRefusedError(
          `Flink refused the requirements: ${(err.details.errors ?? []).join('; ')}`,
        );
      }
      throw err;
    }
  }
}
