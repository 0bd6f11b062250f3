import { randomUUID } from 'node:crypto';
import { emptyCollection, type LogClassCount, type LogCollection } from './counter.js';

/**
 * One log source read on behalf of every job that shares it (the jobs of a session cluster see
 * the same JobManager and TaskManager logs). The source is collected at most once per
 * `minIntervalMs` (single flight); each job keeps a cursor and gets every collection it has not
 * seen yet, merged, so each log line is counted once per job whatever the jobs' tick phases.
 * Collections are kept in a bounded ring; a job that fell behind it gets what is left.
 */

export interface LogCursor {
  /** Changes when the feed is recreated (daemon restart): sequence numbers start again. */
  epoch: string;
  seq: number;
}

export interface FeedRead {
  collection: LogCollection;
  cursor: LogCursor;
}

interface Entry {
  seq: number;
  at: number;
  collection: LogCollection;
}

export class LogFeed {
  readonly epoch = randomUUID();
  private readonly ring: Entry[] = [];
  private seq = 0;
  private lastAttempt: number | undefined;
  private lastError: Error | undefined;
  private inFlight: Promise<void> | undefined;

  constructor(
    private readonly source: { collect(): Promise<LogCollection> },
    private readonly minIntervalMs: number,
    private readonly keep = 64,
  ) {}

  private async refresh(now: number): Promise<void> {
    if (
      this.lastAttempt !== undefined &&
      now - this.lastAttempt < this.minIntervalMs &&
      now >= this.lastAttempt
    )
      return;
    if (this.inFlight === undefined) {
      this.lastAttempt = now;
      this.inFlight = this.source
        .collect()
        .then(
          collection => {
            this.ring.push({ seq: ++this.seq, at: now, collection });
            if (this.ring.length > this.keep) this.ring.shift();
            this.lastError = undefined;
          },
          (err: unknown) => {
            this.lastError = err instanceof Error ? err : new Error(String(err));
          },
        )
        .finally(() => {
          this.inFlight = undefined;
        });
    }
    await this.inFlight;
  }

  /**
   * What the holder of `cursor` has not seen. A new reader (no cursor, or one of another epoch)
   * starts with the newest collection. Throws the source's error when the latest attempt failed
   * and nothing new is there: the logs are unknown this cycle.
   */
  async read(cursor: LogCursor | undefined, now: number): Promise<FeedRead> {
    await this.refresh(now);
    const from = cursor?.epoch === this.epoch ? cursor.seq : undefined;
    const newest = this.ring[this.ring.length - 1];
    const unseen =
      from === undefined ? (newest === undefined ? [] : [newest]) : this.ring.filter(e => e.seq > from);
    if (unseen.length === 0 && this.lastError !== undefined) throw this.lastError;
    if (newest === undefined) throw this.lastError ?? new Error('no log collection yet');
    return {
      collection: mergeCollections(unseen.map(e => e.collection)),
      cursor: { epoch: this.epoch, seq: newest.seq },
    };
  }
}

export function mergeCollections(parts: readonly LogCollection[]): LogCollection {
  const out = emptyCollection();
  const byClass = new Map<string, LogClassCount>();
  for (const p of parts) {
    out.files = Math.max(out.files, p.files);
    out.bytes += p.bytes;
    out.skippedBytes += p.skippedBytes;
    out.events += p.events;
    out.binaryChunks += p.binaryChunks;
    for (const c of p.counts) {
      const key = `${c.class}\u0000${c.scope}`;
      const prev = byClass.get(key);
      if (prev === undefined) byClass.set(key, { ...c });
      else {
        prev.count += c.count;
        prev.firstSeen = Math.min(prev.firstSeen, c.firstSeen);
        if (c.lastSeen >= prev.lastSeen) {
          prev.lastSeen = c.lastSeen;
          prev.sample = c.sample;
        }
      }
    }
  }
  out.counts = [...byClass.values()].sort(
    (a, b) => a.class.localeCompare(b.class) || a.scope.localeCompare(b.scope),
  );
  return out;
}
