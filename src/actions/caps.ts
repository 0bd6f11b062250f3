import type { JobRef, PlannedAction } from '../domain/index.js';
import { LockBusyError, type Store } from '../state/store.js';
import { KeyedMutex } from './mutex.js';
import { InFlightRecordSchema, RAIL_KIND, inFlightKey, type InFlightRecord } from './records.js';

export interface CapSettings {
  maxConcurrentPerCluster: number;
  maxConcurrentFleet: number;
  maxActionsPerJobPerDay: number;
  jobActionWindowMs: number;
  /** An executed action counts as in flight until verified, or this long. */
  inFlightForMs: number;
  lockTtlMs: number;
}

export type CapReason = 'cap:job-daily' | 'cap:cluster' | 'cap:fleet';

/**
 * Blast-radius caps. Concurrency is counted from in-flight records in the store (one per action,
 * from just before `executing` until verified, released on any outcome without a write, and
 * expiring after `inFlightFor`), so replicas share the count; check-and-reserve runs under an
 * in-process mutex and the store lock `rails:reserve`. The daily cap counts the job's `executed`
 * journal lines inside `jobActionWindow`.
 */
export class ActionCaps {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly store: Store,
    private readonly settings: CapSettings,
  ) {}

  async executedWithinWindow(jobKey: string, now: number): Promise<number> {
    const since = now - this.settings.jobActionWindowMs;
    const ids = new Set<string>();
    for (const e of await this.store.readJournal({ jobKey, limit: 10_000 })) {
      if (e.at <= since) break;
      if (e.status === 'executed') ids.add(e.actionId);
    }
    return ids.size;
  }

  async inFlight(now: number): Promise<InFlightRecord[]> {
    const out: InFlightRecord[] = [];
    for (const r of await this.store.listRecords(RAIL_KIND, now)) {
      if (!r.key.startsWith('inflight:')) continue;
      const parsed = InFlightRecordSchema.safeParse(r.value);
      if (parsed.success) out.push(parsed.data);
    }
    return out;
  }

  /**
   * Checks every cap and, when none is reached, takes an in-flight slot for the action (an
   * action already holding one keeps it). Returns the cap that stopped it, or `busy` when
   * another replica holds the reservation lock (try again next cycle).
   */
  async reserve(action: PlannedAction, job: JobRef, now: number): Promise<CapReason | 'busy' | undefined> {
    if ((await this.executedWithinWindow(job.jobKey, now)) >= this.settings.maxActionsPerJobPerDay)
      return 'cap:job-daily';
    try {
      return await this.mutex.run('reserve', () =>
        this.store.withLock('rails:reserve', this.settings.lockTtlMs, async () => {
          const others = (await this.inFlight(now)).filter(r => r.actionId !== action.id);
          if (
            others.filter(r => r.job.cluster === job.cluster).length >= this.settings.maxConcurrentPerCluster
          )
            return 'cap:cluster';
          if (others.length >= this.settings.maxConcurrentFleet) return 'cap:fleet';
          const record: InFlightRecord = { actionId: action.id, job, since: now };
          await this.store.putRecord(
            RAIL_KIND,
            inFlightKey(action.id),
            record,
            now + this.settings.inFlightForMs,
          );
          return undefined;
        }),
      );
    } catch (err) {
      if (err instanceof LockBusyError) return 'busy';
      throw err;
    }
  }

  async release(actionId: string): Promise<void> {
    await this.store.deleteRecord(RAIL_KIND, inFlightKey(actionId));
  }
}
