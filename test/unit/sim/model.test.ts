import { describe, expect, it } from 'vitest';
import { MovingAverage } from '../../../src/sim/moving-average.js';
import { baseRate, rateAt } from '../../../src/sim/profile.js';
import { hexId, Rng } from '../../../src/sim/random.js';
import { parseScenario, ScenarioError } from '../../../src/sim/scenario.js';
import { aggregate, javaDouble, metricString, parseIndexFilter } from '../../../src/sim/rest/format.js';
import { keyWeights, metricOperatorName, partitionWeights } from '../../../src/sim/topology.js';
import { featuresOf } from '../../../src/sim/versions.js';
import { pipelineScenario } from '../../support/sim-fixtures.js';

describe('moving average (Flink MeterView / TimerGauge)', () => {
  it('ramps up over 60 s from zeros and publishes every 5 s', () => {
    const m = new MovingAverage();
    for (let i = 0; i < 4; i++) m.push(1000);
    expect(m.value()).toBe(0); // no view update yet
    m.push(1000);
    expect(m.value()).toBeCloseTo((5 * 1000) / 60, 6);
    for (let i = 0; i < 55; i++) m.push(1000);
    expect(m.value()).toBe(1000);
    for (let i = 0; i < 30; i++) m.push(0);
    expect(m.value()).toBe(500);
  });
});

describe('input profiles', () => {
  const start = Date.parse('2026-11-11T00:00:00Z');
  it('step, ramp and promotion follow their shape', () => {
    const step = { kind: 'step', rate: 10, to: 20, at: 60_000, noise: 0 } as const;
    expect([baseRate(step, 59_999, start), baseRate(step, 60_000, start)]).toEqual([10, 20]);
    const ramp = { kind: 'ramp', from: 0, to: 100, start: 0, duration: 100_000, noise: 0 } as const;
    expect(baseRate(ramp, 50_000, start)).toBe(50);
    const promo = {
      kind: 'promotion',
      base: 1,
      peak: 9,
      start: 1000,
      rampUp: 1000,
      hold: 1000,
      rampDown: 1000,
      noise: 0,
    } as const;
    expect([0, 1500, 2500, 3500, 5000].map(t => baseRate(promo, t, start))).toEqual([1, 5, 9, 5, 1]);
  });
  it('daily curve peaks at the local peak hour', () => {
    const daily = {
      kind: 'daily',
      base: 100,
      peak: 1000,
      peakHour: 20,
      utcOffsetHours: 8,
      noise: 0,
    } as const;
    expect(baseRate(daily, 0, Date.parse('2026-11-11T12:00:00Z'))).toBeCloseTo(1000, 6);
    expect(baseRate(daily, 0, Date.parse('2026-11-11T00:00:00Z'))).toBeCloseTo(100, 6);
  });
  it('noise is seeded, bounded and a pure function of time', () => {
    const c = { kind: 'constant', rate: 1000, noise: 0.05 } as const;
    const xs = Array.from({ length: 1000 }, (_, i) => rateAt(c, 'k', i * 1000, start));
    expect(xs).toEqual(Array.from({ length: 1000 }, (_, i) => rateAt(c, 'k', i * 1000, start)));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(990);
    expect(mean).toBeLessThan(1010);
    expect(Math.max(...xs)).toBeLessThanOrEqual(1000 * (1 + 0.05 * Math.sqrt(3)));
  });
});

