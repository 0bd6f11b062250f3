import type { DataState, Finding } from '../../domain/index.js';
import { fingerprint } from '../../domain/index.js';

export const CANNOT_OBSERVE_RULE = 'autopilot-cannot-observe';

export interface ObservedJob {
  sourceId: string;
  dataState: DataState;
}

/**
 * When every job behind one source is unobservable, the source is down for us, not the jobs:
 * one cluster-scope availability finding "cannot observe <source>" replaces a finding per job.
 * Cluster subjects are shared, so the fingerprint is the same for every job: alerted once.
 */
export function cannotObserveFindings(
  jobs: Iterable<ObservedJob>,
  now: number,
  firstSeen: ReadonlyMap<string, number> = new Map(),
): Finding[] {
  const bySource = new Map<string, { total: number; stale: number }>();
  for (const j of jobs) {
    const s = bySource.get(j.sourceId) ?? { total: 0, stale: 0 };
    s.total += 1;
    if (j.dataState === 'stale') s.stale += 1;
    bySource.set(j.sourceId, s);
  }
  const out: Finding[] = [];
  for (const [source, s] of bySource) {
    if (s.total === 0 || s.stale < s.total) continue;
    const subject = { kind: 'cluster' as const, id: source, name: source };
    out.push({
      fingerprint: fingerprint('*', CANNOT_OBSERVE_RULE, subject),
      rule: CANNOT_OBSERVE_RULE,
      ruleVersion: 1,
      category: 'availability',
      severity: 'high',
      diagnosis: true,
      subject,
      title: `cannot observe ${source}`,
      evidence: { unobservableJobs: s.stale },
      action: {
        kind: 'advice',
        text: `The autopilot cannot read ${source} (${s.stale} jobs without data): check that the JobManager / Prometheus is up and reachable from the autopilot, and its credentials.`,
      },
      state: 'firing',
      firstSeen: firstSeen.get(source) ?? now,
      lastSeen: now,
    });
  }
  return out;
}
