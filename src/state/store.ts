import type { FindingRecord, HealthReport, JobKey, JournalEntry, LogHistory } from '../domain/index.js';

/**
 * Durable state, keyed by jobKey (it survives redeploys). Three implementations: `memory`
 * (tests), `file` (standalone default) and `redis` (distributed). Cooldowns, scale-down timers,
 * pauses, approvals, calendar floors, silences, finding state and the journal survive a restart.
 */
export interface ScorePoint {
  at: number;
  score: number | null;
}

export interface JobState {
  jobKey: JobKey;
  incarnation: string;
  /** Finding state machine per fingerprint. */
  findings: Record<string, FindingRecord>;
  scoreHistory: ScorePoint[];
  lastReport?: HealthReport;
  /** When data was last observed for this job (for staleness). */
  lastObservedAt?: number;
  /** Log class counts per cycle (the windows of the `job.logs.*` facts); bounded. */
  logHistory?: LogHistory;
}

/** Kinds of small keyed records, each a namespace of its own. */
export const RECORD_KINDS = [
  'pause',
  'cooldown',
  'approval',
  'silence',
  'floor',
  'restart-time',
  'scale-down-timer',
  'scale-up-block',
  'cluster-finding',
  'detect',
  'alert',
  'alert-dead-letter',
  /** Per job: the input-rate ring buffer of the forecast (autoscaler/forecast.ts). */
  'rate-history',
] as const;
export type RecordKind = (typeof RECORD_KINDS)[number];

export interface StoredRecord<T = unknown> {
  key: string;
  value: T;
  /** Epoch ms after which the record is gone; undefined = never. */
  expiresAt?: number;
}

export interface Store {
  getJob(jobKey: JobKey): Promise<JobState | undefined>;
  putJob(state: JobState): Promise<void>;
  deleteJob(jobKey: JobKey): Promise<void>;
  listJobKeys(): Promise<JobKey[]>;

  /**
   * Appends to the action journal. (actionId, status) is unique: a replayed entry is ignored
   * and `false` returned, so at-least-once delivery never doubles a line.
   */
  appendJournal(entry: JournalEntry): Promise<boolean>;
  /** Newest first. */
  readJournal(filter?: { jobKey?: JobKey; actionId?: string; limit?: number }): Promise<JournalEntry[]>;

  getRecord<T>(kind: RecordKind, key: string, now: number): Promise<T | undefined>;
  putRecord(kind: RecordKind, key: string, value: unknown, expiresAt?: number): Promise<void>;
  deleteRecord(kind: RecordKind, key: string): Promise<void>;
  listRecords<T>(kind: RecordKind, now: number): Promise<StoredRecord<T>[]>;

  /**
   * Runs `fn` holding the named lock; `fence` grows with every acquisition so a late writer can
   * be told apart. Throws LockBusyError when the lock is held elsewhere.
   */
  withLock<T>(name: string, ttlMs: number, fn: (fence: number) => Promise<T>): Promise<T>;

  close(): Promise<void>;
}

export class LockBusyError extends Error {
  readonly code = 'LOCK_BUSY';
  constructor(readonly lock: string) {
    super(`lock ${lock} is held`);
    this.name = 'LockBusyError';
  }
}

export class StoreError extends Error {
  readonly code = 'STORE_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreError';
  }
}
