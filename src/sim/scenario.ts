import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { CalendarWindowSchema } from '../config/calendar-schema.js';
import { tryParseDuration } from '../domain/duration.js';

/**
 * Scenario files (`scenarios/*.yaml`): a seeded description of a Flink cluster, its jobs (topology
 * and input profiles), faults in time windows, and an optional promotion calendar entry. Times in
 * a scenario are offsets from `startTime` written as durations ("90s", "1h30m").
 */

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = tryParseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(v)}` });
    return z.NEVER;
  }
  return ms;
});

const rate = z.number().nonnegative();
const noise = z.number().min(0).max(1).default(0.03);

export const profileSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant'), rate, noise }),
  z.object({ kind: z.literal('step'), rate, to: rate, at: duration, noise }),
  z.object({ kind: z.literal('ramp'), from: rate, to: rate, start: duration, duration, noise }),
  z.object({
    kind: z.literal('daily'),
    base: rate,
    peak: rate,
    /** Hour of the daily peak in the job's local time. */
    peakHour: z.number().min(0).max(24).default(20),
    utcOffsetHours: z.number().min(-14).max(14).default(0),
    noise,
  }),
  z.object({
    kind: z.literal('promotion'),
    base: rate,
    peak: rate,
    start: duration,
    rampUp: duration,
    hold: duration,
    rampDown: duration,
    noise,
  }),
]);
export type Profile = z.infer<typeof profileSchema>;

export const vertexSchema = z
  .object({
    name: z.string().min(1),
    inputs: z.array(z.string()).default([]),
    parallelism: z.number().int().positive(),
    maxParallelism: z.number().int().positive().optional(),
    /** Records per second one subtask handles at 100 % busy. */
    capacity: z.number().positive(),
    /** Records out per record in. */
    selectivity: z.number().nonnegative().default(1),
    /** Zipf exponent of the key distribution over subtasks (0 = uniform). */
    keySkew: z.number().nonnegative().default(0),
    /** Share of all records carried by one hot key (lands on one subtask), 0–1. */
    hotKeyShare: z.number().min(0).max(1).default(0),
    /** Sources only. */
    profile: profileSchema.optional(),
    /** Sources only: partitions (splits) of the external topic; subtasks beyond it idle. */
    partitions: z.number().int().positive().optional(),
    /**
     * Sources only: records that arrive faster than the job reads them wait in the external
     * system (a Kafka topic: backlog, pendingRecords, catch-up). false = a rate-limited generator
     * (DataGeneratorSource): it just emits less while back-pressured, queues nothing and reports no
     * pendingRecords, as the recorded canned jobs do.
     */
    backlog: z.boolean().default(true),
  })
  .strict();
export type VertexSpec = z.infer<typeof vertexSchema>;

export const checkpointSchema = z
  .object({
    interval: duration.default(60_000),
    timeout: duration.default(600_000),
    minPause: duration.default(0),
    tolerableFailed: z.number().int().nonnegative().default(0),
    unaligned: z.boolean().default(false),
    mode: z.enum(['EXACTLY_ONCE', 'AT_LEAST_ONCE']).default('EXACTLY_ONCE'),
    stateBytes: z
      .number()
      .nonnegative()
      .default(256 * 1024 ** 2),
    stateGrowthBytesPerSecond: z.number().default(0),
    uploadBytesPerSecond: z
      .number()
      .positive()
      .default(200 * 1024 ** 2),
  })
  .strict();

export const jobSchema = z
  .object({
    name: z.string().min(1),
    maxParallelism: z.number().int().positive().default(128),
    scheduler: z.enum(['adaptive', 'default']).default('adaptive'),
    restartDelay: duration.default(10_000),
    checkpoint: checkpointSchema.default(checkpointSchema.parse({})),
    vertices: z.array(vertexSchema).min(1),
  })
  .strict()
  .superRefine((job, ctx) => {
    const names = new Set<string>();
    job.vertices.forEach((v, i) => {
      if (names.has(v.name))
        ctx.addIssue({ code: 'custom', path: ['vertices', i, 'name'], message: 'duplicate vertex name' });
      for (const input of v.inputs)
        if (!names.has(input))
          ctx.addIssue({
            code: 'custom',
            path: ['vertices', i, 'inputs'],
            message: `unknown input "${input}" (list vertices in topological order)`,
          });
      if (v.inputs.length === 0 && v.profile === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['vertices', i, 'profile'],
          message: 'a source needs a profile',
        });
      if ((v.maxParallelism ?? job.maxParallelism) < v.parallelism)
        ctx.addIssue({
          code: 'custom',
          path: ['vertices', i, 'parallelism'],
          message: 'parallelism above maxParallelism',
        });
      names.add(v.name);
    });
  });
export type JobSpec = z.infer<typeof jobSchema>;

export const FAULT_KINDS = [
  'connector-unreachable',
  'checkpoint-timeout',
  'gc-pressure',
  'heap-oom',
  'metaspace-oom',
  'direct-oom',
  'container-oom-kill',
  'tm-heartbeat-timeout',
  'no-slots',
  'hot-key',
  'idle-over-provisioned',
  'stalled-watermark',
  'cpu-steal',
  'disk-full',
  'nic-errors',
  'state-growth',
  'serialization-error',
  'slow-sink',
  'jobmanager-unreachable',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export const faultSchema = z
  .object({
    kind: z.enum(FAULT_KINDS),
    /** Job name; absent = every job of the cluster (where the fault is job-scoped). */
    job: z.string().optional(),
    /** Vertex name (connector, hot-key, slow-sink, stalled-watermark). */
    vertex: z.string().optional(),
    /** TaskManager index (TM-scoped faults). */
    taskManager: z.number().int().nonnegative().optional(),
    /** Node index (node-scoped faults). */
    node: z.number().int().nonnegative().optional(),
    from: duration,
    to: duration.optional(),
    /** Fault-specific knobs: factor, gcMsPerSecond, share, count, … (documented in faults.ts). */
    params: z.record(z.string(), z.number()).default({}),
  })
  .strict();
export type FaultSpec = z.infer<typeof faultSchema>;

export const clusterSchema = z
  .object({
    label: z.string().default('sim'),
    flinkVersion: z.enum(['1.18', '1.19', '1.20', '2.0', '2.1', '2.2', '2.3']).default('1.20'),
    taskManagers: z.number().int().positive().default(4),
    slotsPerTaskManager: z.number().int().positive().default(4),
    /** TaskManagers per node (nodes are named node-0, node-1, …). */
    taskManagersPerNode: z.number().int().positive().default(1),
    tmHeapBytes: z
      .number()
      .positive()
      .default(2 * 1024 ** 3),
    /** jobmanager.adaptive-scheduler.resource-stabilization-timeout */
    stabilizationTimeout: duration.default(10_000),
    /** Time a rescale or failover restart keeps the job down (cancel, redeploy, restore). */
    restartDowntime: duration.default(20_000),
    /** jobmanager.adaptive-scheduler.resource-wait-timeout */
    resourceWaitTimeout: duration.default(300_000),
    /** metrics.fetcher.update-interval */
    metricFetchInterval: duration.default(10_000),
    /** Time a lost TaskManager takes to come back (Kubernetes restarts the pod). */
    taskManagerReplaceDelay: duration.default(30_000),
    /** Size at which the simulated JobManager/TaskManager log files rotate (bytes). */
    logMaxFileBytes: z
      .number()
      .int()
      .positive()
      .default(1024 ** 2),
    /** Rotated log files kept per component (`<name>.1` … `<name>.N`). */
    logKeepRotated: z.number().int().nonnegative().default(2),
  })
  .strict();
export type ClusterSpec = z.infer<typeof clusterSchema>;

/** The promotion calendar entries the scenario comes with: the daemon's own calendar windows. */
export const promotionSchema = CalendarWindowSchema;

export const scenarioSchema = z
  .object({
    name: z.string().min(1),
    description: z.string().default(''),
    seed: z.number().int(),
    startTime: z.iso.datetime().default('2026-11-11T00:00:00Z'),
    /** Suggested length of a run (virtual-time replays stop here). */
    duration: duration.default(3_600_000),
    cluster: clusterSchema.default(clusterSchema.parse({})),
    jobs: z.array(jobSchema).min(1),
    faults: z.array(faultSchema).default([]),
    promotion: z.array(promotionSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const jobs = new Map(s.jobs.map(j => [j.name, j]));
    s.faults.forEach((f, i) => {
      const job = f.job === undefined ? undefined : jobs.get(f.job);
      if (f.job !== undefined && job === undefined)
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'job'], message: `unknown job "${f.job}"` });
      if (f.vertex !== undefined && job !== undefined && !job.vertices.some(v => v.name === f.vertex))
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'vertex'],
          message: `unknown vertex "${f.vertex}"`,
        });
      const vertex = f.vertex === undefined ? undefined : job?.vertices.find(v => v.name === f.vertex);
      // The model stops the watermark of one source subtask; on any other vertex it would do nothing.
      if (f.kind === 'stalled-watermark' && vertex !== undefined && vertex.inputs.length > 0)
        ctx.addIssue({
          code: 'custom',
          path: ['faults', i, 'vertex'],
          message: `stalled-watermark stops a source subtask's watermark: "${f.vertex}" is not a source`,
        });
      if (f.to !== undefined && f.to <= f.from)
        ctx.addIssue({ code: 'custom', path: ['faults', i, 'to'], message: '`to` must be after `from`' });
    });
  });
export type Scenario = z.infer<typeof scenarioSchema>;

export class ScenarioError extends Error {
  readonly code = 'invalid-scenario';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScenarioError';
  }
}

export function parseScenario(text: string, source = 'scenario'): Scenario {
  let raw: unknown;
  try {
    raw = parseYaml(text);
  } catch (err) {
    throw new ScenarioError(`${source}: not valid YAML`, { cause: err });
  }
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(i => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new ScenarioError(`${source}: ${issues.join('; ')}`, { cause: parsed.error });
  }
  return parsed.data;
}

export async function loadScenario(file: string): Promise<Scenario> {
  return parseScenario(await readFile(file, 'utf8'), file);
}
