import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Finding, JobKey, JobRef } from '../../../domain/index.js';
import type { Store } from '../../../state/store.js';

/**
 * Fleet state kept in the Store, so it survives a restart: pauses (the kill switch) and alert
 * silences. Record values are validated when read; a pause record that does not parse still
 * pauses (its existence is what counts), it only shows an unknown reason.
 */

// ---------------------------------------------------------------------------------------------
// Pauses

/** Same shape as the API's PauseScope. */
export type PauseScope =
  { kind: 'fleet' } | { kind: 'cluster'; cluster: string } | { kind: 'job'; jobKey: JobKey };

export const PauseRecordSchema = z.object({
  scope: z.enum(['fleet', 'cluster', 'job']),
  target: z.string().optional(),
  reason: z.string(),
  author: z.string(),
  createdAt: z.number(),
  until: z.number().optional(),
});
export type PauseRecord = z.output<typeof PauseRecordSchema>;

export interface Pause {
  key: string;
  scope: PauseScope;
  record: PauseRecord;
}

/** Store keys: `fleet`, `cluster:<label>`, `job:<jobKey>` (the agent cycle reads the same). */
export function pauseKey(scope: PauseScope): string {
  if (scope.kind === 'fleet') return 'fleet';
  return scope.kind === 'cluster' ? `cluster:${scope.cluster}` : `job:${scope.jobKey}`;
}

export function scopeOfKey(key: string): PauseScope | undefined {
  if (key === 'fleet') return { kind: 'fleet' };
  if (key.startsWith('cluster:')) return { kind: 'cluster', cluster: key.slice('cluster:'.length) };
  if (key.startsWith('job:')) return { kind: 'job', jobKey: key.slice('job:'.length) };
  return undefined;
}

/** The keys that pause a job, widest first. */
export function pauseKeysOf(job: Pick<JobRef, 'cluster' | 'jobKey'>): string[] {
  return [
    pauseKey({ kind: 'fleet' }),
    pauseKey({ kind: 'cluster', cluster: job.cluster }),
    pauseKey({ kind: 'job', jobKey: job.jobKey }),
  ];
}

function toRecord(scope: PauseScope, raw: unknown): PauseRecord {
  const parsed = PauseRecordSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const reason = z.object({ reason: z.string() }).safeParse(raw);
  return {
    scope: scope.kind,
    ...(scope.kind === 'fleet' ? {} : { target: scope.kind === 'cluster' ? scope.cluster : scope.jobKey }),
    reason: reason.success ? reason.data.reason : '(unknown)',
    author: '(unknown)',
    createdAt: 0,
  };
}

export interface PauseInput {
  reason: string;
  author: string;
  /** Epoch ms when the pause lifts by itself; undefined = until resumed. */
  until?: number;
}

export async function pause(store: Store, scope: PauseScope, input: PauseInput, now: number): Promise<Pause> {
  const record = PauseRecordSchema.parse({
    scope: scope.kind,
    ...(scope.kind === 'fleet' ? {} : { target: scope.kind === 'cluster' ? scope.cluster : scope.jobKey }),
    reason: input.reason,
    author: input.author,
    createdAt: now,
    ...(input.until === undefined ? {} : { until: input.until }),
  });
  const key = pauseKey(scope);
  await store.putRecord('pause', key, record, input.until);
  return { key, scope, record };
}

/** Lifts a pause; false when there was none in force. */
export async function resume(store: Store, scope: PauseScope, now: number): Promise<boolean> {
  const key = pauseKey(scope);
  const existed = (await store.getRecord('pause', key, now)) !== undefined;
  await store.deleteRecord('pause', key);
  return existed;
}

