import type { SimCheckpoint } from '../checkpoints.js';
import { hexId } from '../random.js';
import type { JobModel, RescaleRecord, VertexState } from '../job-model.js';
import { findJob, isResponse, type SurfaceContext } from './context.js';
import { FLINK_JOB_STATUSES } from '../../domain/snapshot.js';
import { errors, json, type SimResponse } from './http.js';
import type { Router } from './router.js';

const JOB_STATUSES = FLINK_JOB_STATUSES;
const EXECUTION_STATES = [
  'CREATED',
  'SCHEDULED',
  'DEPLOYING',
  'RUNNING',
  'FINISHED',
  'CANCELING',
  'CANCELED',
  'FAILED',
  'RECONCILING',
  'INITIALIZING',
];

function counts(state: string, n: number): Record<string, number> {
  return Object.fromEntries(EXECUTION_STATES.map(s => [s, s === state ? n : 0]));
}

function vertexState(job: JobModel): string {
  return job.status === 'RUNNING' ? 'RUNNING' : job.status === 'RESTARTING' ? 'CANCELED' : 'CREATED';
}

function slotSharingGroupId(job: JobModel): string {
  return hexId(job.seed, 'ssg', job.id);
}

function shipStrategy(v: VertexState, input: VertexState): string {
  if (v.spec.keySkew > 0 || v.spec.hotKeyShare > 0 || !input.isSource) return 'HASH';
  return input.parallelism === v.parallelism ? 'FORWARD' : 'REBALANCE';
}

export function planOf(job: JobModel): Record<string, unknown> {
  return {
    jid: job.id,
    name: job.spec.name,
    type: 'STREAMING',
    nodes: job.vertices.map(v => ({
      id: v.id,
      parallelism: v.parallelism,
      operator: '',
      operator_strategy: '',
      description: v.spec.name,
      inputs: v.inputs.map((u, num) => {
        const input = job.vertices[u];
        return {
          num,
          id: input?.id ?? '',
          ship_strategy: input === undefined ? 'HASH' : shipStrategy(v, input),
          exchange: 'pipelined_bounded',
        };
      }),
      optimizer_properties: {},
    })),
  };
}

function vertexIoMetrics(
  ctx: SurfaceContext,
  job: JobModel,
  v: VertexState,
): Record<string, number | boolean> {
  const subtasks = ctx.store.read(ctx.now()).jobs.get(job.id)?.subtasks.get(v.id) ?? [];
  const sum = (id: string): number =>
    subtasks.reduce((a, m) => a + (typeof m.get(id) === 'number' ? (m.get(id) as number) : 0), 0);
  const complete = subtasks.length > 0;
  return {
    'read-bytes': sum('numBytesIn'),
    'read-bytes-complete': complete,
    'write-bytes': sum('numBytesOut'),
    'write-bytes-complete': complete,
    'read-records': sum('numRecordsIn'),
    'read-records-complete': complete,
    'write-records': sum('numRecordsOut'),
    'write-records-complete': complete,
    'accumulated-backpressured-time': sum('accumulateBackPressuredTimeMs'),
    'accumulated-idle-time': sum('accumulateIdleTimeMs'),
    'accumulated-busy-time': sum('accumulateBusyTimeMs'),
  };
}

