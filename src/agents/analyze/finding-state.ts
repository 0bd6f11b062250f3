import type { FindingRecord, Rule, Subject, Truth } from '../../domain/index.js';

/**
 * One rule on one subject moves through: inactive → pending (conditions hold, `for` not yet
 * elapsed) → firing → (conditions false for `keepFiringFor`) → resolved. An unknown evaluation
 * (an input absent or stale) never resolves a firing finding and never advances a pending one: it
 * clears the pending timer, because nobody saw the conditions hold meanwhile.
 *
 * Everything is measured in clock time, never in ticks, so the same incident gives the same
 * findings at a 1 s and a 60 s tick. The default `keepFiringFor` is two ticks.
 */
export function stepFinding(
  prev: FindingRecord | undefined,
  fingerprint: string,
  rule: Rule,
  subject: Subject,
  truth: Truth,
  now: number,
  tickMs: number,
): FindingRecord {
  const rec: FindingRecord = prev
    ? { ...prev, subject, lastFiringAtBySeverity: { ...prev.lastFiringAtBySeverity } }
    : {
        fingerprint,
        rule: rule.id,
        subject,
        falseEvaluations: 0,
        firing: false,
        unknown: false,
        lastEvaluatedAt: now,
        lastFiringAtBySeverity: {},
      };
  rec.lastEvaluatedAt = now;

  if (truth === 'unknown') {
    rec.unknown = true;
    delete rec.pendingSince;
    delete rec.falseSince;
    rec.falseEvaluations = 0;
    return rec;
  }
  rec.unknown = false;

  if (truth === 'true') {
    delete rec.falseSince;
    rec.falseEvaluations = 0;
    rec.pendingSince ??= now;
    if (!rec.firing && now - rec.pendingSince >= rule.forMs) {
      rec.firing = true;
      rec.firstSeen = now;
    }
  } else {
    delete rec.pendingSince;
    if (rec.firing) {
      rec.falseSince ??= now;
      rec.falseEvaluations += 1;
      const keepMs = rule.keepFiringForMs ?? 2 * tickMs;
      if (now - rec.falseSince >= keepMs) {
        rec.firing = false;
        delete rec.falseSince;
        rec.falseEvaluations = 0;
      }
    }
  }

  if (rec.firing) {
    rec.lastSeen = now;
    rec.lastFiringAtBySeverity[rule.severity] = now;
  }
  return rec;
}

/** Whether the record should be kept: it fired inside the retention period, or is pending. */
export function worthKeeping(rec: FindingRecord, now: number, retentionMs: number): boolean {
  if (rec.firing || rec.pendingSince !== undefined) return true;
  return rec.lastSeen !== undefined && now - rec.lastSeen <= retentionMs;
}