export async function listPauses(store: Store, now: number): Promise<Pause[]> {
  const out: Pause[] = [];
  for (const r of await store.listRecords('pause', now)) {
    const scope = scopeOfKey(r.key);
    if (scope) out.push({ key: r.key, scope, record: toRecord(scope, r.value) });
  }
  return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** The widest pause in force for a job, if any. */
export async function activePause(
  store: Store,
  job: Pick<JobRef, 'cluster' | 'jobKey'>,
  now: number,
): Promise<Pause | undefined> {
  for (const key of pauseKeysOf(job)) {
    const raw = await store.getRecord('pause', key, now);
    const scope = scopeOfKey(key);
    if (raw !== undefined && scope) return { key, scope, record: toRecord(scope, raw) };
  }
  return undefined;
}

/** The machine-readable skip reason of a pause: `paused:fleet`, `paused:cluster`, `paused:job`. */
export function pauseReason(p: Pause): string {
  return `paused:${p.scope.kind}`;
}

// ---------------------------------------------------------------------------------------------
// Silences and inhibition

/**
 * Alertmanager-style matcher. Names: `rule`, `category`, `severity`, `jobKey`, `cluster`,
 * `namespace`, `subject` (subject id), `subjectKind`, or `label:<key>` (a job label).
 */
export const MatcherSchema = z.strictObject({
  name: z.union([
    z.enum(['rule', 'category', 'severity', 'jobKey', 'cluster', 'namespace', 'subject', 'subjectKind']),
    z.templateLiteral(['label:', z.string().min(1)]),
  ]),
  op: z.enum(['=', '!=', '=~', '!~']).default('='),
  value: z.string(),
});
export type Matcher = z.output<typeof MatcherSchema>;

export const SilenceSchema = z
  .strictObject({
    id: z.string().min(1),
    matchers: z.array(MatcherSchema).min(1),
    author: z.string().min(1),
    comment: z.string().min(1),
    createdAt: z.number(),
    startsAt: z.number(),
    endsAt: z.number(),
  })
  .refine(s => s.endsAt > s.startsAt, { message: 'endsAt must be after startsAt' })
  .refine(
    s => s.matchers.every(m => !m.op.endsWith('~') || safeRegex(m.value) !== undefined),
    'a regex matcher has an invalid regular expression',
  );
export type Silence = z.output<typeof SilenceSchema>;

export const SilenceInputSchema = z.strictObject({
  matchers: z.array(MatcherSchema).min(1),
  author: z.string().min(1),
  comment: z.string().min(1),
  startsAt: z.number().optional(),
  endsAt: z.number(),
});
export type SilenceInput = z.input<typeof SilenceInputSchema>;

function safeRegex(source: string): RegExp | undefined {
  try {
    return new RegExp(`^(?:${source})$`);
  } catch {
    return undefined;
  }
}

export async function createSilence(store: Store, input: SilenceInput, now: number): Promise<Silence> {
  const i = SilenceInputSchema.parse(input);
  const silence = SilenceSchema.parse({
    id: randomUUID(),
    matchers: i.matchers,
    author: i.author,
    comment: i.comment,
    createdAt: now,
    startsAt: i.startsAt ?? now,
    endsAt: i.endsAt,
  });
  await store.putRecord('silence', silence.id, silence, silence.endsAt);
  return silence;
}

/** Silences not yet ended (also those that start later). Records that do not parse are left out. */
export async function listSilences(store: Store, now: number): Promise<Silence[]> {
  const out: Silence[] = [];
  for (const r of await store.listRecords('silence', now)) {
    const parsed = SilenceSchema.safeParse(r.value);
    if (parsed.success) out.push(parsed.data);
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

/** Expires a silence now; false when there was none. */
export async function deleteSilence(store: Store, id: string, now: number): Promise<boolean> {
  const existed = (await store.getRecord('silence', id, now)) !== undefined;
  await store.deleteRecord('silence', id);
  return existed;
}

type SilenceJob = Pick<JobRef, 'jobKey' | 'cluster' | 'namespace' | 'labels'>;

function fieldOf(m: Matcher, finding: Finding, job: SilenceJob): string {
  switch (m.name) {
    case 'rule':
      return finding.rule;
    case 'category':
      return finding.category;
    case 'severity':
      return finding.severity;
    case 'jobKey':
      return job.jobKey;
    case 'cluster':
      return job.cluster;
    case 'namespace':
      return job.namespace ?? '';
    case 'subject':
      return finding.subject.id;
    case 'subjectKind':
      return finding.subject.kind;
    default:
      return job.labels[m.name.slice('label:'.length)] ?? '';
  }
}

export function matcherMatches(m: Matcher, finding: Finding, job: SilenceJob): boolean {
  const value = fieldOf(m, finding, job);
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return safeRegex(m.value)?.test(value) ?? false;
    case '!~':
      return !(safeRegex(m.value)?.test(value) ?? false);
  }
}

/**
 * The silence that mutes this finding's alerts now, if any: active (startsAt ≤ now < endsAt)
 * and every matcher matching. Silenced findings still count in the health score.
 */
export function silencedBy(
  finding: Finding,
  job: SilenceJob,
  silences: readonly Silence[],
  now: number,
): Silence | undefined {
  return silences.find(
    s => s.startsAt <= now && now < s.endsAt && s.matchers.every(m => matcherMatches(m, finding, job)),
  );
}

export function isSilenced(
  finding: Finding,
  job: SilenceJob,
  silences: readonly Silence[],
  now: number,
): boolean {
  return silencedBy(finding, job, silences, now) !== undefined;
}

/** A firing cluster-scope finding, or a firing job-scope availability finding. */
export function isInhibitor(f: Finding): boolean {
  return (
    f.state === 'firing' &&
    (f.subject.kind === 'cluster' || (f.subject.kind === 'job' && f.category === 'availability'))
  );
}

/**
 * Inhibition within one job's findings: while an inhibitor fires, the job's other findings are
 * not alerted. Returns fingerprint → the fingerprint of the inhibitor that mutes it. Inhibitors
 * are never inhibited themselves.
 */
export function inhibited(findings: readonly Finding[]): Map<string, string> {
  const out = new Map<string, string>();
  const by = findings.find(isInhibitor);
  if (!by) return out;
  for (const f of findings) if (!isInhibitor(f)) out.set(f.fingerprint, by.fingerprint);
  return out;
}

/** Same methods as the API's PauseControl, on the store. */
export function pauseControl(store: Store, now: () => number) {
  return {
    async pause(scope: PauseScope, by: string, reason?: string, until?: number): Promise<void> {
      await pause(
        store,
        scope,
        { reason: reason ?? 'no reason given', author: by, ...(until === undefined ? {} : { until }) },
        now(),
      );
    },
    async resume(scope: PauseScope, _by: string): Promise<void> {
      await resume(store, scope, now());
    },
  };
}
