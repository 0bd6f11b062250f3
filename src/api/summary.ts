import type { Category, Finding, HealthReport } from '../domain/index.js';
import type { StoredRecord } from '../state/store.js';
import type { RiskFilter } from './query.js';

export interface FleetSummary {
  jobs: number;
  /** `unobservable`: risk null (data missing or stale). */
  byRisk: Record<RiskFilter, number>;
  /** Distinct firing findings per category (a shared TaskManager finding counts once). */
  byCategory: Partial<Record<Category, number>>;
  byDataState: Record<HealthReport['dataState'], number>;
  /** Jobs whose report says mode `paused`. */
  pausedJobs: number;
  /** Pauses in force, by scope (store `pause` records: `fleet`, `cluster:<label>`, `job:<jobKey>`). */
  pauses: { fleet: boolean; clusters: string[]; jobs: string[] };
  clusterFindings: readonly Finding[];
}

export function summarizeFleet(
  reports: readonly HealthReport[],
  clusterFindings: readonly Finding[],
  pauseRecords: readonly StoredRecord[],
): FleetSummary {
  const byRisk: Record<RiskFilter, number> = { high: 0, medium: 0, low: 0, unobservable: 0 };
  const byDataState: Record<HealthReport['dataState'], number> = { ok: 0, partial: 0, stale: 0 };
  const fingerprintsByCategory = new Map<Category, Set<string>>();
  let pausedJobs = 0;
  for (const r of reports) {
    byRisk[r.risk ?? 'unobservable'] += 1;
    byDataState[r.dataState] += 1;
    if (r.mode === 'paused') pausedJobs += 1;
    for (const f of r.findings) {
      if (f.state !== 'firing') continue;
      let set = fingerprintsByCategory.get(f.category);
      if (!set) fingerprintsByCategory.set(f.category, (set = new Set()));
      set.add(f.fingerprint);
    }
  }
  const byCategory: Partial<Record<Category, number>> = {};
  for (const [category, set] of fingerprintsByCategory) byCategory[category] = set.size;
  const keys = pauseRecords.map(p => p.key);
  return {
    jobs: reports.length,
    byRisk,
    byCategory,
    byDataState,
    pausedJobs,
    pauses: {
      fleet: keys.includes('fleet'),
      clusters: keys.filter(k => k.startsWith('cluster:')).map(k => k.slice('cluster:'.length)),
      jobs: keys.filter(k => k.startsWith('job:')).map(k => k.slice('job:'.length)),
    },
    clusterFindings,
  };
}
