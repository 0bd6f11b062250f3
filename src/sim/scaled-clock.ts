import type { Clock } from '../domain/clock.js';

/** Real time sped up `scale` times from `origin` (for `autopilot simulate --time-scale X`). */
export class ScaledClock implements Clock {
  private readonly realStart = Date.now();

  constructor(
    private readonly scale: number,
    private readonly origin = Date.now(),
  ) {}

  now(): number {
    return this.origin + Math.floor((Date.now() - this.realStart) * this.scale);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, ms / this.scale);
      signal?.addEventListener(
        'abort',
        () => {
          clearTimeout(timer);
          reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
        },
        { once: true },
      );
    });
  }
}
