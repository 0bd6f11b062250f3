import type { JobRef } from '../../../domain/index.js';
import type { Store } from '../../../state/store.js';

/**
 * Short-horizon forecast of a job's input rate (records/s arriving at its sources), so a
 * scale-up lands a restart time before the load needs it.
 *
 * History: a value-only ring buffer per job, one mean rate per `resolution` (1 min by default)
 * over `retention` (8 days), kept in the store as a base64 Float32 array (≈ 61 kB per job at the
 * defaults) and written once per completed slot. A slot with no sample is NaN.
 *
 * Two estimators, each with a noise guard; the forecast is the higher of those that pass:
 * - trend: Theil–Sen line over the last `trendWindow` of slots (robust to a single spike),
 *   used only when it rises and Kendall's τ of the points is at least `minTrendConsistency`
 *   (most pairs of points agree that the rate goes up);
 * - season ("same time yesterday / last week"): the current level × (the rate one period ago
 *   at now + horizon ÷ the rate one period ago now), both medians of a few slots; used only when
 *   the same period explained the last `trendWindow` well (median relative error of the
 *   scaled seasonal values ≤ `maxSeasonalError`). Slots inside a promotion-calendar window are
 *   left out of the seasonal baseline: an announced peak is not "what happens every day".
 *
 * Without either, but with enough recent history, the forecast is the current level (basis
 * `level`). The planner only ever sizes up from a forecast (or holds back a scale-down); it never
 * scales down because a forecast says the load will fall.
 */

export interface ForecastSettings {
  enabled: boolean;
  /** One ring-buffer slot. */
  resolutionMs: number;
  /** How far back the ring buffer reaches (≥ the longest season). */
  retentionMs: number;
  /** Recent window of the trend fit and of the seasonal consistency check. */
  trendWindowMs: number;
  /** Added to the job's restart time: the forecast is taken at now + restart + margin. */
  marginMs: number;
  /** The lookahead is never longer than this. */
  horizonMs: number;
  /** Kendall's τ the recent points need for a trend to count (0–1). */
  minTrendConsistency: number;
  /** Median relative error the seasonal profile may have over the recent window (0–1). */
  maxSeasonalError: number;
  /** Seasonal periods (e.g. a day and a week). */
  seasonsMs: readonly number[];
}

export interface Forecast {
  /** Forecast input rate at now + horizon (records/s). */
  rate: number;
  /** The smoothed current level the forecast starts from. */
  level: number;
  horizonMs: number;
  /** `level`: enough history, but neither a trend nor a season: the load stays where it is. */
  basis: 'trend' | 'season' | 'level';
  /** Seasonal period used (basis season). */
  seasonMs?: number;
}

const RECORD_VERSION = 1;

interface StoredHistory {
  v: number;
  res: number;
  cap: number;
  /** Index (epoch ms / res) of the newest written slot. */
  last: number;
  /** base64 of the Float32Array(cap) ring; slot i lives at i % cap. */
  data: string;
}

/** The ring buffer in memory. */
export class RateHistory {
  readonly values: Float32Array;

  constructor(
    readonly resolutionMs: number,
    readonly capacity: number,
    /** Newest written slot index; -Infinity when empty. */
    public last = Number.NEGATIVE_INFINITY,
    values?: Float32Array,
  ) {
    this.values = values ?? new Float32Array(capacity).fill(Number.NaN);
  }

  slotOf(t: number): number {
    return Math.floor(t / this.resolutionMs);
  }

  /** Writes slot `slot` (slots skipped since the last write become NaN). Older slots are ignored. */
  put(slot: number, value: number): void {
    if (slot <= this.last - this.capacity) return;
    if (slot > this.last) {
      const from = Number.isFinite(this.last) ? Math.max(this.last + 1, slot - this.capacity + 1) : slot;
      for (let i = from; i < slot; i++) this.values[mod(i, this.capacity)] = Number.NaN;
      this.last = slot;
    }
    this.values[mod(slot, this.capacity)] = value;
  }

  /** The value of a slot, or NaN when unknown or overwritten. */
  get(slot: number): number {
    if (slot > this.last || slot <= this.last - this.capacity) return Number.NaN;
    return this.values[mod(slot, this.capacity)] ?? Number.NaN;
  }

  toRecord(): StoredHistory {
    const bytes = new Uint8Array(this.values.buffer, this.values.byteOffset, this.values.byteLength);
    return {
      v: RECORD_VERSION,
      res: this.resolutionMs,
      cap: this.capacity,
      last: this.last,
      data: Buffer.from(bytes).toString('base64'),
    };
  }

