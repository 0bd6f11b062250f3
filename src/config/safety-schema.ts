import { validateDetailed } from 'node-cron';
import { z } from 'zod';
import { tryParseDuration } from '../domain/duration.js';

/**
 * Config sections for fleet safety and per-job policy: `policies`, `freezes`, `rails`,
 * `policyDefaults`. Sections with durations are built by a function that receives schema.ts's
 * `duration()` helper, so defaults scale with `time.scale` exactly like every other duration and
 * this file does not import schema.ts (no import cycle). Inside a generic factory TypeScript
 * cannot see that every field has a default, hence the typed empty prefaults.
 */

/** schema.ts's `duration(defaultText, description)`. */
type DurationHelper<D extends z.ZodDefault> = (defaultText: string, description: string) => D;

/**
 * A duration written in a policy or a freeze: optional, explicit, never scaled by `time.scale`
 * (explicit values are taken as written). Milliseconds after parsing.
 */
export function explicitDuration(description: string) {
  return z
    .union([z.string(), z.number()])
    .transform((v, ctx) => {
      const ms = tryParseDuration(v);
      if (ms === undefined) {
        ctx.addIssue({
          code: 'custom',
          message: `not a duration: ${JSON.stringify(v)} (use e.g. "30s", "5m")`,
        });
        return z.NEVER;
      }
      return ms;
    })
    .optional()
    .describe(description);
}

export const POLICY_MODES = ['off', 'dry-run', 'approve', 'auto'] as const;
export type PolicyMode = (typeof POLICY_MODES)[number];

function validRegex(source: string): boolean {
  try {
    new RegExp(source);
    return true;
  } catch {
    return false;
  }
}

export function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * Which jobs a policy, freeze or silence applies to. Every term given must match; the number of
 * terms (each label counts once) is the selector's specificity.
 */
export const SelectorSchema = z
  .strictObject({
    cluster: z.string().min(1).optional().describe('Cluster label the job runs on.'),
    namespace: z
      .union([z.string().min(1), z.array(z.string().min(1)).min(1)])
      .optional()
      .describe('Kubernetes namespace, or a list of them (any of).'),
    labels: z
      .record(z.string(), z.string())
      .optional()
      .describe('Labels the job must carry with these values (each label is one term).'),
    name: z.string().min(1).optional().describe('Glob over the whole job name: `*` any characters, `?` one.'),
    nameRegex: z
      .string()
      .min(1)
      .refine(validRegex, 'not a valid regular expression')
      .optional()
      .describe('Regular expression over the whole job name (anchored).'),
  })
  .describe('Which jobs: every term given must match. Empty = every job.');
export type Selector = z.output<typeof SelectorSchema>;

export const Parallelism = z.int().min(1).max(32_768);

const VertexBounds = z.strictObject({
  min: Parallelism.optional().describe('Lowest parallelism of this vertex.'),
  max: Parallelism.optional().describe('Highest parallelism of this vertex.'),
});

const ParamValue = z.union([z.number(), z.string(), z.boolean()]);

export const PolicySchema = z
  .strictObject({
    id: z.string().min(1).describe('Name of the policy (shown where a merged field came from).'),
    selector: SelectorSchema.default({}),
    mode: z
      .enum(POLICY_MODES)
      .optional()
      .describe('off = never act nor plan; dry-run = advise only; approve = ask first; auto = act.'),
    minParallelism: Parallelism.optional().describe('Lowest parallelism of every vertex.'),
    maxParallelism: Parallelism.optional().describe('Highest parallelism of every vertex.'),
    vertices: z
      .record(z.string(), VertexBounds)
      .optional()
      .describe('Bounds per vertex id or name: { vertex: {min, max} }.'),
    excludedVertices: z
      .array(z.string().min(1))
      .optional()
      .describe('Vertex ids or names never rescaled (kept at their parallelism).'),
    targetUtilization: z.number().gt(0).lt(1).optional().describe('Busy ratio each vertex is sized for.'),
    lagSlo: explicitDuration('Most input lag (in seconds of input) the job may carry.'),
    catchUp: explicitDuration('A backlog should be worked off within this time.'),
    owner: z.string().min(1).optional().describe('Owning team or person (alerts, dashboard).'),
    alertRoutes: z
      .array(z.string().min(1))
      .optional()
      .describe('Alert routes (receiver names) for this job’s alerts.'),
    params: z
      .record(z.string(), z.record(z.string(), ParamValue))
      .optional()
      .describe('Rule param overrides: { ruleId: { param: value } }.'),
    disabledRules: z.array(z.string().min(1)).optional().describe('Rule ids not evaluated for these jobs.'),
  })
  .refine(
    p =>
      p.minParallelism === undefined ||
      p.maxParallelism === undefined ||
      p.minParallelism <= p.maxParallelism,
    {
      message: 'minParallelism is above maxParallelism',
    },
  );
export type PolicyEntry = z.output<typeof PolicySchema>;

