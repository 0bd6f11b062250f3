import { afterEach, describe, expect, it } from 'vitest';
import type { Snapshot, VertexSnapshot } from '../../../src/domain/snapshot.js';
import { collectSnapshot } from '../../../src/sources/flink-rest/snapshot.js';
import { withParallelism } from '../../../src/sources/flink-rest/resource-requirements.js';
import { at, pipelineScenario, startHarness, type SimHarness } from '../../support/sim-fixtures.js';

/**
 * The simulator must behave like Flink: 60 s moving averages served from a metric store that is
 * refreshed every 10 s, back-pressure upstream of the bottleneck, source backlog, and an adaptive
 * scheduler that applies new requirements at once (1.x; RUNNING → CREATED → RUNNING, as the
 * recordings of real Flink show) with restart downtime.
 * Virtual time, real HTTP, read through the REST source.
 */

let h: SimHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function vertex(s: Snapshot, name: string): VertexSnapshot {
  const v = s.vertices.find(x => x.name === name);
  if (v === undefined) throw new Error(`no vertex ${name}`);
  return v;
}

async function sample(seconds: number): Promise<Snapshot> {
  if (h === undefined) throw new Error('no harness');
  await at(h, seconds);
  return collectSnapshot(h.client, h.job, h.clock.now());
}

const busyMax = (s: Snapshot, name: string): number | undefined =>
  vertex(s, name).metrics.busyTimeMsPerSecond?.max;

