import { describe, expect, it } from 'vitest';
import type { Finding, FindingRecord, Severity } from '../../../src/domain/index.js';
import {
  compareForFirstAction,
  firstAction,
  healthScore,
  MAX_FINGERPRINTS_PER_RULE,
  riskOf,
} from '../../../src/agents/select/health-score.js';

const MIN = 60_000;
const NOW = Date.UTC(2026, 10, 11, 0, 30);
const WINDOW = 30 * MIN;

/** A record of `rule` on `subject` that was last firing at `lastFiringAt` with `severity`. */
function rec(
  rule: string,
  subject: string,
  severity: Severity,
  lastFiringAt: number,
): Pick<FindingRecord, 'fingerprint' | 'rule' | 'lastFiringAtBySeverity'> {
  return {
    fingerprint: `job|${rule}|vertex|${subject}`,
    rule,
    lastFiringAtBySeverity: { [severity]: lastFiringAt },
  };
}

function finding(p: Partial<Finding> & Pick<Finding, 'rule' | 'severity'>): Finding {
  return {
    fingerprint: `job|${p.rule}|vertex|${p.subject?.id ?? 'v'}`,
    ruleVersion: 1,
    category: 'backpressure',
    diagnosis: false,
    subject: { kind: 'vertex', id: 'v', name: 'Map' },
    title: p.rule,
    evidence: {},
    action: { kind: 'advice', text: `do ${p.rule}` },
    state: 'firing',
    firstSeen: NOW - MIN,
    lastSeen: NOW,
    ...p,
  };
}