describe('ids, weights and formats', () => {
  it('ids are 32 lowercase hex and stable per seed', () => {
    expect(hexId(1, 'job', 'a')).toMatch(/^[0-9a-f]{32}$/);
    expect(hexId(1, 'job', 'a')).toBe(hexId(1, 'job', 'a'));
    expect(hexId(1, 'job', 'a')).not.toBe(hexId(2, 'job', 'a'));
    expect(new Rng(5).next()).toBe(new Rng(5).next());
  });
  it('key weights sum to 1; a hot key puts its share on one subtask', () => {
    const spec = pipelineScenario().jobs[0]!.vertices[1]!;
    const w = keyWeights({ ...spec, hotKeyShare: 0.6 }, 4);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 9);
    expect(Math.max(...w)).toBeCloseTo(0.6 + 0.1, 9);
    expect(partitionWeights(6, 4)).toEqual([2 / 6, 2 / 6, 1 / 6, 1 / 6]);
    expect(partitionWeights(2, 4)).toEqual([0.5, 0.5, 0, 0]);
  });
  it('formats values like Java and Flink', () => {
    expect(javaDouble(1)).toBe('1.0');
    expect(javaDouble(0.5)).toBe('0.5');
    expect(javaDouble(12_345_678)).toBe('1.2345678E7');
    expect(metricString('numRecordsIn', 42.7)).toBe('43');
    expect(metricString('busyTimeMsPerSecond', 400)).toBe('400.0');
    expect(metricString('currentInputWatermark', -(2 ** 63))).toBe('-9223372036854775808');
    expect(metricOperatorName('Source: Kafka, orders.v2')).toBe('Source__Kafka__orders_v2');
    expect(aggregate([1, 2, 3, 6], ['min', 'max', 'avg', 'sum', 'skew'])).toEqual({
      min: 1,
      max: 6,
      avg: 3,
      sum: 12,
      skew: (6 / 4 / 3) * 100,
    });
    expect(parseIndexFilter('1,3-4,9', 5)).toEqual([1, 3, 4]);
  });
  it('version features differ where Flink does', () => {
    expect(featuresOf('1.18')).toMatchObject({
      aggSkew: false,
      gcAllMetrics: false,
      legacyExceptionFields: true,
      rescalesApi: false,
    });
    expect(featuresOf('1.19')).toMatchObject({ aggSkew: false, gcAllMetrics: true });
    expect(featuresOf('2.0')).toMatchObject({
      aggSkew: true,
      legacyExceptionFields: false,
      fullRestartsMetric: false,
      numRescalesMetric: true,
      rescalesApi: false,
    });
    expect(featuresOf('2.3').rescalesApi).toBe(true);
  });
});

describe('scenario validation', () => {
  it('rejects unknown inputs, sources without a profile, bad durations and unknown fault targets, naming the path', () => {
    const bad = `
name: x
seed: 1
jobs:
  - name: j
    vertices:
      - { name: a, parallelism: 1, capacity: 10 }
      - { name: b, inputs: [zz], parallelism: 1, capacity: 10 }
faults:
  - { kind: slow-sink, job: nope, from: 5 minutes }
`;
    try {
      parseScenario(bad, 'bad.yaml');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ScenarioError);
      const msg = (err as Error).message;
      expect(msg).toContain('bad.yaml');
      expect(msg).toContain('jobs.0.vertices.0.profile: a source needs a profile');
      expect(msg).toContain('unknown input "zz"');
      expect(msg).toContain('faults.0.from: not a duration');
    }
    expect(() => parseScenario('name: [', 'x.yaml')).toThrow(/not valid YAML/);
  });

  it('rejects a stalled watermark on a vertex that is not a source (the model would ignore it)', () => {
    const doc = (vertex: string): string => `
name: x
seed: 1
jobs:
  - name: j
    vertices:
      - { name: src, parallelism: 2, capacity: 10, profile: { kind: constant, rate: 5 } }
      - { name: win, inputs: [src], parallelism: 2, capacity: 10 }
faults:
  - { kind: stalled-watermark, job: j, vertex: ${vertex}, from: 5m }
`;
    expect(() => parseScenario(doc('win'), 'wm.yaml')).toThrow(
      /faults\.0\.vertex: stalled-watermark stops a source subtask's watermark: "win" is not a source/,
    );
    expect(parseScenario(doc('src'), 'wm.yaml').faults[0]?.vertex).toBe('src');
  });
});