/** Day-of-month values node-cron's parser may return that the freeze evaluator understands. */
function cronProblem(expr: string): string | undefined {
  const v = validateDetailed(expr);
  if (!v.valid) return v.errors.map(e => e.message).join('; ') || 'invalid cron expression';
  const bad = [...(v.fields?.dayOfMonth ?? []), ...(v.fields?.dayOfWeek ?? [])].find(
    x => typeof x === 'string' && x !== 'L',
  );
  return bad === undefined ? undefined : `unsupported cron value ${String(bad)}`;
}

export const IsoTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}/, 'an ISO time such as 2026-11-11T00:00 or 2026-11-11T00:00Z')
  .refine(t => !Number.isNaN(Date.parse(t)), 'not a readable ISO time');

export const FREEZE_ALLOW = ['calendar'] as const;

export const FreezeSchema = z
  .strictObject({
    id: z.string().min(1).describe('Name of the freeze (the skip reason is `freeze:<id>`).'),
    cron: z
      .string()
      .superRefine((expr, ctx) => {
        const problem = cronProblem(expr);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .describe('Cron expression (minute hour day-of-month month day-of-week) of each freeze start.'),
    duration: explicitDuration('How long each cron-started freeze lasts (unset: one minute per cron match).'),
    start: IsoTime.optional().describe('ISO time the freeze starts (without offset: in `timezone`).'),
    end: IsoTime.optional().describe('ISO time the freeze ends (without offset: in `timezone`).'),
    timezone: z
      .string()
      .refine(validTimeZone, 'not an IANA time zone')
      .default('UTC')
      .describe('IANA time zone of the cron expression and of offset-less start/end.'),
    selector: SelectorSchema.default({}),
    allow: z
      .array(z.enum(FREEZE_ALLOW))
      .default([])
      .describe('Actions still allowed during the freeze: `calendar` = calendar floors.'),
    reason: z.string().optional().describe('Why (shown with skipped actions).'),
  })
  .refine(f => (f.cron !== undefined) !== (f.start !== undefined || f.end !== undefined), {
    message: 'give either cron (with an optional duration) or start and end',
  })
  .refine(f => f.cron !== undefined || (f.start !== undefined && f.end !== undefined), {
    message: 'start and end go together',
  });
export type FreezeEntry = z.output<typeof FreezeSchema>;

export function policiesSection() {
  return z
    .array(PolicySchema)
    .default([])
    .describe(
      'Per-job policy by selector. For each field the most specific matching policy wins (ties: the later one); the annotation autopilot.flink.apache.org/mode overrides mode.',
    );
}

export function freezesSection() {
  return z
    .array(FreezeSchema)
    .default([])
    .describe('Freeze windows: while one is active for a job, only allowed kinds act; others are skipped.');
}

export function policyDefaultsSection<D extends z.ZodDefault>(duration: DurationHelper<D>) {
  const section = z
    .strictObject({
      lagSlo: duration(
        '60s',
        'Most input lag (in seconds of input) a job may carry, unless a policy says otherwise.',
      ),
    })
    .describe('Defaults of per-job policy fields (policies override them).');
  return section.prefault(() => ({}) as z.input<typeof section>);
}

export function railsSection<D extends z.ZodDefault>(duration: DurationHelper<D>) {
  const circuitBreaker = z
    .strictObject({
      window: z
        .int()
        .min(1)
        .max(1000)
        .default(10)
        .describe('How many of a cluster’s last executed actions are looked at.'),
      maxFailures: z
        .int()
        .min(1)
        .default(3)
        .describe('Bad outcomes in the window that force the cluster to approve mode.'),
      failureWithin: duration('10m', 'A job failure this soon after an action counts against it.'),
      openFor: duration('1h', 'How long a tripped cluster stays in approve mode (or until reset).'),
    })
    .describe('Per cluster: too many bad outcomes force approve mode.');
  const section = z
    .strictObject({
      maxConcurrentPerCluster: z
        .int()
        .min(1)
        .default(5)
        .describe('Most actions in flight at once in one cluster.'),
      maxConcurrentFleet: z.int().min(1).default(50).describe('Most actions in flight at once in the fleet.'),
      maxActionsPerJobPerDay: z
        .int()
        .min(1)
        .default(6)
        .describe('Most executed actions per job within `jobActionWindow`.'),
      jobActionWindow: duration('24h', 'The window of maxActionsPerJobPerDay.'),
      inFlightFor: duration(
        '10m',
        'An executed action counts against the concurrency caps until verified, or this long.',
      ),
      lockTtl: duration('2m', 'Longest a job’s action lock is held by one execution.'),
      circuitBreaker: circuitBreaker.prefault(() => ({}) as z.input<typeof circuitBreaker>),
    })
    .describe('Fleet rails: concurrency caps, daily cap per job, circuit breaker.');
  return section.prefault(() => ({}) as z.input<typeof section>);
}
