import type { JobKey, JournalEntry } from '../domain/index.js';
import { LockBusyError, type JobState, type RecordKind, type Store, type StoredRecord } from './store.js';

/**
 * In-memory Store: the reference behaviour of every Store, and the base of the file store,
 * which keeps the same structures and persists them.
 */
export class MemoryStore implements Store {
  protected jobs = new Map<JobKey, JobState>();
  protected journal: JournalEntry[] = [];
  protected journalKeys = new Set<string>();
  protected records = new Map<RecordKind, Map<string, StoredRecord>>();
  private locks = new Map<string, number>();
  private fence = 0;

  getJob(jobKey: JobKey): Promise<JobState | undefined> {
    const s = this.jobs.get(jobKey);
    return Promise.resolve(s === undefined ? undefined : structuredClone(s));
  }

  async putJob(state: JobState): Promise<void> {
    this.beforeWrite();
    this.jobs.set(state.jobKey, structuredClone(state));
    await this.persistJob(state.jobKey);
  }

  async deleteJob(jobKey: JobKey): Promise<void> {
    this.beforeWrite();
    this.jobs.delete(jobKey);
    await this.persistJob(jobKey);
  }

  listJobKeys(): Promise<JobKey[]> {
    return Promise.resolve([...this.jobs.keys()]);
  }

  async appendJournal(entry: JournalEntry): Promise<boolean> {
    this.beforeWrite();
    const key = `${entry.actionId}|${entry.status}`;
    if (this.journalKeys.has(key)) return false;
    this.journalKeys.add(key);
    this.journal.push(structuredClone(entry));
    await this.persistJournal(entry);
    return true;
  }

  readJournal(filter: { jobKey?: JobKey; actionId?: string; limit?: number } = {}): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    for (let i = this.journal.length - 1; i >= 0 && out.length < (filter.limit ?? Infinity); i--) {
      const e = this.journal[i];
      if (!e) continue;
      if (filter.jobKey !== undefined && e.jobKey !== filter.jobKey) continue;
      if (filter.actionId !== undefined && e.actionId !== filter.actionId) continue;
      out.push(structuredClone(e));
    }
    return Promise.resolve(out);
  }

  getRecord<T>(kind: RecordKind, key: string, now: number): Promise<T | undefined> {
    const r = this.records.get(kind)?.get(key);
    if (!r || (r.expiresAt !== undefined && r.expiresAt <= now)) return Promise.resolve(undefined);
    return Promise.resolve(structuredClone(r.value) as T);
  }

  async putRecord(kind: RecordKind, key: string, value: unknown, expiresAt?: number): Promise<void> {
    this.beforeWrite();
    let ns = this.records.get(kind);
    if (!ns) this.records.set(kind, (ns = new Map<string, StoredRecord>()));
    ns.set(
      key,
      expiresAt === undefined
        ? { key, value: structuredClone(value) }
        : { key, value: structuredClone(value), expiresAt },
    );
    await this.persistRecords(kind);
  }

  async deleteRecord(kind: RecordKind, key: string): Promise<void> {
    this.beforeWrite();
    this.records.get(kind)?.delete(key);
    await this.persistRecords(kind);
  }

  listRecords<T>(kind: RecordKind, now: number): Promise<StoredRecord<T>[]> {
    const out: StoredRecord<T>[] = [];
    for (const r of this.records.get(kind)?.values() ?? []) {
      if (r.expiresAt !== undefined && r.expiresAt <= now) continue;
      out.push(structuredClone(r) as StoredRecord<T>);
    }
    return Promise.resolve(out);
  }

  async withLock<T>(name: string, _ttlMs: number, fn: (fence: number) => Promise<T>): Promise<T> {
    if (this.locks.has(name)) throw new LockBusyError(name);
    const fence = ++this.fence;
    this.locks.set(name, fence);
    try {
      return await fn(fence);
    } finally {
      this.locks.delete(name);
    }
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  // Persistence hooks: no-ops in memory.
  protected beforeWrite(): void {
    // always writable
  }
  protected persistJob(_jobKey: JobKey): Promise<void> {
    return Promise.resolve();
  }
  protected persistJournal(_entry: JournalEntry): Promise<void> {
    return Promise.resolve();
  }
  protected persistRecords(_kind: RecordKind): Promise<void> {
    return Promise.resolve();
  }
}
