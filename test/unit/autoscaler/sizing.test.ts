import { describe, expect, it } from 'vitest';
import {
  alignParallelism,
  requiredCapacity,
  targetParallelism,
  utilizationBand,
  type SizingInput,
} from '../../../src/agents/select/autoscaler/sizing.js';

/**
 * The numeric cases published for the Flink Kubernetes Operator's autoscaler
 * (research notes flink-autoscaler.md §3), reproduced where the semantics match.
 */
function size(p: number, target: number, tpr: number, u: number, extra: Partial<SizingInput> = {}): number {
  const capacity = requiredCapacity({
    targetRate: target,
    catchUpRate: 0,
    utilization: u,
    restartSec: 0,
    catchUpSec: 0,
    withRestart: true,
  });
  return targetParallelism({
    parallelism: p,
    trueProcessingRate: tpr,
    capacity,
    maxParallelism: 720,
    minParallelism: 1,
    maxParallelismBound: 200,
    scaleDownMaxFactor: 1,
    scaleUpMaxFactor: Number.MAX_SAFE_INTEGER,
    align: true,
    alignment: 'evenly-spread',
    ...extra,
  });
}

describe('operator case 1: JobVertexScalerTest#testParallelismScaling', () => {
  it.each([
    [10, 50, 100, 1.0, 5],
    [10, 50, 100, 0.8, 8],
    [10, 80, 100, 0.8, 10],
    [2, 100, 40, 0.5, 10],
    [2, 100, 100, 0.6, 4],
  ])('p=%i target=%i tpr=%i u=%f → %i', (p, target, tpr, u, expected) => {
    expect(size(p, target, tpr, u)).toBe(expected);
  });

  it('a non-keyed vertex is not aligned: 7 instead of 8', () => {
    expect(size(10, 50, 100, 0.8, { align: false })).toBe(7);
  });

  it('caps one step: scale-down max factor 0.5 → 5, 0.6 → 4; scale-up 0.5 → 15, 0.6 → 16', () => {
    expect(size(10, 10, 100, 1.0, { scaleDownMaxFactor: 0.5 })).toBe(5);
    expect(size(10, 10, 100, 1.0, { scaleDownMaxFactor: 0.6 })).toBe(4);
    expect(size(10, 200, 10, 1.0, { scaleUpMaxFactor: 0.5 })).toBe(15);
    expect(size(10, 200, 10, 1.0, { scaleUpMaxFactor: 0.6 })).toBe(16);
  });

  it('stays within bounds and maxParallelism, and leaves a vertex with no measured rate alone', () => {
    expect(size(10, 1000, 10, 1.0, { maxParallelismBound: 50, align: false })).toBe(50);
    expect(size(10, 1000, 10, 1.0, { maxParallelism: 64, align: false })).toBe(64);
    expect(size(10, 1, 1000, 1.0, { minParallelism: 4, align: false })).toBe(4);
    expect(size(10, 100, 0, 1.0)).toBe(10);
    expect(size(10, 100, Number.NaN, 1.0)).toBe(10);
    expect(size(10, 100, 100, 0)).toBe(10);
  });
});

