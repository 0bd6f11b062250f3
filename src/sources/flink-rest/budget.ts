import { FlinkRestError } from './errors.js';

export interface BudgetOptions {
  /** Requests in flight at once against one JobManager. */
  maxInFlight: number;
  /** How long a request may wait for its turn before it fails with `budget`. */
  maxWaitMs: number;
  /** Requests queued at most; beyond that a request fails at once with `budget`. */
  maxQueued: number;
}

/**
 * The per-JobManager request budget: at most `maxInFlight` requests at once, a bounded queue and
 * a bounded wait, so a fleet of agents never floods one JobManager (whose REST threads also
 * serve the web UI and the operator).
 */
export class RequestBudget {
  private inFlight = 0;
  private readonly queue: { grant: () => void; timer: NodeJS.Timeout }[] = [];
  granted = 0;
  refused = 0;
  /** Most requests ever in flight at once (never above `maxInFlight`). */
  peakInFlight = 0;

  constructor(readonly options: BudgetOptions) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.options.maxInFlight) {
      this.inFlight++;
      this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
      this.granted++;
      return Promise.resolve();
    }
    if (this.queue.length >= this.options.maxQueued) {
      this.refused++;
      return Promise.reject(new FlinkRestError('budget', 'request budget exhausted: queue full'));
    }
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          clearTimeout(entry.timer);
          this.inFlight++;
          this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
          this.granted++;
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.queue.indexOf(entry);
          if (i >= 0) this.queue.splice(i, 1);
          this.refused++;
          reject(new FlinkRestError('budget', 'request budget exhausted: waited too long'));
        }, this.options.maxWaitMs),
      };
      this.queue.push(entry);
    });
  }

  private release(): void {
    this.inFlight--;
    this.queue.shift()?.grant();
  }
}