function jobDetails(ctx: SurfaceContext, job: JobModel): Record<string, unknown> {
  const f = ctx.cluster.features;
  const now = ctx.now();
  const state = vertexState(job);
  const statusCounts = counts(state, job.vertices.length);
  const body: Record<string, unknown> = {
    jid: job.id,
    name: job.spec.name,
    isStoppable: false,
    state: job.status,
    'start-time': job.startTime,
    'end-time': -1,
    duration: now - job.startTime,
    maxParallelism: job.spec.maxParallelism,
    now,
    timestamps: Object.fromEntries(JOB_STATUSES.map(s => [s, job.timestamps[s] ?? 0])),
    vertices: job.vertices.map(v => {
      const vertex: Record<string, unknown> = {
        id: v.id,
        name: v.spec.name,
        maxParallelism: v.maxParallelism,
        parallelism: v.parallelism,
        status: state,
        'start-time': job.status === 'RUNNING' ? job.runningSince : -1,
        'end-time': -1,
        duration: job.status === 'RUNNING' ? now - job.runningSince : -1,
        tasks: counts(state, v.parallelism),
        metrics: vertexIoMetrics(ctx, job, v),
      };
      if (f.jobTypeField) vertex.slotSharingGroupId = slotSharingGroupId(job);
      return vertex;
    }),
    'status-counts': statusCounts,
    plan: planOf(job),
  };
  if (f.jobTypeField) body['job-type'] = 'STREAMING';
  if (f.streamGraph) body['stream-graph'] = { nodes: [] };
  if (f.pendingOperators) body['pending-operators'] = 0;
  if (f.applicationId) body['application-id'] = job.id;
  if (f.rescalesApi) body.schedulerType = job.spec.scheduler === 'adaptive' ? 'Adaptive' : 'Default';
  return body;
}

function jobOverview(ctx: SurfaceContext, job: JobModel): Record<string, unknown> {
  const f = ctx.cluster.features;
  const total = job.vertices.reduce((a, v) => a + v.parallelism, 0);
  const body: Record<string, unknown> = {
    jid: job.id,
    name: job.spec.name,
    state: job.status,
    'start-time': job.startTime,
    'end-time': -1,
    duration: ctx.now() - job.startTime,
    'last-modification': job.statusSince,
    tasks: {
      total,
      ...Object.fromEntries(EXECUTION_STATES.map(s => [s.toLowerCase(), s === vertexState(job) ? total : 0])),
    },
  };
  if (f.pendingOperators) body['pending-operators'] = 0;
  if (f.rescalesApi) {
    body.jobType = 'STREAMING';
    body.schedulerType = job.spec.scheduler === 'adaptive' ? 'Adaptive' : 'Default';
  }
  return body;
}

function exceptions(ctx: SurfaceContext, job: JobModel, query: URLSearchParams): Record<string, unknown> {
  const max = Number(query.get('maxExceptions') ?? '20');
  const limit = Number.isInteger(max) && max >= 0 ? max : 20;
  // The adaptive scheduler records failures without the failing task or its location, and leaves
  // the deprecated root-exception/timestamp null (1.20.3 and 2.3.0 recordings).
  const adaptive = job.spec.scheduler === 'adaptive';
  const entries = job.exceptions.slice(0, limit).map(e => {
    const entry: Record<string, unknown> = {
      exceptionName: e.exceptionName,
      stacktrace: e.stacktrace,
      timestamp: e.timestamp,
      failureLabels: {},
      concurrentExceptions: [],
    };
    if (adaptive) return entry;
    if (e.taskName !== '') entry.taskName = e.taskName;
    if (e.taskManagerId !== '') {
      entry.taskManagerId = e.taskManagerId;
      entry.endpoint = e.taskManagerId.replace(/-[0-9a-f]{6}$/, '');
    }
    if (ctx.cluster.features.legacyExceptionFields && e.taskManagerId !== '') entry.location = entry.endpoint;
    return entry;
  });
  const body: Record<string, unknown> = {
    exceptionHistory: { entries, truncated: job.exceptions.length > limit },
  };
  if (ctx.cluster.features.legacyExceptionFields) {
    const latest = adaptive ? undefined : job.exceptions[0];
    body['root-exception'] = latest === undefined ? null : latest.stacktrace;
    body.timestamp = latest === undefined ? null : latest.timestamp;
    body['all-exceptions'] = [];
    body.truncated = false;
  }
  return body;
}