describe('operator case 2: key-group / partition alignment', () => {
  const align = (
    newP: number,
    p: number,
    n: number,
    mode: 'evenly-spread' | 'maximize-utilisation' | 'balanced',
    lower = 1,
    upper = 1000,
  ): number => alignParallelism({ newP, p, n, lower, upper, mode });

  it('p=16, 128 key groups, ×1.5 (raw 24) → evenly 32, balanced 26', () => {
    expect(align(24, 16, 128, 'evenly-spread')).toBe(32);
    expect(align(24, 16, 128, 'balanced')).toBe(26);
  });
  it('p=200, 720 key groups, ×1.3 (raw 260) → 360', () => {
    expect(align(260, 200, 720, 'evenly-spread')).toBe(360);
  });
  it('p=10, 128 key groups, ×2.5 (raw 25) → evenly 32, maximize 26', () => {
    expect(align(25, 10, 128, 'evenly-spread')).toBe(32);
    expect(align(25, 10, 128, 'maximize-utilisation')).toBe(26);
  });
  it('Kafka with 15 partitions: p=6 ×0.4 → 3; p=7 ×1.2 → 15', () => {
    expect(align(3, 6, 15, 'evenly-spread')).toBe(3);
    expect(align(9, 7, 15, 'evenly-spread')).toBe(15);
  });
  it('Kafka with 199 partitions: p=24 ×4 (raw 96) → evenly 199, maximize 100', () => {
    expect(align(96, 24, 199, 'evenly-spread')).toBe(199);
    expect(align(96, 24, 199, 'maximize-utilisation')).toBe(100);
  });
  it('35 partitions, maxP 30: p=20 ×0.9 → 18; p=22 ×1.1 with lower limit 20 → 22 (kept, not inverted)', () => {
    expect(align(18, 20, 35, 'evenly-spread', 1, 30)).toBe(18);
    expect(align(25, 22, 35, 'evenly-spread', 20, 30)).toBe(22);
  });
  it('differs from the operator main branch on purpose: balanced never goes past the partitions (15 partitions, p=7, raw 21 → 15)', () => {
    expect(align(21, 7, 15, 'balanced')).toBe(15);
  });
  it('balanced never blocks: nothing qualifies → the bounded target', () => {
    expect(align(25, 22, 35, 'balanced', 20, 30)).toBe(25);
  });
});

describe('operator case 3: utilization band as rate thresholds (ScalingMetricEvaluatorTest)', () => {
  const base = { targetRate: 700, restartSec: 1 };
  const u = { max: 0.9, min: 0.7 };
  it('catch-up disabled → (778, 1000)', () => {
    expect(utilizationBand({ ...base, catchUpRate: 0, catchUpSec: 0 }, u, false)).toEqual({
      scaleUpBelow: 778,
      scaleDownAbove: 1000,
    });
  });
  it('catch-up 2 s at 350/s → (1128, 1700); catch-up rate 0 → (778, 1350)', () => {
    expect(utilizationBand({ ...base, catchUpRate: 350, catchUpSec: 2 }, u, false)).toEqual({
      scaleUpBelow: 1128,
      scaleDownAbove: 1700,
    });
    expect(utilizationBand({ ...base, catchUpRate: 0, catchUpSec: 2 }, u, false)).toEqual({
      scaleUpBelow: 778,
      scaleDownAbove: 1350,
    });
  });
  it('backlog mode → (1050, ∞) and (700, ∞): no scale-down while catching up', () => {
    expect(utilizationBand({ ...base, catchUpRate: 350, catchUpSec: 2 }, u, true)).toEqual({
      scaleUpBelow: 1050,
      scaleDownAbove: Infinity,
    });
    expect(utilizationBand({ ...base, catchUpRate: 0, catchUpSec: 2 }, u, true)).toEqual({
      scaleUpBelow: 700,
      scaleDownAbove: Infinity,
    });
  });
});

describe('operator case 5: BacklogBasedScalingTest', () => {
  it('source at 500/s, 850 ms/s busy, 2000 pending, catch-up 2 s, restart 1 s, u 0.8 → capacity 1875, p 1 → 4', () => {
    const capacity = requiredCapacity({
      targetRate: 500,
      catchUpRate: 2000 / 2,
      utilization: 0.8,
      restartSec: 1,
      catchUpSec: 2,
      withRestart: true,
    });
    expect(capacity).toBe(1875);
    const p = targetParallelism({
      parallelism: 1,
      trueProcessingRate: 500 / 0.85,
      capacity,
      maxParallelism: 128,
      minParallelism: 1,
      maxParallelismBound: 200,
      scaleDownMaxFactor: 0.6,
      scaleUpMaxFactor: 100_000,
      align: false,
      alignment: 'evenly-spread',
    });
    expect(p).toBe(4);
  });
});
