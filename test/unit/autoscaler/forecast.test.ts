import { describe, expect, it } from 'vitest';
import {
  RateForecaster,
  RateHistory,
  forecastRate,
  robustTrend,
  type ForecastSettings,
} from '../../../src/agents/select/autoscaler/forecast.js';
import { detect } from '../../../src/agents/detect/detect.js';
import { DEFAULT_REACTIVE, ReactivePlanner } from '../../../src/agents/select/autoscaler/planner.js';
import type { Finding, HealthReport, JobRef, Snapshot } from '../../../src/domain/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';

const MIN = 60_000;
const DAY = 1440 * MIN;
const settings: ForecastSettings = {
  enabled: true,
  resolutionMs: MIN,
  retentionMs: 8 * DAY,
  trendWindowMs: 15 * MIN,
  marginMs: 5 * MIN,
  horizonMs: 15 * MIN,
  minTrendConsistency: 0.6,
  maxSeasonalError: 0.1,
  seasonsMs: [DAY, 7 * DAY],
};
const job: JobRef = {
  jobKey: 'rest:c/orders',
  incarnation: 'j1',
  origin: 'rest',
  cluster: 'c',
  name: 'orders',
  flinkJobId: 'j1',
  restUrl: 'http://x',
  labels: {},
};

/** Deterministic noise in [-1, 1). */
function noise(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 31 - 1;
  };
}

/** A history with one value per minute from `fromMin` to `toMin` (exclusive) of f(minute). */
function history(fromMin: number, toMin: number, f: (minute: number) => number): RateHistory {
  const h = new RateHistory(MIN, Math.ceil(settings.retentionMs / MIN));
  for (let m = fromMin; m < toMin; m++) h.put(m, f(m));
  return h;
}

describe('rate history ring buffer', () => {
  it('keeps one value per slot, NaN for skipped or overwritten slots, and survives a store round trip', () => {
    const h = new RateHistory(MIN, 10);
    h.put(100, 1);
    h.put(103, 4);
    expect(h.get(100)).toBe(1);
    expect(h.get(101)).toBeNaN();
    expect(h.get(103)).toBe(4);
    h.put(112, 7); // wraps: slots ≤ 102 are gone
    expect(h.get(100)).toBeNaN();
    expect(h.get(103)).toBe(4);
    expect(h.get(110)).toBeNaN();
    h.put(90, 5); // too old: ignored
    expect(h.get(90)).toBeNaN();
    const back = RateHistory.fromRecord(JSON.parse(JSON.stringify(h.toRecord())), MIN, 10);
    expect(back?.get(103)).toBe(4);
    expect(back?.get(112)).toBe(7);
    expect(back?.last).toBe(112);
    // Another shape (resolution or capacity changed) starts over rather than misreading.
    expect(RateHistory.fromRecord(h.toRecord(), 2 * MIN, 10)).toBeUndefined();
    expect(
      RateHistory.fromRecord({ v: 1, res: MIN, cap: 10, last: 1, data: 'AAAA' }, MIN, 10),
    ).toBeUndefined();
  });

  it('is compact: 8 days at one value per minute is a 61 kB record', () => {
    const h = history(0, 3, () => 1000);
    expect(JSON.stringify(h.toRecord()).length).toBeLessThan(62_000);
  });
});

describe('robust trend', () => {
  it('ignores a single spike (Theil–Sen) and measures how consistently the points rise (Kendall τ)', () => {
    const pts = Array.from({ length: 15 }, (_, i) => ({ x: i, y: 100 + 10 * i }));
    const spiked = pts.map(p => (p.x === 7 ? { ...p, y: 10_000 } : p));
    const fit = robustTrend(spiked);
    expect(fit?.slope).toBeCloseTo(10, 6);
    expect(fit?.tau).toBeGreaterThan(0.8);
    const flat = robustTrend(pts.map(p => ({ ...p, y: 100 })));
    expect(flat?.slope).toBe(0);
    expect(flat?.tau).toBe(0);
  });
});