describe('health score v1 (ARCHITECTURE §3)', () => {
  it('5 distinct low rules firing → 95, low', () => {
    const records = [1, 2, 3, 4, 5].map(i => rec(`low-${i}`, 'v', 'low', NOW));
    const { score } = healthScore(records, NOW, WINDOW);
    expect(score).toBe(95);
    expect(
      riskOf(
        score,
        records.map(() => ({ severity: 'low' as const })),
      ),
    ).toBe('low');
  });

  it('one high that fired 20 min ago and resolved → 95, low', () => {
    const { score } = healthScore([rec('high-1', 'v', 'high', NOW - 20 * MIN)], NOW, WINDOW);
    expect(score).toBe(95);
    expect(riskOf(score, [])).toBe('low');
  });

  it('one high firing now → 95, high', () => {
    const { score } = healthScore([rec('high-1', 'v', 'high', NOW)], NOW, WINDOW);
    expect(score).toBe(95);
    expect(riskOf(score, [{ severity: 'high' }])).toBe('high');
  });

  it('2 high (resolved) + 5 medium + 3 low firing → 72, medium', () => {
    const records = [
      rec('h1', 'v', 'high', NOW - 10 * MIN),
      rec('h2', 'v', 'high', NOW - 25 * MIN),
      ...[1, 2, 3, 4, 5].map(i => rec(`m${i}`, 'v', 'medium', NOW)),
      ...[1, 2, 3].map(i => rec(`l${i}`, 'v', 'low', NOW)),
    ];
    const { score } = healthScore(records, NOW, WINDOW);
    expect(score).toBe(72);
    const firing: { severity: Severity }[] = [
      ...Array.from({ length: 5 }, () => ({ severity: 'medium' as const })),
      ...Array.from({ length: 3 }, () => ({ severity: 'low' as const })),
    ];
    expect(riskOf(score, firing)).toBe('medium');
  });

  it('6 high + 8 medium in the window → 46, high', () => {
    const records = [
      ...[1, 2, 3, 4, 5, 6].map(i => rec(`h${i}`, 'v', 'high', NOW - i * MIN)),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map(i => rec(`m${i}`, 'v', 'medium', NOW - i * MIN)),
    ];
    const { score } = healthScore(records, NOW, WINDOW);
    expect(score).toBe(46);
    expect(riskOf(score, [])).toBe('high');
  });

  it('one medium rule firing on 6 vertices → 91 (3 fingerprints per rule count)', () => {
    const records = [1, 2, 3, 4, 5, 6].map(i => rec('busy', `v${i}`, 'medium', NOW));
    const { score, breakdown } = healthScore(records, NOW, WINDOW);
    expect(MAX_FINGERPRINTS_PER_RULE).toBe(3);
    expect(score).toBe(91);
    expect(breakdown.filter(b => b.counted)).toHaveLength(3);
    expect(breakdown.filter(b => !b.counted)).toHaveLength(3);
    expect(riskOf(score, [{ severity: 'medium' }])).toBe('medium');
  });

  it('counts each fingerprint once at the highest severity it had in the window', () => {
    const r = { fingerprint: 'f', rule: 'esc', lastFiringAtBySeverity: { medium: NOW, high: NOW - 5 * MIN } };
    expect(healthScore([r], NOW, WINDOW).score).toBe(95);
    const old = {
      fingerprint: 'f',
      rule: 'esc',
      lastFiringAtBySeverity: { medium: NOW, high: NOW - 31 * MIN },
    };
    expect(healthScore([old], NOW, WINDOW).score).toBe(97);
  });

  it('the cap keeps the heaviest fingerprints of a rule', () => {
    const records = [
      rec('r', 'a', 'low', NOW),
      rec('r', 'b', 'low', NOW),
      rec('r', 'c', 'low', NOW),
      { fingerprint: 'job|r|vertex|d', rule: 'r', lastFiringAtBySeverity: { high: NOW } },
    ];
    expect(healthScore(records, NOW, WINDOW).score).toBe(100 - 5 - 1 - 1);
  });

  it('a fingerprint that fired exactly at the window start counts; just before does not', () => {
    expect(healthScore([rec('x', 'v', 'low', NOW - WINDOW)], NOW, WINDOW).score).toBe(99);
    expect(healthScore([rec('x', 'v', 'low', NOW - WINDOW - 1)], NOW, WINDOW).score).toBe(100);
  });

  it('breaks ties inside the cap by fingerprint and lists the breakdown counted first, heaviest first', () => {
    const records = [
      rec('r', 'd', 'low', NOW),
      rec('r', 'b', 'low', NOW),
      rec('r', 'c', 'low', NOW),
      rec('r', 'a', 'low', NOW),
      rec('s', 'z', 'high', NOW),
      rec('t', 'y', 'medium', NOW),
    ];
    const { score, breakdown } = healthScore(records, NOW, WINDOW);
    expect(score).toBe(100 - 5 - 3 - 3);
    expect(breakdown.map(b => [b.fingerprint.split('|')[3], b.weight, b.counted])).toEqual([
      ['z', 5, true],
      ['y', 3, true],
      ['a', 1, true],
      ['b', 1, true],
      ['c', 1, true],
      ['d', 1, false],
    ]);
  });

  it('an empty window scores 100 with an empty breakdown', () => {
    expect(healthScore([], NOW, WINDOW)).toEqual({ score: 100, breakdown: [] });
    expect(healthScore([{ fingerprint: 'f', rule: 'r', lastFiringAtBySeverity: {} }], NOW, WINDOW)).toEqual({
      score: 100,
      breakdown: [],
    });
  });

  it('never goes below 0', () => {
    const records = Array.from({ length: 30 }, (_, i) => rec(`h${i}`, 'v', 'high', NOW));
    expect(healthScore(records, NOW, WINDOW).score).toBe(0);
  });

  it.each([
    [81, [], 'low'],
    [80, [], 'medium'],
    [60, [], 'medium'],
    [59, [], 'high'],
    [99, ['medium'], 'medium'],
    [99, ['low', 'high'], 'high'],
    [100, ['low'], 'low'],
    [100, ['high', 'low'], 'high'],
    [100, ['low', 'medium'], 'medium'],
    [100, ['medium', 'low'], 'medium'],
    [100, ['medium', 'high'], 'high'],
  ] as const)('risk bands: score %i with firing %j → %s', (score, sev, risk) => {
    expect(
      riskOf(
        score,
        sev.map(severity => ({ severity })),
      ),
    ).toBe(risk);
  });
});