function checkpointJson(cp: SimCheckpoint): Record<string, unknown> {
  const className =
    cp.status === 'COMPLETED' ? 'completed' : cp.status === 'FAILED' ? 'failed' : 'in_progress';
  const body: Record<string, unknown> = {
    className,
    id: cp.id,
    status: cp.status,
    is_savepoint: false,
    savepointFormat: null,
    trigger_timestamp: cp.triggerTimestamp,
    latest_ack_timestamp: cp.latestAckTimestamp,
    checkpointed_size: cp.checkpointedSizeBytes,
    state_size: cp.stateSizeBytes,
    end_to_end_duration:
      cp.status === 'IN_PROGRESS' ? cp.latestAckTimestamp - cp.triggerTimestamp : cp.endToEndDurationMs,
    alignment_buffered: cp.alignmentBufferedBytes,
    processed_data: cp.processedDataBytes,
    persisted_data: cp.persistedDataBytes,
    num_subtasks: cp.numSubtasks,
    num_acknowledged_subtasks: cp.numAcknowledged,
    checkpoint_type: cp.unaligned ? 'UNALIGNED_CHECKPOINT' : 'CHECKPOINT',
    tasks: {},
  };
  if (cp.status === 'COMPLETED') {
    body.external_path = `s3://checkpoints/${cp.id}`;
    body.discarded = false;
  }
  if (cp.status === 'FAILED') {
    body.failure_timestamp = cp.failureTimestamp ?? cp.latestAckTimestamp;
    body.failure_message = cp.failureMessage ?? null;
  }
  return body;
}

