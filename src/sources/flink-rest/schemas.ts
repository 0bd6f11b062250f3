import { z } from 'zod';

/**
 * zod schemas of Flink's REST wire formats, covering only the fields the AutoPilot reads (unknown
 * fields are dropped). Where real JSON differs from the OpenAPI spec (metric endpoints return
 * bare arrays; see shared/reference/README.md) these follow the wire.
 */

const num = z.number();
const nullableString = z.string().nullish();

export { FLINK_JOB_STATUSES as JOB_STATUSES } from '../../domain/snapshot.js';
import { FLINK_JOB_STATUSES } from '../../domain/snapshot.js';
export const jobStatusSchema = z.enum(FLINK_JOB_STATUSES);

export const dashboardConfigSchema = z.object({ 'flink-version': z.string() });

export const clusterOverviewSchema = z.object({
  taskmanagers: num,
  'slots-total': num,
  'slots-available': num,
  'flink-version': z.string().optional(),
});

export const jobsOverviewSchema = z.object({
  jobs: z.array(
    z.object({
      jid: z.string(),
      name: z.string(),
      state: jobStatusSchema,
      'start-time': num,
    }),
  ),
});

export const jobDetailsSchema = z.object({
  jid: z.string(),
  name: z.string(),
  state: jobStatusSchema,
  'start-time': num,
  timestamps: z.record(z.string(), num).optional(),
  maxParallelism: num.optional(),
  schedulerType: z.enum(['Default', 'Adaptive', 'AdaptiveBatch']).optional(),
  vertices: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      parallelism: num,
      maxParallelism: num.optional(),
    }),
  ),
  plan: z
    .object({
      nodes: z
        .array(
          z.object({
            id: z.string(),
            inputs: z.array(z.object({ id: z.string(), ship_strategy: z.string().optional() })).optional(),
          }),
        )
        .optional(),
    })
    .optional(),
});
export type JobDetailsWire = z.infer<typeof jobDetailsSchema>;

export const metricNamesSchema = z.array(z.object({ id: z.string() }));
export const metricValuesSchema = z.array(z.object({ id: z.string(), value: z.string() }));
export const aggregatedMetricsSchema = z.array(
  z.object({
    id: z.string(),
    min: num.optional(),
    max: num.optional(),
    avg: num.optional(),
    sum: num.optional(),
    skew: num.optional(),
  }),
);
export type AggregatedMetricsWire = z.infer<typeof aggregatedMetricsSchema>;

export const vertexDetailsSchema = z.object({
  subtasks: z.array(z.object({ subtask: num, 'taskmanager-id': z.string().optional() })),
});

const checkpointSchema = z.object({
  id: num,
  status: z.enum(['COMPLETED', 'FAILED', 'IN_PROGRESS']),
  is_savepoint: z.boolean().optional(),
  trigger_timestamp: num,
  latest_ack_timestamp: num.optional(),
  end_to_end_duration: num.optional(),
  state_size: num.optional(),
  checkpointed_size: num.optional(),
  failure_message: nullableString,
});
export type CheckpointWire = z.infer<typeof checkpointSchema>;

export const checkpointingSchema = z.object({
  counts: z.object({ restored: num, total: num, in_progress: num, completed: num, failed: num }),
  latest: z.object({ completed: checkpointSchema.nullish(), failed: checkpointSchema.nullish() }).optional(),
  history: z.array(checkpointSchema).default([]),
});

export const checkpointConfigSchema = z.object({
  mode: z.string(),
  interval: num,
  timeout: num,
  unaligned_checkpoints: z.boolean().optional(),
  tolerable_failed_checkpoints: num.optional(),
});

export const exceptionsSchema = z.object({
  exceptionHistory: z
    .object({
      entries: z.array(
        z.object({
          exceptionName: z.string(),
          stacktrace: z.string(),
          timestamp: num,
          taskName: nullableString,
          taskManagerId: nullableString,
        }),
      ),
    })
    .optional(),
});

export const taskManagersSchema = z.object({
  taskmanagers: z.array(
    z.object({
      id: z.string(),
      path: z.string().optional(),
      slotsNumber: num,
      freeSlots: num,
      timeSinceLastHeartbeat: num.optional(),
    }),
  ),
});
export type TaskManagerWire = z.infer<typeof taskManagersSchema>['taskmanagers'][number];

export const configEntriesSchema = z.array(z.object({ key: z.string(), value: z.string() }));

export const resourceRequirementsSchema = z.record(
  z.string(),
  z.object({ parallelism: z.object({ lowerBound: z.number().int(), upperBound: z.number().int() }) }),
);
export type ResourceRequirements = z.infer<typeof resourceRequirementsSchema>;

/** `GET /jobmanager/logs`, `GET /taskmanagers/:id/logs` (LogListInfo; `mtime` from Flink 1.19). */
export const logListSchema = z.object({
  logs: z.array(
    z.object({
      name: z.string().min(1),
      size: z.number().int().nonnegative(),
      mtime: z.number().optional(),
    }),
  ),
});
export type LogFileWire = z.infer<typeof logListSchema>['logs'][number];
