import { isLongMetric, type MetricMap } from '../metric-store.js';

/** Java's Double.toString: always a decimal point, scientific from 1e7 and below 1e-3. */
export function javaDouble(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (!Number.isFinite(x)) return x > 0 ? 'Infinity' : '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const abs = Math.abs(x);
  if (abs >= 1e-3 && abs < 1e7) {
    const s = String(x);
    return s.includes('.') ? s : `${s}.0`;
  }
  const [mant = '0', exp = '0'] = x.toExponential().split('e');
  return `${mant.includes('.') ? mant : `${mant}.0`}E${Number(exp)}`;
}

/** A metric value as the non-aggregated endpoints serve it: a string (String.valueOf). */
export function metricString(id: string, value: number | boolean): string {
  if (typeof value === 'boolean') return String(value);
  if (value <= -9.2e18) return '-9223372036854775808';
  if (value >= 9.2e18) return '9223372036854775807';
  return isLongMetric(id) ? String(Math.round(value)) : javaDouble(value);
}

export const AGGREGATIONS = ['min', 'max', 'avg', 'sum', 'skew'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/**
 * Aggregates one metric over components the way Flink's AggregatingMetricsHandler does: numeric
 * values only; `skew` (1.20+) is the mean absolute deviation relative to the mean, in percent.
 */
export function aggregate(values: readonly number[], aggs: readonly Aggregation[]): Record<string, number> {
  const out: Record<string, number> = {};
  if (values.length === 0) return out;
  const sum = values.reduce((a, b) => a + b, 0);
  const avg = sum / values.length;
  for (const a of aggs) {
    if (a === 'min') out.min = Math.min(...values);
    if (a === 'max') out.max = Math.max(...values);
    if (a === 'avg') out.avg = avg;
    if (a === 'sum') out.sum = sum;
    if (a === 'skew')
      out.skew =
        avg === 0
          ? 0
          : (values.reduce((s, v) => s + Math.abs(v - avg), 0) / values.length / Math.abs(avg)) * 100;
  }
  return out;
}

/** `get=a,b` → ids; absent → undefined (list mode). */
export function requestedIds(query: URLSearchParams): string[] | undefined {
  const get = query.get('get');
  if (get === null) return undefined;
  return get
    .split(',')
    .map(s => s.trim())
    .filter(Boolean);
}

/** Bare array of `{id}` (list mode) or `{id,value}` for the requested ids that exist. */
export function metricCollection(map: MetricMap | undefined, query: URLSearchParams): unknown[] {
  const ids = requestedIds(query);
  if (map === undefined) return [];
  if (ids === undefined) return [...map.keys()].map(id => ({ id }));
  const out: unknown[] = [];
  for (const id of ids) {
    const v = map.get(id);
    if (v !== undefined) out.push({ id, value: metricString(id, v) });
  }
  return out;
}

/** `1,3,5-9` → indices. */
export function parseIndexFilter(text: string | null, count: number): number[] {
  if (text === null || text.trim() === '') return Array.from({ length: count }, (_, i) => i);
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(s => Number(s.trim()));
    if (a === undefined || !Number.isInteger(a)) continue;
    const end = b !== undefined && Number.isInteger(b) ? b : a;
    for (let i = a; i <= end && i < count; i++) if (i >= 0) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}
