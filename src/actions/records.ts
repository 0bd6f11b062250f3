import { z } from 'zod';
import type { PlannedAction } from '../domain/index.js';
import type { RecordKind, Store } from '../state/store.js';

/**
 * The executor's durable records, validated when read back (a record that does not parse is
 * treated as absent and reported by the caller). Kinds: `approval` (key: action id) and
 * `cluster-finding` for the rails' cluster-level state (keys `circuit:<cluster>` and
 * `inflight:<action id>`).
 */

const Parallelism = z.record(z.string(), z.number());

export const PlannedActionSchema = z.object({
  id: z.string(),
  kind: z.enum(['rescale', 'alert']),
  jobKey: z.string(),
  incarnation: z.string(),
  basis: z.object({
    parallelism: Parallelism,
    resourceVersion: z.string().optional(),
    observedAt: z.number(),
  }),
  target: Parallelism,
  reason: z.string(),
  findings: z.array(z.string()),
  mode: z.enum(['dry-run', 'approve', 'auto']),
  createdAt: z.number(),
  expiresAt: z.number(),
  status: z.enum([
    'planned',
    'approved',
    'executing',
    'executed',
    'noop',
    'skipped',
    'failed',
    'verified',
    'ineffective',
    'expired',
  ]),
  origin: z.enum(['reactive', 'calendar', 'forecast']).optional(),
  expectedRate: z.record(z.string(), z.object({ before: z.number(), after: z.number() })).optional(),
}) satisfies z.ZodType<PlannedAction>;

export { JobRefSchema } from '../domain/identity.js';
import { JobRefSchema } from '../domain/identity.js';

export const ApprovalRecordSchema = z.object({
  action: PlannedActionSchema,
  job: JobRefSchema,
  state: z.enum(['pending', 'approved', 'rejected', 'expired']),
  /** Why approval is needed: `approve-mode` or `circuit-open:<cluster>`. */
  why: z.string(),
  requestedAt: z.number(),
  /** The request is refused after this (approvalTtl after it was made). */
  expiresAt: z.number(),
  decidedBy: z.string().optional(),
  decidedAt: z.number().optional(),
  comment: z.string().optional(),
});
export type ApprovalRecord = z.output<typeof ApprovalRecordSchema>;

export const InFlightRecordSchema = z.object({
  actionId: z.string(),
  job: JobRefSchema,
  since: z.number(),
});
export type InFlightRecord = z.output<typeof InFlightRecordSchema>;

export const OutcomeSchema = z.object({
  actionId: z.string(),
  jobKey: z.string(),
  at: z.number(),
  result: z.enum(['ok', 'failed', 'job-failed']),
});
export type Outcome = z.output<typeof OutcomeSchema>;

export const CircuitRecordSchema = z.object({
  /** The cluster's last executed actions, oldest first. */
  outcomes: z.array(OutcomeSchema),
  open: z.object({ since: z.number(), until: z.number(), reason: z.string() }).optional(),
});
export type CircuitRecord = z.output<typeof CircuitRecordSchema>;

export const RAIL_KIND: RecordKind = 'cluster-finding';
export const circuitKey = (cluster: string): string => `circuit:${cluster}`;
export const inFlightKey = (actionId: string): string => `inflight:${actionId}`;

/** Reads a record and parses it; undefined when absent or not parseable. */
export async function readRecord<T>(
  store: Store,
  kind: RecordKind,
  key: string,
  schema: z.ZodType<T>,
  now: number,
): Promise<T | undefined> {
  const raw = await store.getRecord(kind, key, now);
  if (raw === undefined) return undefined;
  const parsed = schema.safeParse(raw);
  return parsed.success ? parsed.data : undefined;
}
