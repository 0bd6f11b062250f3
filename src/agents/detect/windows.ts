import type { WindowName } from '../../domain/index.js';

/**
 * Value-only history of one series per named window, as a short ring of time buckets (10 per
 * window), so a job's history stays a few kilobytes whatever the tick: a 1 s and a 60 s tick keep
 * the same number of buckets.
 */
export const BUCKETS_PER_WINDOW = 10;

export interface Bucket {
  /** Bucket start (aligned to the bucket length). */
  t: number;
  sum: number;
  n: number;
  first: number;
  firstAt: number;
  last: number;
  lastAt: number;
}

export type WindowLengths = Readonly<Record<WindowName, number>>;

/** series key → window → buckets, oldest first. */
export type SeriesHistory = Record<string, Partial<Record<WindowName, Bucket[]>>>;

export function recordSample(
  history: SeriesHistory,
  key: string,
  windows: readonly WindowName[],
  lengths: WindowLengths,
  at: number,
  value: number,
): void {
  const series = (history[key] ??= {});
  for (const w of windows) {
    const len = lengths[w] / BUCKETS_PER_WINDOW;
    const ring = (series[w] ??= []);
    const last = ring[ring.length - 1];
    if (last && at < last.lastAt) continue; // out of order or replayed: samples are keyed by source time
    if (last && at < last.t + len) {
      if (at === last.lastAt) continue;
      last.sum += value;
      last.n += 1;
      last.last = value;
      last.lastAt = at;
    } else {
      ring.push({
        t: Math.floor(at / len) * len,
        sum: value,
        n: 1,
        first: value,
        firstAt: at,
        last: value,
        lastAt: at,
      });
    }
    const oldest = at - lengths[w] - len;
    while (ring.length > 0 && (ring[0]?.t ?? at) < oldest) ring.shift();
  }
}

function inWindow(
  history: SeriesHistory,
  key: string,
  w: WindowName,
  lengths: WindowLengths,
  now: number,
): Bucket[] {
  const ring = history[key]?.[w];
  if (!ring) return [];
  const start = now - lengths[w];
  return ring.filter(b => b.lastAt >= start);
}

export function windowAvg(
  history: SeriesHistory,
  key: string,
  w: WindowName,
  lengths: WindowLengths,
  now: number,
): number | undefined {
  let sum = 0;
  let n = 0;
  for (const b of inWindow(history, key, w, lengths, now)) {
    sum += b.sum;
    n += b.n;
  }
  return n === 0 ? undefined : sum / n;
}

/**
 * Increase of a counter over the window (first sample in the window to the latest). A drop is a
 * reset: the counter restarted from zero, so the new value is all increase.
 */
export function windowIncrease(
  history: SeriesHistory,
  key: string,
  w: WindowName,
  lengths: WindowLengths,
  now: number,
): number | undefined {
  const buckets = inWindow(history, key, w, lengths, now);
  if (buckets.length === 0) return undefined;
  let total = 0;
  let prev: number | undefined;
  for (const b of buckets) {
    for (const v of [b.first, b.last]) {
      if (prev !== undefined) total += v >= prev ? v - prev : v;
      prev = v;
    }
  }
  return total;
}

/** Slope per second between the first and the last sample in the window. */
export function windowSlope(
  history: SeriesHistory,
  key: string,
  w: WindowName,
  lengths: WindowLengths,
  now: number,
): number | undefined {
  const ends = windowEnds(history, key, w, lengths, now);
  return ends === undefined || ends.spanMs <= 0 ? undefined : (ends.last - ends.first) / (ends.spanMs / 1000);
}

/** First and last value in the window, for relative growth. */
export function windowEnds(
  history: SeriesHistory,
  key: string,
  w: WindowName,
  lengths: WindowLengths,
  now: number,
): { first: number; last: number; spanMs: number } | undefined {
  const buckets = inWindow(history, key, w, lengths, now);
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  if (!first || !last) return undefined;
  return { first: first.first, last: last.last, spanMs: last.lastAt - first.firstAt };
}
