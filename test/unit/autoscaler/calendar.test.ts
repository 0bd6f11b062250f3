import { describe, expect, it } from 'vitest';
import { PromotionCalendar } from '../../../src/agents/select/autoscaler/calendar.js';
import { ReactivePlanner } from '../../../src/agents/select/autoscaler/planner.js';
import { CalendarWindowSchema } from '../../../src/config/calendar-schema.js';
import { compileConfig } from '../../../src/config/load.js';
import type { Snapshot } from '../../../src/domain/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { jobRef, MIN, pipelineSnapshot, planContext, S, settings } from './fixtures.js';

const START = Date.parse('2026-11-10T16:00:00Z'); // Double 11, midnight in Shanghai
const END = START + 60 * MIN;
const job = jobRef('gmv');

function calendar(extra: Record<string, unknown> = {}, stagger = 0): PromotionCalendar {
  const window = CalendarWindowSchema.parse({
    id: 'double-11',
    selector: { name: 'gmv' },
    timezone: 'Asia/Shanghai',
    start: '2026-11-11T00:00',
    end: '2026-11-11T01:00',
    floor: { Aggregate: 12 },
    ...extra,
  });
  return new PromotionCalendar([window], { marginMs: 5 * MIN, staggerMs: stagger, releaseMs: 30 * MIN });
}

/** source (p=2) → Aggregate (p=aggP), both well within band: nothing reactive to do. */
function snapshot(
  at: number,
  aggP: number,
  opts: { busy?: number; runningSince?: number; free?: number } = {},
): Snapshot {
  return pipelineSnapshot(job, {
    at,
    rate: 1000,
    downstream: { id: 'agg', name: 'Aggregate', parallelism: aggP, busy: opts.busy ?? 0.5 },
    runningSince: opts.runningSince ?? at - 30 * MIN,
    ...(opts.free === undefined ? {} : { slotsAvailable: opts.free }),
  });
}

const ctx = (s: Snapshot) => planContext(s);

