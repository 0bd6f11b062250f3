/**
 * Flink's per-second gauges and meters (busyTimeMsPerSecond, numRecordsInPerSecond, …) are
 * averages over a 60 s window, recomputed by the metric view updater every 5 s. Fed one sample per
 * simulated second; the window starts filled with zeros, so after a (re)start a value ramps up over
 * 60 s exactly as Flink's MeterView does.
 */
export const WINDOW_SECONDS = 60;
export const VIEW_UPDATE_SECONDS = 5;

export class MovingAverage {
  private readonly ring = new Float64Array(WINDOW_SECONDS);
  private pos = 0;
  private sum = 0;
  private pushed = 0;
  private published = 0;

  push(sample: number): void {
    this.sum += sample - (this.ring[this.pos] ?? 0);
    this.ring[this.pos] = sample;
    this.pos = (this.pos + 1) % WINDOW_SECONDS;
    this.pushed++;
    if (this.pushed % VIEW_UPDATE_SECONDS === 0) this.published = Math.max(0, this.sum / WINDOW_SECONDS);
  }

  /** The value Flink would report now (last view update). */
  value(): number {
    return this.published;
  }

  reset(): void {
    this.ring.fill(0);
    this.pos = 0;
    this.sum = 0;
    this.pushed = 0;
    this.published = 0;
  }
}