describe('simulator dynamics', () => {
  it('a load step raises busy over ~60 s, visible only after the next 10 s metric fetch, and back-pressures the source', async () => {
    h = await startHarness(pipelineScenario());
    const steady = await sample(295); // metric fetch at t=295
    const early = await sample(304); // step at t=300, same fetch: nothing visible yet
    const afterFetch = await sample(305); // new fetch, 5 s of the new load in the 60 s window
    const half = await sample(330);
    const full = await sample(365);
    const later = await sample(425);
    const rows = [steady, early, afterFetch, half, full, later].map(s => ({
      t: (s.observedAt - Date.parse('2026-11-11T00:00:00Z')) / 1000,
      aggBusyMax: busyMax(s, 'Aggregate'),
      srcBackPressureMax: vertex(s, 'Source: Kafka').metrics.backPressuredTimeMsPerSecond?.max,
      srcPending: vertex(s, 'Source: Kafka').metrics.pendingRecords?.sum,
      srcLagMs: vertex(s, 'Source: Kafka').metrics.currentEmitEventTimeLag?.max,
    }));
    console.table(rows);
    // 4000 rec/s on 2 × 5000 rec/s → 400 ms/s busy.
    expect(busyMax(steady, 'Aggregate')).toBeCloseTo(400, -1);
    expect(busyMax(early, 'Aggregate')).toBeCloseTo(busyMax(steady, 'Aggregate') ?? 0, 6);
    // One 5 s view update of a 60 s window: 400 + 5/60 × 600 = 450.
    expect(busyMax(afterFetch, 'Aggregate')).toBeGreaterThan(430);
    expect(busyMax(afterFetch, 'Aggregate')).toBeLessThan(480);
    expect(busyMax(half, 'Aggregate')).toBeGreaterThan(600);
    expect(busyMax(half, 'Aggregate')).toBeLessThan(800);
    expect(busyMax(full, 'Aggregate')).toBeGreaterThan(990);
    // 12000 arrive, 10000 get through: the source is back-pressured and its backlog grows ~2000/s.
    expect(vertex(full, 'Source: Kafka').metrics.backPressuredTimeMsPerSecond?.max).toBeGreaterThan(200);
    expect(vertex(steady, 'Source: Kafka').metrics.backPressuredTimeMsPerSecond?.max).toBe(0);
    const grown =
      (vertex(later, 'Source: Kafka').metrics.pendingRecords?.sum ?? 0) -
      (vertex(full, 'Source: Kafka').metrics.pendingRecords?.sum ?? 0);
    expect(grown / 60).toBeGreaterThan(1800);
    expect(grown / 60).toBeLessThan(2200);
    expect(vertex(later, 'Source: Kafka').metrics.currentEmitEventTimeLag?.max).toBeGreaterThan(
      vertex(full, 'Source: Kafka').metrics.currentEmitEventTimeLag?.max ?? 0,
    );
    // Downstream of the bottleneck nothing is back-pressured.
    expect(vertex(full, 'Sink: Kafka').metrics.backPressuredTimeMsPerSecond?.max).toBe(0);
  });

  it('a PUT of resource requirements applies at once, restarts with downtime and reset counters, then lowers busy and drains the lag', async () => {
    h = await startHarness(pipelineScenario());
    const before = await sample(420); // overloaded since t=300
    const aggId = vertex(before, 'Aggregate').id;
    const current = await h.client.getResourceRequirements(h.job.flinkJobId);
    await h.client.putResourceRequirements(
      h.job.flinkJobId,
      withParallelism(current, {
        [aggId]: 4,
        [vertex(before, 'Source: Kafka').id]: 4,
        [vertex(before, 'Sink: Kafka').id]: 4,
      }),
    );
    // A second update while the first is pending is accepted (real Flink answers 200; no 409).
    const again = await h.client
      .putResourceRequirements(
        h.job.flinkJobId,
        withParallelism(current, {
          [aggId]: 4,
          [vertex(before, 'Source: Kafka').id]: 4,
          [vertex(before, 'Sink: Kafka').id]: 4,
        }),
      )
      .then(() => 'ok');
    const down = await sample(425); // rescaled at t=421: CREATED during the downtime (20 s)
    const downLater = await sample(439);
    const up = await sample(450); // running again since t=441 with parallelism 4; first fetch after it
    const settled = await sample(465);
    const drained = await sample(700);
    const rows = [before, down, downLater, up, settled, drained].map(s => ({
      t: (s.observedAt - Date.parse('2026-11-11T00:00:00Z')) / 1000,
      state: s.jobStatus?.state,
      aggParallelism: vertex(s, 'Aggregate').parallelism,
      aggBusyMax: busyMax(s, 'Aggregate'),
      srcRecordsInRate: vertex(s, 'Source: Kafka').metrics.numRecordsInPerSecond?.sum,
      srcPending: vertex(s, 'Source: Kafka').metrics.pendingRecords?.sum,
    }));
    console.table(rows);
    expect(again).toBe('ok');
    expect(vertex(before, 'Aggregate').parallelism).toBe(2);
    expect(down.jobStatus?.state).toBe('CREATED');
    expect(downLater.jobStatus?.state).toBe('CREATED');
    // No running tasks: no task metrics at all (zero throughput), and that is not a failure.
    expect(vertex(downLater, 'Aggregate').metrics).toEqual({});
    expect(downLater.missing).toEqual([]);
    expect(up.jobStatus?.state).toBe('RUNNING');
    expect(vertex(up, 'Aggregate').parallelism).toBe(4);
    // Counters reset and the 60 s windows restart from zero: the rate ramps up again.
    expect(vertex(up, 'Source: Kafka').metrics.numRecordsInPerSecond?.sum ?? 0).toBeLessThan(
      vertex(before, 'Source: Kafka').metrics.numRecordsInPerSecond?.sum ?? 0,
    );
    // Backlog grew while down (12000/s for 20 s on top of the overload).
    const pendingBefore = vertex(before, 'Source: Kafka').metrics.pendingRecords?.sum ?? 0;
    expect(vertex(up, 'Source: Kafka').metrics.pendingRecords?.sum ?? 0).toBeGreaterThan(
      pendingBefore + 100_000,
    );
    // 4 × 5000 capacity: catching up at 20000/s (8000/s net) until the backlog is gone, then 12000/20000 = 600.
    expect(vertex(settled, 'Source: Kafka').metrics.pendingRecords?.sum).toBeLessThan(
      vertex(up, 'Source: Kafka').metrics.pendingRecords?.sum ?? 0,
    );
    expect(vertex(drained, 'Source: Kafka').metrics.pendingRecords?.sum).toBeLessThan(
      vertex(settled, 'Source: Kafka').metrics.pendingRecords?.sum ?? 0,
    );
    expect(vertex(drained, 'Source: Kafka').metrics.pendingRecords?.sum).toBe(0);
    expect(busyMax(drained, 'Aggregate')).toBeGreaterThan(560);
    expect(busyMax(drained, 'Aggregate')).toBeLessThan(640);
    // Real Flink counts the rescale in numRestarts, without an exception (recordings).
    expect(drained.jobStatus?.numRestarts).toBe(1);
    expect(drained.exceptions).toEqual([]);
  });
});
