import { z } from 'zod';
import type { HealthReport, Risk } from '../domain/index.js';
import { badRequest } from './errors.js';
import type { JobsQuery, RiskFilter } from './query.js';

/**
 * `GET /api/v1/jobs`: filter, sort worst first, and page with a keyset cursor. The cursor holds
 * the sort key of the last item returned, not an offset, so a job that changes risk between two
 * pages moves without making the next page skip or repeat the others.
 */

const RISK_RANK: Readonly<Record<Risk, number>> = { high: 0, medium: 1, low: 2 };
/** Unobservable (risk null) after every known risk. */
const UNOBSERVABLE_RANK = 3;

interface SortKey {
  r: number;
  /** Score; null (stale) sorts after every score. */
  s: number | null;
  id: string;
}

function sortKey(report: HealthReport): SortKey {
  return {
    r: report.risk === null ? UNOBSERVABLE_RANK : RISK_RANK[report.risk],
    s: report.score,
    id: report.id,
  };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a.r !== b.r) return a.r - b.r;
  if (a.s !== b.s) {
    if (a.s === null) return 1;
    if (b.s === null) return -1;
    return a.s - b.s;
  }
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Worst first: risk high > medium > low > unobservable, then score ascending, then jobKey. */
export function compareReports(a: HealthReport, b: HealthReport): number {
  return compareKeys(sortKey(a), sortKey(b));
}

const CursorSchema = z.strictObject({
  r: z.int().min(0).max(UNOBSERVABLE_RANK),
  s: z.number().nullable(),
  id: z.string(),
});

export function encodeCursor(key: SortKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): SortKey {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('invalid query: cursor: not a cursor returned by this API');
  }
  const r = CursorSchema.safeParse(raw);
  if (!r.success) throw badRequest('invalid query: cursor: not a cursor returned by this API');
  return r.data;
}

function riskFilterOf(report: HealthReport): RiskFilter {
  return report.risk ?? 'unobservable';
}

export function matches(report: HealthReport, q: JobsQuery): boolean {
  if (q.risk && !q.risk.includes(riskFilterOf(report))) return false;
  if (q.cluster && !q.cluster.includes(report.cluster)) return false;
  if (q.namespace && (report.namespace === undefined || !q.namespace.includes(report.namespace)))
    return false;
  if (q.label && !q.label.every(l => report.labels[l.key] === l.value)) return false;
  if (q.category || q.rule) {
    const firing = report.findings.filter(f => f.state === 'firing');
    if (q.category && !firing.some(f => q.category?.includes(f.category))) return false;
    if (q.rule && !firing.some(f => q.rule?.includes(f.rule))) return false;
  }
  return true;
}

export interface JobsPage {
  page: HealthReport[];
  /** Jobs matching the filters, over all pages. */
  total: number;
  /** Pass as `cursor` for the next page; null on the last page. */
  nextCursor: string | null;
}

/** One page of matching reports, worst first. */
export function listJobs(reports: readonly HealthReport[], q: JobsQuery): JobsPage {
  const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor);
  const selected = reports.filter(r => matches(r, q)).sort(compareReports);
  const start = after === undefined ? 0 : firstAfter(selected, after);
  const page = selected.slice(start, start + q.limit);
  const last = page.at(-1);
  const more = start + page.length < selected.length;
  return {
    page,
    total: selected.length,
    nextCursor: more && last ? encodeCursor(sortKey(last)) : null,
  };
}

/** Index of the first report sorting strictly after `key` (binary search on the sorted list). */
function firstAfter(sorted: readonly HealthReport[], key: SortKey): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const r = sorted[mid];
    if (r !== undefined && compareKeys(sortKey(r), key) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