function numericStats(values: readonly number[]): Record<string, number> {
  if (values.length === 0) return { min: 0, max: 0, avg: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return {
    min: sorted[0] ?? 0,
    max: sorted[sorted.length - 1] ?? 0,
    avg: Math.round(values.reduce((a, b) => a + b, 0) / values.length),
    p50: q(0.5),
    p90: q(0.9),
    p95: q(0.95),
    p99: q(0.99),
    p999: q(0.999),
  };
}

/**
 * Checkpoint statistics. Before the first completed checkpoint, 1.20.3 writes the percentiles as
 * the string "NaN" (a NaN double) and min/max/avg as 0, except alignment_buffered, all 0
 * (recording); 2.x not seen (left numeric).
 */
function checkpointing(job: JobModel, nanPercentiles: boolean): Record<string, unknown> {
  const t = job.checkpoints;
  const done = t.history.filter(c => c.status === 'COMPLETED');
  const stats = (values: readonly number[]): Record<string, number | string> =>
    values.length === 0 && nanPercentiles
      ? { min: 0, max: 0, avg: 0, p50: 'NaN', p90: 'NaN', p95: 'NaN', p99: 'NaN', p999: 'NaN' }
      : numericStats(values);
  return {
    counts: {
      restored: t.counts.restored,
      total: t.counts.total,
      in_progress: t.counts.inProgress,
      completed: t.counts.completed,
      failed: t.counts.failed,
    },
    summary: {
      checkpointed_size: stats(done.map(c => c.checkpointedSizeBytes)),
      state_size: stats(done.map(c => c.stateSizeBytes)),
      end_to_end_duration: stats(done.map(c => c.endToEndDurationMs)),
      alignment_buffered: numericStats(done.map(c => c.alignmentBufferedBytes)),
      processed_data: stats(done.map(c => c.processedDataBytes)),
      persisted_data: stats(done.map(c => c.persistedDataBytes)),
    },
    latest: {
      completed: t.latestCompleted === undefined ? null : checkpointJson(t.latestCompleted),
      savepoint: null,
      failed: t.latestFailed === undefined ? null : checkpointJson(t.latestFailed),
      restored:
        t.restored === undefined
          ? null
          : {
              id: t.restored.id,
              restore_timestamp: t.restored.at,
              is_savepoint: false,
              external_path: `s3://checkpoints/${t.restored.id}`,
            },
    },
    history: t.history.map(checkpointJson),
  };
}

function checkpointConfig(job: JobModel): Record<string, unknown> {
  const c = job.spec.checkpoint;
  return {
    mode: c.mode,
    interval: c.interval,
    timeout: c.timeout,
    min_pause: c.minPause,
    max_concurrent: 1,
    externalization: { enabled: true, delete_on_cancellation: false },
    state_backend: 'EmbeddedRocksDBStateBackend',
    checkpoint_storage: 'FileSystemCheckpointStorage',
    unaligned_checkpoints: c.unaligned,
    tolerable_failed_checkpoints: c.tolerableFailed,
    aligned_checkpoint_timeout: 0,
    checkpoints_after_tasks_finish: true,
    state_changelog_enabled: false,
    changelog_periodic_materialization_interval: 600000,
    changelog_storage: 'memory',
  };
}

function requirements(job: JobModel): Record<string, unknown> {
  return Object.fromEntries(
    job.vertices.map(v => [v.id, { parallelism: { lowerBound: v.lowerBound, upperBound: v.upperBound } }]),
  );
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** PUT /jobs/:jobid/resource-requirements with Flink's validation (JobResourceRequirements#validate). */
function putRequirements(ctx: SurfaceContext, job: JobModel, text: string): SimResponse {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return errors(400, 'Request did not match expected format JobResourceRequirementsBody.');
  }
  if (!isRecord(body))
    return errors(400, 'Request did not match expected format JobResourceRequirementsBody.');
  const problems: string[] = [];
  const bounds = new Map<number, { lower: number; upper: number }>();
  for (const [vid, value] of Object.entries(body)) {
    const v = job.vertices.find(x => x.id === vid);
    const p = isRecord(value) && isRecord(value.parallelism) ? value.parallelism : undefined;
    if (
      p === undefined ||
      typeof p.lowerBound !== 'number' ||
      typeof p.upperBound !== 'number' ||
      !Number.isInteger(p.lowerBound) ||
      !Number.isInteger(p.upperBound)
    )
      return errors(400, 'Request did not match expected format JobResourceRequirementsBody.');
    if (v === undefined) {
      problems.push(`Job vertex [${vid}] does not exist in the job graph.`);
      continue;
    }
    const lower = p.lowerBound === -1 ? 1 : p.lowerBound;
    const upper = p.upperBound === -1 ? v.maxParallelism : p.upperBound;
    if (lower < 1) problems.push(`The lower bound [${lower}] of vertex [${vid}] must be greater than 0.`);
    if (upper < 1) problems.push(`The upper bound [${upper}] of vertex [${vid}] must be greater than 0.`);
    if (lower > upper)
      problems.push(
        `The lower bound [${lower}] of vertex [${vid}] must be less than or equal to its upper bound [${upper}].`,
      );
    if (upper > v.maxParallelism)
      problems.push(
        `The upper bound [${upper}] of vertex [${vid}] must not exceed its max parallelism [${v.maxParallelism}].`,
      );
    bounds.set(v.index, { lower, upper });
  }
  for (const v of job.vertices)
    if (!(v.id in body))
      problems.push(`The request is incomplete, missing job vertex [${v.id}] resource requirements.`);
  if (problems.length > 0) return errors(400, problems.join('\n'));
  if (job.spec.scheduler !== 'adaptive')
    return errors(
      500,
      'java.lang.UnsupportedOperationException: The scheduler does not support updating the job resource requirements.',
    );
  // Real Flink accepts an update while another is pending or the job restarts (200 in both
  // recordings, PUT during RESTARTING): the newest requirements win.
  job.setRequirements(ctx.now(), bounds);
  return json({});
}

function rescaleJson(job: JobModel, r: RescaleRecord, attempt: number): Record<string, unknown> {
  const vertices = Object.fromEntries(
    job.vertices.map(v => [
      v.id,
      {
        jobVertexId: v.id,
        jobVertexName: v.spec.name,
        slotSharingGroupId: slotSharingGroupId(job),
        slotSharingGroupName: 'default',
        preRescaleParallelism: r.pre[v.id] ?? v.parallelism,
        desiredParallelism: r.desired[v.id] ?? v.parallelism,
        sufficientParallelism: v.lowerBound,
        postRescaleParallelism: r.post?.[v.id] ?? r.pre[v.id] ?? v.parallelism,
        requiredParallelisms: {
          minParallelism: v.lowerBound,
          parallelism: v.upperBound,
          maxParallelism: v.maxParallelism,
        },
      },
    ]),
  );
  const body: Record<string, unknown> = {
    rescaleUuid: r.uuid,
    resourceRequirementsUuid: r.requirementsUuid,
    rescaleAttemptId: attempt,
    triggerCause: r.trigger,
    startTimestampInMillis: r.start,
    vertices,
    slots: {},
    schedulerStates: [
      {
        state: 'Executing',
        enterTimestampInMillis: r.start,
        leaveTimestampInMillis: r.end ?? -1,
        durationInMillis: (r.end ?? r.start) - r.start,
      },
    ],
  };
  if (r.end !== undefined) body.endTimestampInMillis = r.end;
  if (r.terminalState !== undefined) {
    body.terminalState = r.terminalState;
    body.terminatedReason =
      r.terminalState === 'IGNORED' ? 'NO_RESOURCES_OR_PARALLELISMS_CHANGE' : 'SUCCEEDED';
  }
  return body;
}

function withJob(
  ctx: SurfaceContext,
  id: string | undefined,
  fn: (job: JobModel) => SimResponse,
): SimResponse {
  const job = findJob(ctx, id);
  return isResponse(job) ? job : fn(job);
}

export function registerJobRoutes(router: Router, ctx: SurfaceContext): void {
  const { cluster } = ctx;
  router.add('GET', '/jobs', () => json({ jobs: cluster.jobs.map(j => ({ id: j.id, status: j.status })) }));
  router.add('GET', '/jobs/overview', () => json({ jobs: cluster.jobs.map(j => jobOverview(ctx, j)) }));
  router.add('GET', '/jobs/:jobid', (_r, p) => withJob(ctx, p.jobid, job => json(jobDetails(ctx, job))));
  router.add('GET', '/jobs/:jobid/status', (_r, p) =>
    withJob(ctx, p.jobid, job => json({ status: job.status })),
  );
  router.add('GET', '/jobs/:jobid/plan', (_r, p) =>
    withJob(ctx, p.jobid, job => json({ plan: planOf(job) })),
  );
  router.add('GET', '/jobs/:jobid/config', (_r, p) =>
    withJob(ctx, p.jobid, job =>
      json({
        jid: job.id,
        name: job.spec.name,
        'execution-config': {
          'restart-strategy': `Restart with fixed delay (${job.spec.restartDelay / 1000} s). #2147483647 restart attempts.`,
          'job-parallelism': Math.max(...job.vertices.map(v => v.parallelism)),
          'object-reuse-mode': false,
          'user-config': {},
        },
      }),
    ),
  );
  router.add('GET', '/jobs/:jobid/jobmanager/config', (_r, p) =>
    withJob(ctx, p.jobid, job =>
      json([
        { key: 'jobmanager.scheduler', value: job.spec.scheduler },
        { key: 'execution.checkpointing.interval', value: `${job.spec.checkpoint.interval}ms` },
        { key: 'restart-strategy.type', value: 'fixed-delay' },
        { key: 'restart-strategy.fixed-delay.delay', value: `${job.spec.restartDelay}ms` },
        { key: 'pipeline.max-parallelism', value: String(job.spec.maxParallelism) },
      ]),
    ),
  );
  router.add('GET', '/jobs/:jobid/exceptions', (r, p) =>
    withJob(ctx, p.jobid, job => json(exceptions(ctx, job, r.query))),
  );
  router.add('GET', '/jobs/:jobid/checkpoints', (_r, p) =>
    withJob(ctx, p.jobid, job => json(checkpointing(job, ctx.cluster.features.major < 2))),
  );
  router.add('GET', '/jobs/:jobid/checkpoints/config', (_r, p) =>
    withJob(ctx, p.jobid, job => json(checkpointConfig(job))),
  );
  router.add('GET', '/jobs/:jobid/resource-requirements', (_r, p) =>
    withJob(ctx, p.jobid, job => json(requirements(job))),
  );
  router.add('PUT', '/jobs/:jobid/resource-requirements', (r, p) =>
    withJob(ctx, p.jobid, job => putRequirements(ctx, job, r.body)),
  );
  if (cluster.features.rescalesApi) registerRescaleRoutes(router, ctx);
}

function registerRescaleRoutes(router: Router, ctx: SurfaceContext): void {
  const c = ctx.cluster.scenario.cluster;
  router.add('GET', '/jobs/:jobid/rescales/config', (_r, p) =>
    withJob(ctx, p.jobid, () =>
      json({
        schedulerExecutionMode: null,
        submissionResourceWaitTimeoutInMillis: c.resourceWaitTimeout,
        submissionResourceStabilizationTimeoutInMillis: c.stabilizationTimeout,
        slotIdleTimeoutInMillis: 50_000,
        executingCooldownTimeoutInMillis: 30_000,
        executingResourceStabilizationTimeoutInMillis: c.stabilizationTimeout,
        maximumDelayForTriggeringRescaleInMillis: 300_000,
        rescaleOnFailedCheckpointCount: 2,
        rescaleHistoryMax: 20,
      }),
    ),
  );
  const countsOf = (job: JobModel): Record<string, number> => ({
    completed: job.rescales.filter(r => r.terminalState === 'COMPLETED').length,
    failed: job.rescales.filter(r => r.terminalState === 'FAILED').length,
    ignored: job.rescales.filter(r => r.terminalState === 'IGNORED').length,
    inProgress: job.rescales.filter(r => r.terminalState === undefined).length,
  });
  router.add('GET', '/jobs/:jobid/rescales/history', (_r, p) =>
    withJob(ctx, p.jobid, job =>
      json(job.rescales.map((r, i) => rescaleJson(job, r, job.rescales.length - i))),
    ),
  );
  router.add('GET', '/jobs/:jobid/rescales/overview', (_r, p) =>
    withJob(ctx, p.jobid, job => {
      const latest = (state: string): unknown => {
        const i = job.rescales.findIndex(r => r.terminalState === state);
        const r = job.rescales[i];
        return r === undefined ? null : rescaleJson(job, r, job.rescales.length - i);
      };
      return json({
        rescalesCounts: countsOf(job),
        latest: { completed: latest('COMPLETED'), failed: latest('FAILED'), ignored: latest('IGNORED') },
      });
    }),
  );
  router.add('GET', '/jobs/:jobid/rescales/summary', (_r, p) =>
    withJob(ctx, p.jobid, job => {
      const dur = (state?: string): Record<string, number> =>
        numericStats(
          job.rescales
            .filter(r => r.end !== undefined && (state === undefined || r.terminalState === state))
            .map(r => (r.end ?? r.start) - r.start),
        );
      return json({
        rescalesCounts: countsOf(job),
        rescalesDurationStatsInMillis: dur(),
        completedRescalesDurationStatsInMillis: dur('COMPLETED'),
        failedRescalesDurationStatsInMillis: dur('FAILED'),
        ignoredRescalesDurationStatsInMillis: dur('IGNORED'),
      });
    }),
  );
  router.add('GET', '/jobs/:jobid/rescales/details/:rescaleuuid', (_r, p) =>
    withJob(ctx, p.jobid, job => {
      const i = job.rescales.findIndex(r => r.uuid === p.rescaleuuid);
      const r = job.rescales[i];
      return r === undefined
        ? errors(404, `Rescale ${p.rescaleuuid ?? ''} not found`)
        : json(rescaleJson(job, r, job.rescales.length - i));
    }),
  );
}