  /** A stored history, or undefined when it is absent, malformed or of another shape (then it starts over). */
  static fromRecord(rec: unknown, resolutionMs: number, capacity: number): RateHistory | undefined {
    if (typeof rec !== 'object' || rec === null) return undefined;
    const r = rec as Partial<StoredHistory>;
    if (r.v !== RECORD_VERSION || r.res !== resolutionMs || r.cap !== capacity) return undefined;
    if (typeof r.last !== 'number' || typeof r.data !== 'string') return undefined;
    const buf = Buffer.from(r.data, 'base64');
    if (buf.byteLength !== capacity * 4) return undefined;
    const values = new Float32Array(capacity);
    new Uint8Array(values.buffer).set(buf);
    return new RateHistory(resolutionMs, capacity, r.last, values);
  }
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[m] ?? Number.NaN) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
}

/** Theil–Sen slope and intercept with Kendall's τ of the points (x ascending). */
export function robustTrend(
  points: readonly { x: number; y: number }[],
): { slope: number; intercept: number; tau: number } | undefined {
  if (points.length < 3) return undefined;
  const slopes: number[] = [];
  let concordant = 0;
  let discordant = 0;
  for (let i = 0; i < points.length; i++) {
    const a = points[i];
    if (a === undefined) continue;
    for (let j = i + 1; j < points.length; j++) {
      const b = points[j];
      if (b === undefined || b.x === a.x) continue;
      const s = (b.y - a.y) / (b.x - a.x);
      slopes.push(s);
      if (s > 0) concordant++;
      else if (s < 0) discordant++;
    }
  }
  const pairs = slopes.length;
  if (pairs === 0) return undefined;
  const slope = median(slopes);
  const intercept = median(points.map(p => p.y - slope * p.x));
  return { slope, intercept, tau: (concordant - discordant) / pairs };
}

/** Minimum of points the trend fit and the seasonal check need in the recent window. */
const MIN_POINTS = 6;
/** Seasonal values are medians of this many slots either side (a single spike does not count). */
const SEASON_SPAN = 2;

/**
 * The forecast at now + horizon from the history alone (the current level when neither
 * estimator is trustworthy), or undefined without enough recent history. `excluded(t)` is true for times inside a promotion-calendar window.
 */
export function forecastRate(
  history: RateHistory,
  now: number,
  horizonMs: number,
  s: Pick<ForecastSettings, 'trendWindowMs' | 'minTrendConsistency' | 'maxSeasonalError' | 'seasonsMs'>,
  excluded: (t: number) => boolean = () => false,
): Forecast | undefined {
  const res = history.resolutionMs;
  const current = history.slotOf(now);
  const span = Math.max(MIN_POINTS, Math.round(s.trendWindowMs / res));
  // Completed slots of the recent window (the current slot is still filling).
  const recent: { slot: number; x: number; y: number }[] = [];
  for (let slot = current - span; slot < current; slot++) {
    const y = history.get(slot);
    if (Number.isFinite(y)) recent.push({ slot, x: (slot + 0.5) * res, y });
  }
  if (recent.length < MIN_POINTS) return undefined;
  const candidates: Forecast[] = [];
  const fit = robustTrend(recent);
  // The rise must still go on at the end of the window: the slope is the lowest of the whole
  // window's, its second half's and its last third's, and the level comes from the last third
  // (a ramp that has reached its plateau is neither extrapolated nor taken for its line).
  const late = robustTrend(recent.slice(Math.floor(recent.length / 2)));
  const tail = robustTrend(recent.slice(-Math.max(3, Math.ceil(recent.length / 3))));
  const level = tail
    ? Math.max(0, tail.intercept + tail.slope * now)
    : median(recent.slice(-3).map(p => p.y));
  const slope = Math.min(fit?.slope ?? 0, late?.slope ?? 0, tail?.slope ?? 0);
  if (fit && slope > 0 && fit.tau >= s.minTrendConsistency)
    candidates.push({ rate: level + slope * horizonMs, level, horizonMs, basis: 'trend' });

  let best: { forecast: Forecast; error: number } | undefined;
  for (const period of s.seasonsMs) {
    const shift = Math.round(period / res);
    if (shift <= span) continue;
    const pairs: { y: number; then: number }[] = [];
    let touchesCalendar = false;
    for (const p of recent) {
      if (excluded(p.x - period)) touchesCalendar = true;
      const then = history.get(p.slot - shift);
      if (Number.isFinite(then) && then > 0) pairs.push({ y: p.y, then });
    }
    const ahead = history.slotOf(now + horizonMs) - shift;
    const around = (center: number): number[] => {
      const out: number[] = [];
      for (let i = center - SEASON_SPAN; i <= center + SEASON_SPAN; i++) {
        if (excluded((i + 0.5) * res)) touchesCalendar = true;
        const v = history.get(i);
        if (Number.isFinite(v)) out.push(v);
      }
      return out;
    };
    const futureThen = around(ahead);
    const nowThen = around(current - shift);
    if (touchesCalendar || pairs.length < MIN_POINTS || futureThen.length < 3 || nowThen.length < 3) continue;
    const k = median(pairs.map(p => p.y / p.then));
    const error = median(pairs.map(p => Math.abs(p.y - k * p.then) / Math.max(p.y, 1e-9)));
    const base = median(nowThen);
    if (!(error <= s.maxSeasonalError) || !(base > 0)) continue;
    const forecast: Forecast = {
      rate: level * (median(futureThen) / base),
      level,
      horizonMs,
      basis: 'season',
      seasonMs: period,
    };
    if (best === undefined || error < best.error) best = { forecast, error };
  }
  if (best) candidates.push(best.forecast);
  if (candidates.length === 0) return { rate: level, level, horizonMs, basis: 'level' };
  return candidates.reduce((a, b) => (b.rate > a.rate ? b : a));
}

