import { describe, expect, it } from 'vitest';
import { LocalScheduler } from '../../../src/agent-manager/local-scheduler.js';
import { VirtualClock, type JobRef } from '../../../src/domain/index.js';

const S = 1000;
const job = (name: string): JobRef => ({
  jobKey: `rest:c/${name}`,
  incarnation: name,
  origin: 'rest',
  cluster: 'c',
  name,
  flinkJobId: name,
  restUrl: 'http://x',
  labels: {},
});

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise(r => setImmediate(r));
}

describe('local scheduler (virtual time)', () => {
  it('runs every job once per interval, spread by its phase, without drift', async () => {
    const clock = new VirtualClock(0);
    const runs: [string, number][] = [];
    const lags: number[] = [];
    let seed = 0;
    const s = new LocalScheduler({
      clock,
      intervalMs: 10 * S,
      jitter: 0.5,
      concurrency: 10,
      random: () => (seed++ % 3) / 3,
      run: j => (runs.push([j.name, clock.now()]), Promise.resolve()),
      onLag: (_j, lag) => lags.push(lag),
    });
    s.sync([job('a'), job('b'), job('c')]);
    s.start();
    for (let t = 0; t < 60; t++) {
      await clock.advance(S);
      await settle();
    }
    await s.close();
    const byJob = (n: string): number[] => runs.filter(r => r[0] === n).map(r => r[1]);
    expect(byJob('a')).toEqual([0, 10_000, 20_000, 30_000, 40_000, 50_000, 60_000]);
    const b = byJob('b');
    expect(b[0]).toBe(1666);
    expect(b.slice(1).map((t, i) => t - (b[i] ?? 0))).toEqual(Array(b.length - 1).fill(10_000));
    expect(Math.max(...lags)).toBe(0);
  });

  it('gives the jobs of one group one phase, also a job that joins later', async () => {
    const clock = new VirtualClock(0);
    const runs: [string, number][] = [];
    let seed = 0;
    const s = new LocalScheduler({
      clock,
      intervalMs: 10 * S,
      jitter: 0.5,
      concurrency: 10,
      random: () => [0.2, 0.8, 0.5][seed++ % 3] ?? 0,
      groupOf: j => (j.name.startsWith('g') ? 'cluster-g' : undefined),
      run: j => (runs.push([j.name, clock.now()]), Promise.resolve()),
    });
    s.sync([job('g1'), job('x'), job('g2')]);
    s.start();
    for (let t = 0; t < 13; t++) {
      await clock.advance(S);
      await settle();
    }
    s.sync([job('g1'), job('x'), job('g2'), job('g3')]);
    for (let t = 0; t < 20; t++) {
      await clock.advance(S);
      await settle();
    }
    await s.close();
    const at = (n: string): number[] => runs.filter(r => r[0] === n).map(r => r[1]);
    // g1 drew the group's phase (0.2 × 0.5 × 10 s); g2 shares it; x has its own (0.8 × 5 s).
    expect(at('g1')).toEqual([1000, 11_000, 21_000, 31_000]);
    expect(at('g2')).toEqual(at('g1'));
    expect(at('x')).toEqual([4000, 14_000, 24_000]);
    // g3 joined at 13 s: its first cycle is the group's next tick, not 13 s + a phase of its own.
    expect(at('g3')).toEqual([21_000, 31_000]);
  });

  it('never runs two cycles of one job at once; a slow cycle skips ticks', async () => {
    const clock = new VirtualClock(0);
    let running = 0;
    let maxRunning = 0;
    const skips: string[] = [];
    const s = new LocalScheduler({
      clock,
      intervalMs: 10 * S,
      jitter: 0,
      concurrency: 4,
      run: async () => {
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await clock.sleep(25 * S);
        running -= 1;
      },
      onSkip: j => skips.push(j.name),
    });
    s.sync([job('slow')]);
    s.start();
    for (let t = 0; t < 60; t++) {
      await clock.advance(S);
      await settle();
    }
    expect(maxRunning).toBe(1);
    expect(skips.length).toBeGreaterThanOrEqual(3);
    const closing = s.close();
    await clock.advance(30 * S);
    await closing;
  });

  it('caps concurrency across jobs and removes jobs that disappeared', async () => {
    const clock = new VirtualClock(0);
    let running = 0;
    let maxRunning = 0;
    const runs: string[] = [];
    const s = new LocalScheduler({
      clock,
      intervalMs: 10 * S,
      jitter: 0,
      concurrency: 2,
      run: async j => {
        runs.push(j.name);
        running += 1;
        maxRunning = Math.max(maxRunning, running);
        await clock.sleep(S);
        running -= 1;
      },
    });
    expect(s.sync(['a', 'b', 'c', 'd'].map(job))).toEqual({ added: 4, removed: 0 });
    s.start();
    for (let t = 0; t < 10; t++) {
      await clock.advance(S);
      await settle();
    }
    expect(maxRunning).toBe(2);
    expect(new Set(runs)).toEqual(new Set(['a', 'b', 'c', 'd']));
    expect(s.sync([job('a')])).toEqual({ added: 0, removed: 3 });
    runs.length = 0;
    for (let t = 0; t < 30; t++) {
      await clock.advance(S);
      await settle();
    }
    expect(new Set(runs)).toEqual(new Set(['a']));
    expect(s.jobs().map(j => j.name)).toEqual(['a']);
    const closing = s.close();
    await clock.advance(2 * S);
    await closing;
    await s.close();
  });

  it('a failing cycle does not stop the loop', async () => {
    const clock = new VirtualClock(0);
    let n = 0;
    const s = new LocalScheduler({
      clock,
      intervalMs: 10 * S,
      jitter: 0,
      concurrency: 1,
      run: () => (n++, Promise.reject(new Error('boom'))),
    });
    s.sync([job('a')]);
    s.start();
    for (let t = 0; t < 30; t++) {
      await clock.advance(S);
      await settle();
    }
    await s.close();
    expect(n).toBe(4);
  });
});
