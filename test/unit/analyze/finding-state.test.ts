import { describe, expect, it } from 'vitest';
import type { FindingRecord, Truth } from '../../../src/domain/index.js';
import { stepFinding, worthKeeping } from '../../../src/agents/analyze/finding-state.js';
import { testRule } from '../../support/rules.js';

const S = 1000;
const subject = { kind: 'vertex' as const, id: 'v1', name: 'Map' };

/** Feeds one truth per tick starting at t=0 and returns the record after each step. */
function run(truths: Truth[], tickMs: number, rule = testRule({ id: 'r', forMs: 0 })): FindingRecord[] {
  const out: FindingRecord[] = [];
  let rec: FindingRecord | undefined;
  truths.forEach((t, i) => {
    rec = stepFinding(rec, 'fp', rule, subject, t, i * tickMs, tickMs);
    out.push(rec);
  });
  return out;
}

describe('finding state machine', () => {
  it('fires only after `for` has elapsed with the conditions holding', () => {
    const rule = testRule({ id: 'r', forMs: 30 * S });
    const recs = run(['true', 'true', 'true', 'true'], 10 * S, rule);
    expect(recs.map(r => r.firing)).toEqual([false, false, false, true]);
    expect(recs[3]?.firstSeen).toBe(30 * S);
  });

  it('a false evaluation resets the pending timer', () => {
    const rule = testRule({ id: 'r', forMs: 20 * S });
    const recs = run(['true', 'true', 'false', 'true', 'true', 'true'], 10 * S, rule);
    expect(recs.map(r => r.firing)).toEqual([false, false, false, false, false, true]);
  });

  it('keeps firing for 2 ticks by default, then resolves', () => {
    const recs = run(['true', 'false', 'false', 'false'], 10 * S);
    expect(recs.map(r => r.firing)).toEqual([true, true, true, false]);
    expect(recs[3]?.lastSeen).toBe(20 * S);
  });

  it('honours an explicit keepFiringFor, counted from the first false evaluation', () => {
    const rule = testRule({ id: 'r', keepFiringForMs: 5 * S });
    const recs = run(['true', 'false', 'false'], 10 * S, rule);
    expect(recs.map(r => r.firing)).toEqual([true, true, false]);
  });

  it('unknown never resolves a firing finding', () => {
    const recs = run(['true', 'unknown', 'unknown', 'unknown', 'unknown'], 10 * S);
    expect(recs.every(r => r.firing)).toBe(true);
    expect(recs.slice(1).every(r => r.unknown)).toBe(true);
    expect(recs[4]?.lastSeen).toBe(0);
  });

  it('unknown clears the pending timer: nobody saw the conditions hold', () => {
    const rule = testRule({ id: 'r', forMs: 20 * S });
    const recs = run(['true', 'unknown', 'true', 'true'], 10 * S, rule);
    expect(recs.map(r => r.firing)).toEqual([false, false, false, false]);
  });

  it('unknown in the keep period restarts the false countdown', () => {
    const recs = run(['true', 'false', 'unknown', 'false', 'false', 'false'], 10 * S);
    expect(recs.map(r => r.firing)).toEqual([true, true, true, true, true, false]);
  });

  it('a finding that fires again after resolving starts a new episode', () => {
    const recs = run(['true', 'false', 'false', 'false', 'true'], 10 * S);
    expect(recs[4]?.firstSeen).toBe(40 * S);
  });

  it('records the last firing time per severity', () => {
    const recs = run(['true', 'true'], 10 * S, testRule({ id: 'r', severity: 'high' }));
    expect(recs[1]?.lastFiringAtBySeverity).toEqual({ high: 10 * S });
  });

  it('keeps records while pending, firing, or seen within the retention', () => {
    const [pending] = run(['true'], 10 * S, testRule({ id: 'r', forMs: 60 * S }));
    expect(pending && worthKeeping(pending, 0, 60 * S)).toBe(true);
    const recs = run(['true', 'false', 'false', 'false'], 10 * S);
    const resolved = recs[3] as FindingRecord;
    expect(worthKeeping(resolved, 30 * S, 60 * S)).toBe(true);
    expect(worthKeeping(resolved, 90 * S, 60 * S)).toBe(false);
    const [never] = run(['false'], 10 * S);
    expect(never && worthKeeping(never, 0, 60 * S)).toBe(false);
  });
});