/**
 * The planner's side of the forecast: records the job's input rate into its ring buffer (slot
 * means kept in memory until the slot completes, then one store write) and forecasts from it.
 * In distributed mode each replica averages the samples it saw in a slot; any of them may write it.
 */
export class RateForecaster {
  private readonly open = new Map<
    string,
    { slot: number; sum: number; n: number; pending0: number; t0: number; pending: number; t: number }
  >();
  private readonly capacity: number;

  constructor(
    readonly settings: ForecastSettings,
    private readonly store: Store,
  ) {
    this.capacity = Math.max(1, Math.ceil(settings.retentionMs / settings.resolutionMs));
  }

  private async load(job: JobRef, now: number): Promise<RateHistory> {
    const rec = await this.store.getRecord<unknown>('rate-history', job.jobKey, now);
    return (
      RateHistory.fromRecord(rec, this.settings.resolutionMs, this.capacity) ??
      new RateHistory(this.settings.resolutionMs, this.capacity)
    );
  }

  /**
   * Adds one sample: the records/s the job's sources read and the records waiting in front of
   * them at `now`. A slot's input rate is the mean read rate plus the backlog's growth over the
   * slot (from the last sample of the previous slot), so a source that is working off a backlog
   * after a restart does not count as more input.
   */
  async observe(job: JobRef, now: number, read: number, pending: number): Promise<void> {
    if (!this.settings.enabled || !Number.isFinite(read) || read < 0 || !Number.isFinite(pending)) return;
    const slot = Math.floor(now / this.settings.resolutionMs);
    const acc = this.open.get(job.jobKey);
    if (acc !== undefined && acc.slot === slot) {
      acc.sum += read;
      acc.n += 1;
      acc.pending = pending;
      acc.t = now;
      return;
    }
    const fresh = acc === undefined || now - acc.t > 2 * this.settings.resolutionMs;
    this.open.set(job.jobKey, {
      slot,
      sum: read,
      n: 1,
      pending0: fresh ? pending : acc.pending,
      t0: fresh ? now : acc.t,
      pending,
      t: now,
    });
    if (acc === undefined || acc.slot > slot) return;
    const growth = acc.t > acc.t0 ? (acc.pending - acc.pending0) / ((acc.t - acc.t0) / 1000) : 0;
    const history = await this.load(job, now);
    history.put(acc.slot, Math.max(0, acc.sum / acc.n + growth));
    await this.store.putRecord(
      'rate-history',
      job.jobKey,
      history.toRecord(),
      now + this.settings.retentionMs,
    );
  }

  /** The forecast at now + `aheadMs` (capped at the horizon), or undefined. */
  async forecast(
    job: JobRef,
    now: number,
    aheadMs: number,
    excluded?: (t: number) => boolean,
  ): Promise<Forecast | undefined> {
    if (!this.settings.enabled) return undefined;
    const history = await this.load(job, now);
    return forecastRate(history, now, Math.min(aheadMs, this.settings.horizonMs), this.settings, excluded);
  }
}
