/**
 * Flink's per-second gauges and meters (busyTimeMsPerSecond, numRecordsInPerSecond, …) are
 * averages over a 60 s window, recomputed by the metric view updater every 5 s. Fed one sample per
 * simulated second.
 *
 * - Meters (`zeroFilled`, the default): the window starts filled with zeros, so after a (re)start
 *   a rate ramps up linearly over 60 s as Flink's MeterView does (recordings: numRecordsInPerSecond
 *   of a rescaled vertex 290, 540, 791, 1041, 1291, 1542 at 10 s steps).
 * - Time gauges (busy / idle / back-pressured time per second): averaged over the time measured
 *   so far, so a restarted task reports its current level at once (recordings: busy 1000, 881,
 *   838, 832 ms/s in the first 40 s after a rescale, not a ramp from 0).
 */
export const WINDOW_SECONDS = 60;
export const VIEW_UPDATE_SECONDS = 5;

export class MovingAverage {
  private readonly ring = new Float64Array(WINDOW_SECONDS);
  private pos = 0;
  private sum = 0;
  private pushed = 0;
  private published = 0;

  /**
   * @param zeroFilled meter (true) or time gauge (false), see above.
   * @param initial what is reported before the first view update: real Flink reports a new
   *   task's busy time as 1000 ms/s (1000 − idle − back-pressured, neither measured yet) at the
   *   first fetch after a restart in both recordings.
   */
  constructor(
    private readonly zeroFilled = true,
    private readonly initial = 0,
  ) {
    this.published = initial;
  }

  push(sample: number): void {
    this.sum += sample - (this.ring[this.pos] ?? 0);
    this.ring[this.pos] = sample;
    this.pos = (this.pos + 1) % WINDOW_SECONDS;
    this.pushed++;
    if (this.pushed % VIEW_UPDATE_SECONDS === 0) {
      const span = this.zeroFilled ? WINDOW_SECONDS : Math.min(this.pushed, WINDOW_SECONDS);
      this.published = Math.max(0, this.sum / span);
    }
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
    this.published = this.initial;
  }
}