describe('promotion calendar', () => {
  it('pre-scales to the floor restart time + margin before the peak, not earlier', async () => {
    const planner = new ReactivePlanner(settings, new MemoryStore(), undefined, calendar());
    // lead auto = 1 min default restart + 5 min margin: active from 15:54Z.
    expect(await planner.plan(ctx(snapshot(START - 7 * MIN, 2)))).toEqual([]);
    expect(planner.lastSkip.get(job.jobKey)).toBe('within-band');
    const [a] = await planner.plan(ctx(snapshot(START - 6 * MIN, 2)));
    expect(a).toMatchObject({ origin: 'calendar', target: { src: 2, agg: 12 } });
    expect(a?.reason).toBe(
      'calendar double-11: pre-scale before the peak at 2026-11-10T16:00:00.000Z: Aggregate 2 → 12',
    );
  });

  it('holds the floor through the peak and the release: no scale-down below it, reactive above it', async () => {
    const store = new MemoryStore();
    const planner = new ReactivePlanner({ ...settings, scaleDownDelayMs: 0 }, store, undefined, calendar());
    // Idle at 12 (5 % busy): the reactive planner would shrink it, the floor holds it.
    expect(await planner.plan(ctx(snapshot(START + 10 * MIN, 12, { busy: 0.05 })))).toEqual([]);
    expect(planner.lastSkip.get(job.jobKey)).toBe('held-by-floor');
    expect(await planner.plan(ctx(snapshot(END + 29 * MIN, 12, { busy: 0.05 })))).toEqual([]);
    // Saturated at 12: the reactive planner goes above the floor.
    const [up] = await planner.plan(ctx(snapshot(START + 20 * MIN, 12, { busy: 0.98 })));
    expect(up?.origin).toBe('reactive');
    expect(up?.target.agg).toBeGreaterThan(12);
    // After the release the floor is gone: the reactive scale-down goes through.
    const [down] = await planner.plan(ctx(snapshot(END + 31 * MIN, 12, { busy: 0.05 })));
    expect(down?.origin).toBe('reactive');
    expect(down?.target.agg).toBeLessThan(12);
  });

  it('a daemon that was down at the start applies the floor on its first tick, also past a cooldown', async () => {
    const store = new MemoryStore();
    await store.putRecord('cooldown', job.jobKey, { actionId: 'x', at: START - 2 * MIN }, START + 10 * MIN);
    const planner = new ReactivePlanner(settings, store, undefined, calendar());
    const [a] = await planner.plan(ctx(snapshot(START + 15 * MIN, 2)));
    expect(a).toMatchObject({ origin: 'calendar', target: { agg: 12 } });
    expect(a?.reason).toMatch(/^calendar double-11: floor: Aggregate 2 → 12/);
  });

  it('lead auto follows the measured restart time of the job’s last rescales', async () => {
    const store = new MemoryStore();
    const planner = new ReactivePlanner(settings, store, undefined, calendar());
    // A rescale written at T, the job RUNNING again 4 minutes later: restart time 4 min.
    const t = START - 3 * 60 * MIN;
    await store.putRecord('cooldown', job.jobKey, { actionId: 'a1', at: t }, t + 5 * MIN);
    await planner.plan(ctx(snapshot(t + 5 * MIN - 1, 2, { runningSince: t + 4 * MIN })));
    // Now lead = 4 + 5 min: active from 15:51Z.
    expect(await planner.plan(ctx(snapshot(START - 10 * MIN, 2)))).toEqual([]);
    const [a] = await planner.plan(ctx(snapshot(START - 9 * MIN, 2)));
    expect(a?.origin).toBe('calendar');
  });

  it('a factor multiplies the parallelism captured when the window became active, once', async () => {
    const store = new MemoryStore();
    const planner = new ReactivePlanner(settings, store, undefined, calendar({ floor: {}, factor: 3 }));
    const [a] = await planner.plan(ctx(snapshot(START - 5 * MIN, 2)));
    expect(a?.target).toEqual({ src: 6, agg: 6 });
    // Later ticks (the job now at 6) keep 6: the baseline is not captured again.
    const later = snapshot(START, 6);
    later.vertices = later.vertices.map(v => ({ ...v, parallelism: 6 }));
    expect(await planner.plan(ctx(later))).toEqual([]);
    expect(await store.getRecord('floor', `baseline:double-11:${job.jobKey}`, START)).toEqual({
      src: 2,
      agg: 2,
    });
  });

  it('says when the cluster lacks the free slots for the floor', async () => {
    const planner = new ReactivePlanner(settings, new MemoryStore(), undefined, calendar());
    const [a] = await planner.plan(ctx(snapshot(START - MIN, 2, { free: 4 })));
    expect(a?.reason).toMatch(/needs 10 more slots, the cluster has 4 free: the floor may not be met/);
  });

  it('staggers jobs of one window over the stagger time, deterministically', () => {
    const cal = calendar({ selector: {} }, 10 * MIN);
    const from = Array.from({ length: 50 }, (_, i) => {
      const j = { ...job, jobKey: `rest:c/job-${i}`, name: `job-${i}` };
      return cal.active(j, START, 60 * S)[0]?.activeFrom ?? 0;
    });
    const earliest = START - 6 * MIN - 10 * MIN;
    for (const f of from) expect(f).toBeGreaterThanOrEqual(earliest);
    for (const f of from) expect(f).toBeLessThanOrEqual(START - 6 * MIN);
    expect(new Set(from).size).toBeGreaterThan(40);
    // Deterministic: the same job gets the same offset every tick and on every replica.
    expect(calendar({ selector: {} }, 10 * MIN).active(job, START, 60 * S)[0]?.activeFrom).toBe(
      cal.active(job, START, 60 * S)[0]?.activeFrom,
    );
  });

  it('config: names the window and field of a bad entry', () => {
    expect(() =>
      compileConfig({ calendar: [{ id: 'x', start: '2026-11-11', end: 'soon', floor: { '*': 2 } }] }),
    ).toThrow(/calendar\.0\.end/);
    expect(() => compileConfig({ calendar: [{ id: 'x', start: '2026-11-11', end: '2026-11-12' }] })).toThrow(
      /give a floor \(per vertex\) or a factor/,
    );
    expect(
      () =>
        new PromotionCalendar(
          [
            CalendarWindowSchema.parse({
              id: 'backwards',
              start: '2026-11-12',
              end: '2026-11-11',
              floor: { '*': 2 },
            }),
          ],
          { marginMs: 0, staggerMs: 0, releaseMs: 0 },
        ),
    ).toThrow(/calendar backwards: end 2026-11-11 is not after start 2026-11-12/);
  });
});

describe('calendar release', () => {
  it('tells when a window of the job released its floor since a time (the peak it announced is over)', () => {
    const cal = calendar({ release: '30m' });
    const until = END + 30 * MIN;
    expect(cal.releasedSince(job, END, until - S, MIN)).toBe(false); // still held
    expect(cal.releasedSince(job, END, until, MIN)).toBe(true);
    expect(cal.releasedSince(job, until, until + MIN, MIN)).toBe(false); // released before `from`
    expect(cal.releasedSince({ ...job, name: 'other' }, END, until, MIN)).toBe(false);
  });
});
