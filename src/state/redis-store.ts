import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { JobKey, JournalEntry } from '../domain/index.js';
import {
  LockBusyError,
  StoreError,
  type JobState,
  type RecordKind,
  type Store,
  type StoredRecord,
} from './store.js';

/**
 * The distributed Store: state in Redis so any replica can run any job's cycle.
 *
 * Layout under `<prefix>:`
 *   job:<jobKey>             JSON job state            jobs        set of job keys
 *   journal                  list of JSON entries      journal:job:<jobKey>, journal:action:<id>
 *   journal:keys             set of "<actionId>|<status>" (idempotency)
 *   rec:<kind>               hash key → JSON {value, expiresAt?}
 *   lock:<name>, fence:<name>  action locks with a fencing counter
 *
 * The journal append is one Lua script: the uniqueness check and the three list pushes happen
 * atomically, so a cycle re-delivered by BullMQ can never double a line.
 */
const APPEND_JOURNAL = `
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('RPUSH', KEYS[4], ARGV[2])
return 1`;

const RELEASE_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const EXTEND_LOCK = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`;

export interface RedisDurability {
  appendonly: boolean | undefined;
  maxmemoryPolicy: string | undefined;
  /** Why the check could not be made (e.g. CONFIG disabled on a managed Redis). */
  unverifiable?: string;
}

function parseJson<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new StoreError(`corrupt ${what} in Redis`, { cause: err });
  }
}

export class RedisStore implements Store {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'autopilot',
  ) {}

  private k(...parts: string[]): string {
    return [this.prefix, ...parts].join(':');
  }

  /**
   * Reads `appendonly` and `maxmemory-policy`: state in a Redis without AOF can be lost on a
   * restart, and any policy but noeviction can silently drop queue and state keys.
   */
  async durability(): Promise<RedisDurability> {
    try {
      const aof = (await this.redis.config('GET', 'appendonly')) as string[];
      const policy = (await this.redis.config('GET', 'maxmemory-policy')) as string[];
      return { appendonly: aof[1] === 'yes', maxmemoryPolicy: policy[1] };
    } catch (err) {
      return { appendonly: undefined, maxmemoryPolicy: undefined, unverifiable: (err as Error).message };
    }
  }

  async getJob(jobKey: JobKey): Promise<JobState | undefined> {
    const text = await this.redis.get(this.k('job', jobKey));
    return text === null ? undefined : parseJson<JobState>(text, `job state ${jobKey}`);
  }

  async putJob(state: JobState): Promise<void> {
    await this.redis
      .multi()
      .set(this.k('job', state.jobKey), JSON.stringify(state))
      .sadd(this.k('jobs'), state.jobKey)
      .exec();
  }

  async deleteJob(jobKey: JobKey): Promise<void> {
    await this.redis.multi().del(this.k('job', jobKey)).srem(this.k('jobs'), jobKey).exec();
  }

  listJobKeys(): Promise<JobKey[]> {
    return this.redis.smembers(this.k('jobs'));
  }

  async appendJournal(entry: JournalEntry): Promise<boolean> {
    const added = (await this.redis.eval(
      APPEND_JOURNAL,
      4,
      this.k('journal', 'keys'),
      this.k('journal'),
      this.k('journal', 'job', entry.jobKey),
      this.k('journal', 'action', entry.actionId),
      `${entry.actionId}|${entry.status}`,
      JSON.stringify(entry),
    )) as number;
    return added === 1;
  }

  async readJournal(
    filter: { jobKey?: JobKey; actionId?: string; limit?: number } = {},
  ): Promise<JournalEntry[]> {
    const list =
      filter.actionId !== undefined
        ? this.k('journal', 'action', filter.actionId)
        : filter.jobKey !== undefined
          ? this.k('journal', 'job', filter.jobKey)
          : this.k('journal');
    // Newest first; an action's list is short, a job's and the global one are read from the tail.
    const narrowed = filter.actionId !== undefined && filter.jobKey !== undefined;
    const start = filter.limit === undefined || narrowed ? 0 : -filter.limit;
    const texts = await this.redis.lrange(list, start, -1);
    let entries = texts.map(t => parseJson<JournalEntry>(t, 'journal entry')).reverse();
    if (narrowed) entries = entries.filter(e => e.jobKey === filter.jobKey);
    return filter.limit === undefined ? entries : entries.slice(0, filter.limit);
  }

  async getRecord<T>(kind: RecordKind, key: string, now: number): Promise<T | undefined> {
    const text = await this.redis.hget(this.k('rec', kind), key);
    if (text === null) return undefined;
    const r = parseJson<StoredRecord<T>>(text, `${kind} record`);
    return r.expiresAt !== undefined && r.expiresAt <= now ? undefined : r.value;
  }

  async putRecord(kind: RecordKind, key: string, value: unknown, expiresAt?: number): Promise<void> {
    const r: StoredRecord = expiresAt === undefined ? { key, value } : { key, value, expiresAt };
    await this.redis.hset(this.k('rec', kind), key, JSON.stringify(r));
  }

  async deleteRecord(kind: RecordKind, key: string): Promise<void> {
    await this.redis.hdel(this.k('rec', kind), key);
  }

  async listRecords<T>(kind: RecordKind, now: number): Promise<StoredRecord<T>[]> {
    const all = await this.redis.hvals(this.k('rec', kind));
    return all
      .map(t => parseJson<StoredRecord<T>>(t, `${kind} record`))
      .filter(r => r.expiresAt === undefined || r.expiresAt > now);
  }

  /**
   * A Redis lock (SET NX PX) renewed while `fn` runs, with a fencing token from a counter that
   * only grows: a writer that lost its lock (paused process) carries an older fence.
   */
  async withLock<T>(name: string, ttlMs: number, fn: (fence: number) => Promise<T>): Promise<T> {
    const key = this.k('lock', name);
    const token = randomUUID();
    const ok = await this.redis.set(key, token, 'PX', ttlMs, 'NX');
    if (ok !== 'OK') throw new LockBusyError(name);
    const fence = await this.redis.incr(this.k('fence', name));
    const renew = setInterval(
      () => {
        this.redis.eval(EXTEND_LOCK, 1, key, token, String(ttlMs)).catch(() => undefined);
      },
      Math.max(100, Math.floor(ttlMs / 3)),
    );
    try {
      return await fn(fence);
    } finally {
      clearInterval(renew);
      await this.redis.eval(RELEASE_LOCK, 1, key, token);
    }
  }

  /** The connection is the caller's: it is not closed here (BullMQ shares it). */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