describe('forecastRate', () => {
  const now = 10 * DAY + 0.5 * MIN;
  const nowMin = 10 * 1440;

  it('extrapolates a consistent rising trend to the horizon', () => {
    const r = noise(1);
    // 1000/s rising 40/s per minute with 1 % noise (per-minute means of a 60-s moving average).
    const h = history(nowMin - 60, nowMin, m => (1000 + 40 * (m - nowMin + 60)) * (1 + 0.01 * r()));
    const f = forecastRate(h, now, 6 * MIN, settings);
    expect(f?.basis).toBe('trend');
    // Level ≈ 3400/s now, +240/s over 6 minutes.
    expect(f?.level).toBeGreaterThan(3250);
    expect(f?.level).toBeLessThan(3550);
    expect(f?.rate).toBeGreaterThan(3550);
    expect(f?.rate).toBeLessThan(3800);
    // A ramp that has reached its plateau is not extrapolated further.
    const plateau = history(nowMin - 60, nowMin, m => Math.min(3000, 1000 + 200 * (m - nowMin + 20)));
    expect(forecastRate(plateau, now, 6 * MIN, settings)).toMatchObject({ basis: 'level', rate: 3000 });
  });

  it('finds no trend in flat noisy load, nor in a single spike', () => {
    const r = noise(2);
    const flat = history(nowMin - 60, nowMin, () => 5000 * (1 + 0.05 * r()));
    const f = forecastRate(flat, now, 6 * MIN, settings);
    expect(f?.basis).toBe('level');
    expect(f?.rate).toBe(f?.level);
    expect(f?.level).toBeGreaterThan(4700);
    expect(f?.level).toBeLessThan(5300);
    const spike = history(nowMin - 60, nowMin, m => (m === nowMin - 2 ? 50_000 : 5000));
    expect(forecastRate(spike, now, 6 * MIN, settings)).toMatchObject({ basis: 'level', rate: 5000 });
    // Too little recent history: no forecast at all.
    expect(
      forecastRate(
        history(nowMin - 60, nowMin - 20, () => 5000),
        now,
        6 * MIN,
        settings,
      ),
    ).toBeUndefined();
  });

  it('uses the same time yesterday when yesterday explains today, and leaves calendar windows out', () => {
    const r = noise(3);
    // Every day: flat 2000/s, a ramp to 8000/s starting 3 minutes after "now"'s time of day.
    const at = now + 600 * MIN; // 10:00:30
    const atMin = nowMin + 600;
    const daily = (m: number): number => {
      const t = (m % 1440) - 603;
      return (t < 0 || t > 120 ? 2000 : Math.min(8000, 2000 + 600 * t)) * (1 + 0.02 * r());
    };
    const h = history(atMin - 3 * 1440, atMin, daily);
    const f = forecastRate(h, at, 6 * MIN, settings);
    expect(f?.basis).toBe('season');
    expect(f?.seasonMs).toBe(DAY);
    // Yesterday 6 minutes later: ≈ 2000 + 600 × 3 = 3800 (median of ±2 slots).
    expect(f?.rate).toBeGreaterThan(3300);
    expect(f?.rate).toBeLessThan(4300);
    // The same history, but yesterday's ramp was an announced promotion: no seasonal forecast.
    const calendar = (t: number): boolean => t >= at - DAY && t < at - DAY + 60 * MIN;
    expect(forecastRate(h, at, 6 * MIN, settings, calendar)?.basis).toBe('level');
    // Without the ramp ahead it forecasts no rise (the day before looked the same at this hour).
    const calm = history(atMin - 3 * 1440, atMin, () => 2000 * (1 + 0.02 * r()));
    expect(forecastRate(calm, at, 6 * MIN, settings)?.rate).toBeLessThan(2100);
  });

  it('does not use a season that did not explain the recent load', () => {
    const r = noise(4);
    // Yesterday was flat at 2000 with a jump later; today is 2000 ± 40 % chaos.
    const h = history(nowMin - 2 * 1440, nowMin, m =>
      m < nowMin - 1440 ? ((m % 1440) - (nowMin % 1440) > 3 ? 8000 : 2000) : 2000 * (1 + 0.4 * r()),
    );
    const f = forecastRate(h, now, 6 * MIN, { ...settings, minTrendConsistency: 1.1 });
    expect(f?.basis).toBe('level');
  });
});

