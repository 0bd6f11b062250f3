import type { Clock, JobRef } from '../domain/index.js';

export interface LocalSchedulerOptions {
  clock: Clock;
  intervalMs: number;
  /** Spread of each job's phase, as a share of the interval (0–0.5). */
  jitter: number;
  /** Cycles running at once in this process. */
  concurrency: number;
  /** One cycle for one job; errors are the caller's to log (they never stop the loop). */
  run: (job: JobRef) => Promise<void>;
  /** Per-job interval override. */
  intervalOf?: (job: JobRef) => number | undefined;
  random?: () => number;
  /**
   * Jobs of the same group share one phase (their cycles fall due together), e.g. the jobs of a
   * cluster whose metrics one bulk query per tick collects. Ungrouped jobs get their own phase.
   */
  groupOf?: (job: JobRef) => string | undefined;
  onLag?: (job: JobRef, lagMs: number) => void;
  onSkip?: (job: JobRef, reason: 'still-running') => void;
}

interface Entry {
  job: JobRef;
  due: number;
  running: boolean;
  removed: boolean;
  /** Insertion order among equal due times (first in, first out). */
  seq: number;
}

const before = (a: Entry, b: Entry): boolean => a.due < b.due || (a.due === b.due && a.seq < b.seq);

/** A binary min-heap of entries by due time: the scheduler's next job in O(log n) at 30,000 jobs. */
class DueHeap {
  private readonly items: Entry[] = [];
  private seq = 0;

  get size(): number {
    return this.items.length;
  }

  peek(): Entry | undefined {
    return this.items[0];
  }

  push(e: Entry): void {
    e.seq = this.seq++;
    const a = this.items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = a[p] as Entry;
      if (!before(e, parent)) break;
      a[i] = parent;
      i = p;
    }
    a[i] = e;
  }

  pop(): Entry | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (top === undefined || last === undefined || a.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const c = r < a.length && before(a[r] as Entry, a[l] as Entry) ? r : l;
      const child = a[c] as Entry;
      if (!before(child, last)) break;
      a[i] = child;
      i = c;
    }
    a[i] = last;
    return top;
  }
}

/**
 * The standalone scheduler: one agent per job, every interval, in this process. Each job gets a
 * fixed random phase so ticks spread over the interval instead of bursting; its schedule does
 * not drift (due times are due + interval, not finish + interval). A job whose previous cycle is
 * still running skips that tick: at most one cycle per job at a time. Time comes from the Clock,
 * so the same loop runs in virtual time.
 */
export class LocalScheduler {
  private readonly entries = new Map<string, Entry>();
  /** Every live entry (removed ones are dropped when they come up), by due time. */
  private readonly heap = new DueHeap();
  /** First due time per phase group; later members fall due in step with it. */
  private readonly groupDue = new Map<string, number>();
  private readonly inflight = new Set<Promise<void>>();
  private active = 0;
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: LocalSchedulerOptions) {}

  get size(): number {
    return this.entries.size;
  }

  jobs(): JobRef[] {
    return [...this.entries.values()].map(e => e.job);
  }

  private interval(job: JobRef): number {
    return this.opts.intervalOf?.(job) ?? this.opts.intervalMs;
  }

  /** Makes the scheduled set exactly `jobs`: adds new ones, updates changed ones, removes gone ones. */
  sync(jobs: readonly JobRef[]): { added: number; removed: number } {
    const now = this.opts.clock.now();
    const random = this.opts.random ?? Math.random;
    const keep = new Set<string>();
    let added = 0;
    for (const job of jobs) {
      keep.add(job.jobKey);
      const e = this.entries.get(job.jobKey);
      if (e) {
        e.job = job;
        continue;
      }
      const interval = this.interval(job);
      const group = this.opts.groupOf?.(job);
      const first = group === undefined ? undefined : this.groupDue.get(group);
      let due: number;
      if (first === undefined) {
        due = now + Math.floor(random() * this.opts.jitter * interval);
        if (group !== undefined) this.groupDue.set(group, due);
      } else due = first + Math.max(0, Math.ceil((now - first) / interval)) * interval;
      const entry: Entry = { job, due, running: false, removed: false, seq: 0 };
      this.entries.set(job.jobKey, entry);
      this.heap.push(entry);
      added += 1;
    }
    let removed = 0;
    for (const [key, e] of this.entries) {
      if (keep.has(key)) continue;
      e.removed = true;
      this.entries.delete(key);
      removed += 1;
    }
    this.wake?.();
    return { added, removed };
  }

  start(): void {
    if (this.loop || this.closing) return;
    this.loop = this.runLoop();
  }

  private nextDue(): number | undefined {
    let top = this.heap.peek();
    while (top?.removed === true) {
      this.heap.pop();
      top = this.heap.peek();
    }
    return top?.due;
  }

  private async runLoop(): Promise<void> {
    const { clock } = this.opts;
    while (!this.abort.signal.aborted) {
      const now = clock.now();
      for (;;) {
        if (this.active >= this.opts.concurrency) break;
        const next = this.nextDue();
        if (next === undefined || next > now) break;
        const e = this.heap.pop() as Entry;
        const interval = this.interval(e.job);
        const lag = now - e.due;
        // Catch up without a burst: the next due time is the first one still in the future.
        e.due += Math.max(1, Math.ceil((now - e.due + 1) / interval)) * interval;
        this.heap.push(e);
        if (e.running) {
          this.opts.onSkip?.(e.job, 'still-running');
          continue;
        }
        this.opts.onLag?.(e.job, lag);
        this.dispatch(e);
      }
      const next = this.nextDue();
      const wait =
        this.active >= this.opts.concurrency
          ? undefined
          : next === undefined
            ? undefined
            : Math.max(0, next - clock.now());
      await this.sleep(wait);
    }
  }

  private dispatch(e: Entry): void {
    e.running = true;
    this.active += 1;
    const p = this.opts
      .run(e.job)
      .catch(() => undefined)
      .finally(() => {
        e.running = false;
        this.active -= 1;
        this.inflight.delete(p);
        this.wake?.();
      });
    this.inflight.add(p);
  }

  /** Sleeps until `ms` has passed on the clock, or something changed (a cycle ended, a sync, close). */
  private async sleep(ms: number | undefined): Promise<void> {
    const woken = new Promise<void>(resolve => (this.wake = resolve));
    const timer = new AbortController();
    const onAbort = (): void => timer.abort();
    this.abort.signal.addEventListener('abort', onAbort, { once: true });
    try {
      const waits: Promise<unknown>[] = [woken];
      if (ms !== undefined) waits.push(this.opts.clock.sleep(ms, timer.signal).catch(() => undefined));
      else
        waits.push(
          new Promise<void>(resolve =>
            timer.signal.addEventListener('abort', () => resolve(), { once: true }),
          ),
        );
      await Promise.race(waits);
    } finally {
      timer.abort();
      this.abort.signal.removeEventListener('abort', onAbort);
      this.wake = undefined;
    }
  }

  /** Stops scheduling and waits for running cycles to finish (drain). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      this.wake?.();
      await this.loop;
      await Promise.allSettled([...this.inflight]);
    })();
    return this.closing;
  }
}
