import {
  CATEGORY_RANK,
  SEVERITIES,
  SEVERITY_RANK,
  SEVERITY_WEIGHT,
  type Finding,
  type FindingRecord,
  type FirstAction,
  type Risk,
  type ScoreBreakdownEntry,
  type Severity,
} from '../../domain/index.js';

/** At most this many fingerprints of one rule count against one job's score. */
export const MAX_FINGERPRINTS_PER_RULE = 3;

export interface HealthScore {
  score: number;
  breakdown: ScoreBreakdownEntry[];
}

/** Compares strings for a total, locale-independent order. */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function byWeightThenFingerprint(a: ScoreBreakdownEntry, b: ScoreBreakdownEntry): number {
  return b.weight - a.weight || compareText(a.fingerprint, b.fingerprint);
}

type ScoringRecord = Pick<FindingRecord, 'fingerprint' | 'rule' | 'lastFiringAtBySeverity'>;

/** The highest severity at which the record fired inside [windowStart, now], if any. */
function severityInWindow(rec: ScoringRecord, windowStart: number): Severity | undefined {
  return SEVERITIES.find(sev => (rec.lastFiringAtBySeverity[sev] ?? -Infinity) >= windowStart);
}

/**
 * Health score v1: 100 − Σ weight over the distinct fingerprints that fired at least once in the
 * scoring window, each once, at the highest severity it had there (high 5, medium 3, low 1), at
 * most 3 fingerprints per rule; never below 0. Firing is recorded as clock time, so the score
 * does not depend on the tick length.
 */
export function healthScore(records: Iterable<ScoringRecord>, now: number, windowMs: number): HealthScore {
  const windowStart = now - windowMs;
  const byRule = new Map<string, ScoreBreakdownEntry[]>();
  for (const rec of records) {
    const severity = severityInWindow(rec, windowStart);
    if (severity === undefined) continue;
    let list = byRule.get(rec.rule);
    if (!list) byRule.set(rec.rule, (list = []));
    list.push({
      fingerprint: rec.fingerprint,
      rule: rec.rule,
      severity,
      weight: SEVERITY_WEIGHT[severity],
      counted: true,
    });
  }
  const breakdown: ScoreBreakdownEntry[] = [];
  for (const list of byRule.values()) {
    list.sort(byWeightThenFingerprint);
    for (const entry of list.slice(MAX_FINGERPRINTS_PER_RULE)) entry.counted = false;
    breakdown.push(...list);
  }
  breakdown.sort((a, b) => Number(b.counted) - Number(a.counted) || byWeightThenFingerprint(a, b));
  const deducted = breakdown.reduce((sum, e) => sum + (e.counted ? e.weight : 0), 0);
  return { score: Math.max(0, 100 - deducted), breakdown };
}

/**
 * Risk: high if a high finding is firing or the score is below 60; medium if a medium finding is
 * firing or the score is 60–80; low otherwise (above 80 is green).
 */
export function riskOf(score: number, firing: Iterable<Pick<Finding, 'severity'>>): Risk {
  const severities = new Set<Severity>();
  for (const f of firing) severities.add(f.severity);
  if (severities.has('high') || score < 60) return 'high';
  if (severities.has('medium') || score <= 80) return 'medium';
  return 'low';
}

/**
 * Sort order of firing findings for "what to do first": severity, diagnosis before symptom,
 * category order, firstSeen, rule id (then subject id, for a total order).
 */
export function compareForFirstAction(a: Finding, b: Finding): number {
  return (
    SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
    Number(b.diagnosis) - Number(a.diagnosis) ||
    CATEGORY_RANK[a.category] - CATEGORY_RANK[b.category] ||
    a.firstSeen - b.firstSeen ||
    compareText(a.rule, b.rule) ||
    compareText(a.subject.id, b.subject.id)
  );
}

/** The action of the firing finding that sorts first, or null when nothing fires. */
export function firstAction(findings: readonly Finding[]): FirstAction | null {
  const [best] = findings.filter(f => f.state === 'firing').sort(compareForFirstAction);
  if (!best) return null;
  return {
    kind: best.action.kind,
    text: best.action.text,
    fingerprint: best.fingerprint,
    rule: best.rule,
    severity: best.severity,
    subject: { kind: best.subject.kind, id: best.subject.id, name: best.subject.name },
  };
}