describe('RateForecaster', () => {
  it('writes each completed slot once to the store, then forecasts from it', async () => {
    const store = new MemoryStore();
    const fc = new RateForecaster(settings, store);
    const t0 = 100 * DAY;
    for (let s = 0; s < 30 * 6; s++) await fc.observe(job, t0 + s * 10_000, 1000 + 50 * Math.floor(s / 6), 0);
    const rec = await store.getRecord<{ last: number }>('rate-history', job.jobKey, t0);
    // 30 minutes of samples: 29 slots complete (the 30th is still open).
    expect(rec?.last).toBe(Math.floor(t0 / MIN) + 28);
    const f = await fc.forecast(job, t0 + 30 * MIN, 60 * MIN);
    expect(f?.basis).toBe('trend');
    expect(f?.horizonMs).toBe(15 * MIN); // capped
    expect(f?.rate).toBeCloseTo(1000 + 50 * 30 + 50 * 15, -2);
    const off = new RateForecaster({ ...settings, enabled: false }, new MemoryStore());
    await off.observe(job, t0, 1, 0);
    expect(await off.forecast(job, t0, MIN)).toBeUndefined();
  });
});

describe('planner with the forecast', () => {
  const planSettings = {
    ...DEFAULT_REACTIVE,
    catchUpMs: 5 * MIN,
    stabilizationMs: MIN,
    cooldownMs: 5 * MIN,
    scaleDownDelayMs: 0,
    approvalTtlMs: 15 * MIN,
  };
  /** source (p=4, 60 % busy) → map (p=mapP, not keyed) at `rate` records/s with the map `busy` (0–1). */
  function ctx(at: number, rate: number, mapP: number, busy: number, pending = 0, findings: Finding[] = []) {
    const s: Snapshot = {
      job,
      observedAt: at,
      sourceId: 'flink:c',
      cluster: { reachable: true },
      jobStatus: { id: 'j1', name: 'orders', state: 'RUNNING', startTime: 0, runningSince: at - 60 * MIN },
      vertices: [
        {
          id: 'src',
          name: 'Source',
          parallelism: 4,
          maxParallelism: 128,
          inputs: [],
          metrics: {
            busyTimeMsPerSecond: { max: 600, avg: 600 },
            backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
            numRecordsOutPerSecond: { sum: rate },
            pendingRecords: { sum: pending },
          },
        },
        {
          id: 'map',
          name: 'Enrich',
          parallelism: mapP,
          maxParallelism: 128,
          inputs: ['src'],
          metrics: {
            busyTimeMsPerSecond: { max: busy * 1000, avg: busy * 1000 },
            backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
            numRecordsInPerSecond: { sum: rate },
            numRecordsOutPerSecond: { sum: rate },
          },
        },
      ],
      missing: [],
    };
    const { facts } = detect(s, undefined, {
      windows: { short: 5 * MIN, medium: 15 * MIN, long: 60 * MIN, day: DAY },
      catchUpMs: planSettings.catchUpMs,
    });
    return {
      job,
      snapshot: s,
      facts,
      report: { findings } as unknown as HealthReport,
      mode: 'auto' as const,
      now: at,
    };
  }
  const t0 = 200 * DAY;

  /** Feeds 20 minutes of input rates through the planner's forecaster (one sample per 10 s). */
  async function feed(
    planner: ReactivePlanner,
    rate: (minute: number) => number,
    mapP: number,
  ): Promise<number> {
    let at = t0;
    for (let i = 0; i < 20 * 6; i++, at += 10_000) {
      const r = rate(i / 6);
      // Utilization kept inside the band while the history builds (no action wanted).
      await planner.plan(ctx(at, r, mapP, 0.6));
    }
    return at;
  }

  it('scales up when the forecast load would saturate a vertex before a rescale is done, marked as a forecast', async () => {
    const store = new MemoryStore();
    const planner = new ReactivePlanner(
      planSettings,
      store,
      undefined,
      undefined,
      new RateForecaster(settings, store),
    );
    // 2000/s rising 150/s per minute; the map (capacity 1000/s per subtask) at p=4.
    const at = await feed(planner, m => 2000 + 150 * m, 4);
    // Now 5000/s with the map at p=6 88 % busy: it keeps up (TPR 5682/s) and nothing reactive is
    // due, but in 6 minutes (restart 1 min + margin 5 min) ≈ 5900/s would saturate it.
    const [action] = await planner.plan(ctx(at, 5000, 6, 0.88));
    expect(action?.origin).toBe('forecast');
    expect(action?.reason).toMatch(/forecast \d+\/s in 360 s .*\(trend\)/);
    // Sized for ≈ 5900/s at 70 % plus the restart backlog: 947/s per subtask → 11.
    expect(action?.target.map).toBeGreaterThanOrEqual(10);
    expect(action?.target.map).toBeLessThanOrEqual(12);
    // The source (60 % busy at p=4: TPR 8333/s) is sized for the same rise.
    expect(action?.target.src).toBe(5);
    // The same state without the rise in the history: nothing to do yet.
    const flatStore = new MemoryStore();
    const flat = new ReactivePlanner(
      planSettings,
      flatStore,
      undefined,
      undefined,
      new RateForecaster(settings, flatStore),
    );
    const at2 = await feed(flat, () => 5000, 6);
    expect(await flat.plan(ctx(at2, 5000, 6, 0.88))).toEqual([]);
  });

  it('does nothing on flat load, and never scales down below what a rise needs', async () => {
    const flatStore = new MemoryStore();
    const flat = new ReactivePlanner(
      planSettings,
      flatStore,
      undefined,
      undefined,
      new RateForecaster(settings, flatStore),
    );
    const at = await feed(flat, () => 4000, 5);
    expect(await flat.plan(ctx(at, 4000, 5, 0.8))).toEqual([]);
    expect(flat.lastSkip.get(job.jobKey)).toBe('within-band');

    // Over-provisioned map (30 % busy at p=16) while the load rises: the scale-down keeps the forecast's need.
    const store = new MemoryStore();
    const rising = new ReactivePlanner(
      planSettings,
      store,
      undefined,
      undefined,
      new RateForecaster(settings, store),
    );
    const without = new ReactivePlanner(planSettings, new MemoryStore());
    const at2 = await feed(rising, m => 2000 + 100 * m, 16);
    const [down] = await rising.plan(ctx(at2, 4000, 16, 0.25));
    const [plain] = await without.plan(ctx(at2, 4000, 16, 0.25));
    expect(down?.origin).toBe('reactive');
    expect(plain?.target.map).toBeLessThan(down?.target.map ?? 0);
    expect(down?.target.map).toBeLessThan(16);
  });

  it('gives back capacity a scale-up added for a backlog once it is worked off, without the scale-down delay', async () => {
    const slow = { ...planSettings, scaleDownDelayMs: 60 * MIN };
    const store = new MemoryStore();
    const planner = new ReactivePlanner(slow, store);
    // Map at p=4, 95 % busy, 2 minutes of backlog: the scale-up carries catch-up capacity.
    const [up] = await planner.plan(ctx(t0, 4000, 4, 0.95, 480_000));
    expect(up?.target.map).toBe(8);
    // Caught up at p=8 (40 % busy, inside the band): the lent capacity goes back at once.
    const [back] = await planner.plan(ctx(t0 + 6 * MIN, 4000, 8, 0.4));
    expect(back?.target.map).toBe(6);
    expect(back?.reason).toMatch(/scale down: Enrich 8 → 6/);
    // Without a lending scale-up the same state is inside the band: nothing to do.
    const fresh = new ReactivePlanner(slow, new MemoryStore());
    expect(await fresh.plan(ctx(t0 + 6 * MIN, 4000, 8, 0.4))).toEqual([]);
  });

  it('is not held back by low-severity advice of a blocking category, but by a medium one', async () => {
    const finding = (severity: Finding['severity']): Finding => ({
      fingerprint: `f-${severity}`,
      rule: 'checkpoint-occasional-failure',
      category: 'checkpoint',
      severity,
      diagnosis: false,
      subject: { kind: 'job', id: job.jobKey, name: 'orders' },
      title: 'one checkpoint failed',
      evidence: {},
      action: { kind: 'advice', text: '' },
      state: 'firing',
      firstSeen: 0,
      lastSeen: 0,
      ruleVersion: 1,
    });
    const planner = new ReactivePlanner(planSettings, new MemoryStore());
    const [up] = await planner.plan(ctx(t0, 4000, 2, 1, 0, [finding('low')]));
    expect(up?.target.map).toBeGreaterThan(2);
    const held = new ReactivePlanner(planSettings, new MemoryStore());
    expect(await held.plan(ctx(t0, 4000, 2, 1, 0, [finding('medium')]))).toEqual([]);
    expect(held.lastSkip.get(job.jobKey)).toBe('blocked-by-finding');
  });
});