describe('first action', () => {
  it('is null when nothing fires', () => {
    expect(firstAction([finding({ rule: 'a', severity: 'high', state: 'resolved' })])).toBeNull();
    expect(firstAction([])).toBeNull();
  });

  it('orders by severity, diagnosis, category, firstSeen, rule id', () => {
    const lowConnector = finding({ rule: 'a', severity: 'low', category: 'connector' });
    const medSymptom = finding({ rule: 'b', severity: 'medium', category: 'availability' });
    const medDiagnosis = finding({ rule: 'c', severity: 'medium', category: 'config', diagnosis: true });
    expect(firstAction([lowConnector, medSymptom, medDiagnosis])?.rule).toBe('c');

    const cp = finding({ rule: 'd', severity: 'high', category: 'checkpoint' });
    const avail = finding({ rule: 'e', severity: 'high', category: 'availability' });
    expect(firstAction([cp, avail])?.rule).toBe('e');

    const older = finding({ rule: 'z', severity: 'high', category: 'gc', firstSeen: NOW - 10 * MIN });
    const newer = finding({ rule: 'y', severity: 'high', category: 'gc', firstSeen: NOW - MIN });
    expect(firstAction([newer, older])?.rule).toBe('z');

    const a = finding({ rule: 'a', severity: 'high', category: 'gc' });
    const b = finding({ rule: 'b', severity: 'high', category: 'gc' });
    expect(firstAction([b, a])?.rule).toBe('a');
    expect(compareForFirstAction(a, a)).toBe(0);
  });

  it('picks the best firing finding wherever it stands in the list', () => {
    const best = finding({ rule: 'best', severity: 'high', category: 'availability' });
    const others = [finding({ rule: 'x', severity: 'medium' }), finding({ rule: 'y', severity: 'low' })];
    expect(firstAction([best, ...others])?.rule).toBe('best');
    expect(firstAction([...others, best])?.rule).toBe('best');
    expect(firstAction([others[0] as Finding, best, others[1] as Finding])?.rule).toBe('best');
  });

  it('compares symmetrically at every level, down to rule id and subject id', () => {
    const base = finding({ rule: 'a', severity: 'medium', category: 'gc' });
    const variants: Finding[] = [
      finding({ rule: 'a', severity: 'low', category: 'gc' }),
      finding({
        rule: 'a',
        severity: 'medium',
        category: 'gc',
        diagnosis: false,
        firstSeen: base.firstSeen + 1,
      }),
      finding({ rule: 'a', severity: 'medium', category: 'scaling' }),
      finding({ rule: 'b', severity: 'medium', category: 'gc' }),
      finding({
        rule: 'a',
        severity: 'medium',
        category: 'gc',
        subject: { kind: 'vertex', id: 'w', name: 'W' },
      }),
    ];
    for (const v of variants) {
      expect(compareForFirstAction(base, v)).toBeLessThan(0);
      expect(compareForFirstAction(v, base)).toBeGreaterThan(0);
    }
    const diag = finding({ rule: 'z', severity: 'medium', category: 'scaling', diagnosis: true });
    expect(compareForFirstAction(diag, base)).toBeLessThan(0);
    expect(compareForFirstAction(base, diag)).toBeGreaterThan(0);
  });

  it('carries the action text and subject', () => {
    const f = finding({
      rule: 'busy',
      severity: 'medium',
      action: { kind: 'advice', text: 'raise parallelism of Map to 12' },
    });
    expect(firstAction([f])).toEqual({
      kind: 'advice',
      text: 'raise parallelism of Map to 12',
      fingerprint: f.fingerprint,
      rule: 'busy',
      severity: 'medium',
      subject: { kind: 'vertex', id: 'v', name: 'Map' },
    });
  });
});
