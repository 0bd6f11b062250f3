import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/domain/clock.js';
import type { Snapshot } from '../../../src/domain/snapshot.js';
import { inProcessDispatcher } from '../../../src/sim/in-process.js';
import { FAULT_KINDS, loadScenario, type Scenario } from '../../../src/sim/scenario.js';
import { Simulator } from '../../../src/sim/server.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { listJobs } from '../../../src/sources/flink-rest/discovery.js';
import { collectSnapshot } from '../../../src/sources/flink-rest/snapshot.js';

/**
 * Every scenario file parses, together they cover every fault, and each fault shows its
 * signature: read in virtual time through the REST source with the in-process dispatcher (the
 * daemon and the simulator in one process).
 */
const DIR = join(import.meta.dirname, '../../../scenarios');
const files = readdirSync(DIR).filter(f => f.endsWith('.yaml'));

async function open(name: string): Promise<{
  sim: Simulator;
  clock: VirtualClock;
  scenario: Scenario;
  snap: (minutes: number) => Promise<Snapshot>;
}> {
  const scenario = await loadScenario(join(DIR, `${name}.yaml`));
  const clock = new VirtualClock(Date.parse(scenario.startTime));
  const sim = new Simulator({ scenario, clock });
  const client = new FlinkRestClient({
    baseUrl: 'http://sim.invalid',
    dispatcher: inProcessDispatcher(sim),
    retries: 0,
    clusterCacheMs: 0,
  });
  const [job] = await listJobs(client, { clusterLabel: scenario.cluster.label });
  if (job === undefined) throw new Error('no job');
  const snap = async (minutes: number): Promise<Snapshot> => {
    await clock.advance(Date.parse(scenario.startTime) + minutes * 60_000 - clock.now());
    return collectSnapshot(client, job, clock.now());
  };
  return { sim, clock, scenario, snap };
}

const v = (s: Snapshot, prefix: string) => s.vertices.find(x => x.name.startsWith(prefix));

describe('scenario files', () => {
  it('has at least 15 valid scenarios covering every fault, with healthy shapes and a promotion peak', async () => {
    expect(files.length).toBeGreaterThanOrEqual(15);
    const scenarios = await Promise.all(files.map(f => loadScenario(join(DIR, f))));
    const kinds = new Set(scenarios.flatMap(s => s.faults.map(f => f.kind)));
    expect([...FAULT_KINDS].filter(k => !kinds.has(k))).toEqual([]);
    const healthy = scenarios.filter(s => s.faults.length === 0);
    expect(healthy.length).toBeGreaterThanOrEqual(4);
    expect(new Set(healthy.map(s => s.jobs[0]?.vertices.length)).size).toBeGreaterThanOrEqual(2);
    expect(
      scenarios.some(
        s =>
          s.promotion.length > 0 && s.jobs.some(j => j.vertices.some(x => x.profile?.kind === 'promotion')),
      ),
    ).toBe(true);
  });
});

describe('fault signatures (virtual time, in-process)', () => {
  const exception = (s: Snapshot): string =>
    `${s.exceptions?.[0]?.exceptionName ?? ''}: ${s.exceptions?.[0]?.stacktrace.split('\n')[0] ?? ''}`;

  it('connector unreachable: a restart loop with Kafka timeouts, backlog growing', async () => {
    const { snap } = await open('connector-unreachable');
    const s = await snap(25);
    expect(exception(s)).toContain('org.apache.kafka.common.errors.TimeoutException');
    expect(s.jobStatus?.numRestarts).toBeGreaterThanOrEqual(5);
  });

  it('checkpoint timeouts: expired checkpoints, then the tolerable-failure threshold fails the job', async () => {
    const { snap } = await open('checkpoint-timeouts');
    const s = await snap(30);
    expect(s.checkpoints?.counts.failed).toBeGreaterThanOrEqual(4);
    expect(
      s.checkpoints?.history.some(c => c.failureMessage === 'Checkpoint expired before completing.'),
    ).toBe(true);
    expect(exception(s)).toContain('Exceeded checkpoint tolerable failure threshold');
  });

  it('GC pressure: one TaskManager spends ~450 ms/s in GC with its heap nearly full', async () => {
    const { snap } = await open('gc-pressure');
    const s = await snap(20);
    const worst = [...(s.taskManagers ?? [])].sort(
      (a, b) => (b.gcTimeMsPerSecond ?? 0) - (a.gcTimeMsPerSecond ?? 0),
    )[0];
    expect(worst?.gcTimeMsPerSecond).toBeGreaterThan(400);
    expect((worst?.heapUsed ?? 0) / (worst?.heapMax ?? 1)).toBeGreaterThan(0.9);
  });

  it('memory: heap, metaspace and direct OOMs with the JVM messages', async () => {
    const { snap } = await open('memory-oom');
    expect(exception(await snap(18))).toContain('java.lang.OutOfMemoryError: Java heap space');
    const meta = await snap(34);
    expect(exception(meta)).toContain('java.lang.OutOfMemoryError: Metaspace');
    expect(exception(await snap(49))).toContain('java.lang.OutOfMemoryError: Direct buffer memory');
  });

  it('container OOM kill and heartbeat timeout: the TaskManager is lost and comes back with a new resource id', async () => {
    const kill = await open('container-oom-kill');
    const before = await kill.snap(9);
    const after = await kill.snap(12);
    expect(exception(after)).toMatch(/JobMasterException: TaskManager with id .* is no longer reachable/);
    const ids = (s: Snapshot) => (s.taskManagers ?? []).map(t => `${t.id}|${t.resourceId}`).sort();
    expect(ids(after)).not.toEqual(ids(before));
    expect((after.taskManagers ?? []).map(t => t.id).sort()).toEqual(
      (before.taskManagers ?? []).map(t => t.id).sort(),
    );
    const hb = await open('tm-heartbeat-timeout');
    expect(exception(await hb.snap(17))).toMatch(
      /TimeoutException: The heartbeat of TaskManager with id .* timed out/,
    );
  });

  it('no slots: the adaptive scheduler runs below its upper bound, then scales back by itself', async () => {
    const { snap } = await open('no-slots');
    expect(v(await snap(20), 'Window')?.parallelism).toBe(2);
    const back = await snap(45);
    expect(back.jobStatus?.state).toBe('RUNNING');
    expect(v(back, 'Window')?.parallelism).toBe(4);
  });

  it('hot key: one subtask saturated, the others far below (skew)', async () => {
    const { snap } = await open('hot-key');
    const busy = v(await snap(20), 'Window')?.metrics.busyTimeMsPerSecond;
    expect(busy?.max).toBeGreaterThan(950);
    expect(busy?.avg).toBeLessThan(600);
    expect(busy?.skew).toBeGreaterThan(40);
  });

  it('idle over-provisioned: every vertex nearly idle', async () => {
    const { snap } = await open('idle-over-provisioned');
    const s = await snap(30);
    for (const x of s.vertices) expect(x.metrics.busyTimeMsPerSecond?.max).toBeLessThan(60);
  });

  it('stalled watermark: records flow, the watermark stops', async () => {
    const { snap, clock } = await open('stalled-watermark');
    const s = await snap(30);
    expect(v(s, 'Window')?.metrics.numRecordsInPerSecond?.sum).toBeGreaterThan(5000);
    expect(clock.now() - (v(s, 'Window')?.metrics.currentInputWatermark?.min ?? 0)).toBeGreaterThan(
      15 * 60_000,
    );
  });

  it('bad node: CPU steal and NIC errors on the node, "No space left on device" restarts', async () => {
    const { snap, sim } = await open('bad-node');
    await snap(20);
    expect(sim.surface.cluster.nodes[0]?.cpuSeconds.steal).toBeGreaterThan(500); // 4 cores × 40 % × 600 s ≈ 960
    expect(sim.surface.cluster.nodes[2]?.cpuSeconds.steal).toBeLessThan(20);
    expect(exception(await snap(45))).toContain('java.io.IOException: No space left on device');
    await snap(65);
    expect(sim.surface.cluster.nodes[1]?.rxErrors).toBeGreaterThan(0);
  });

  it('state growth: checkpoints get bigger and slower', async () => {
    const { snap } = await open('state-growth');
    const early = await snap(6);
    const late = await snap(40);
    expect(late.checkpoints?.latestCompleted?.stateSizeBytes ?? 0).toBeGreaterThan(
      (early.checkpoints?.latestCompleted?.stateSizeBytes ?? 0) + 10 * 1024 ** 3,
    );
    expect(late.checkpoints?.latestCompleted?.endToEndDurationMs ?? 0).toBeGreaterThan(
      5 * (early.checkpoints?.latestCompleted?.endToEndDurationMs ?? 0),
    );
  });

  it('serialization error: a fast restart loop with KryoException', async () => {
    const { snap } = await open('serialization-error');
    const s = await snap(34);
    expect(exception(s)).toContain('com.esotericsoftware.kryo.KryoException');
    expect(s.jobStatus?.numRestarts).toBeGreaterThanOrEqual(10);
  });

  it('slow sink: the sink is saturated and the upstream vertices back-pressured', async () => {
    const { snap } = await open('slow-sink');
    const s = await snap(25);
    expect(v(s, 'Sink')?.metrics.busyTimeMsPerSecond?.max).toBeGreaterThan(950);
    expect(v(s, 'Window')?.metrics.backPressuredTimeMsPerSecond?.max).toBeGreaterThan(400);
    expect(v(s, 'Source')?.metrics.pendingRecords?.sum).toBeGreaterThan(0);
  });

  it('JobManager unreachable: nothing can be collected during the window', async () => {
    const { snap } = await open('jobmanager-unreachable');
    await expect(snap(20)).rejects.toMatchObject({ code: 'unreachable' });
    expect((await snap(30)).jobStatus?.state).toBe('RUNNING');
  });

  it('promotion peak: 30k/s at the peak saturates the aggregate; a 3.5-hour replay takes seconds', async () => {
    const { snap } = await open('promotion-peak');
    const before = await snap(20);
    const peak = await snap(70);
    expect(v(before, 'Source')?.metrics.numRecordsInPerSecond?.sum).toBeCloseTo(6000, -3);
    expect(v(peak, 'Window')?.metrics.busyTimeMsPerSecond?.max).toBeGreaterThan(990);
    expect(v(peak, 'Source')?.metrics.pendingRecords?.sum).toBeGreaterThan(1_000_000);
    const after = await snap(210);
    expect(after.jobStatus?.state).toBe('RUNNING');
  });

  it('is deterministic: same scenario and seed, same numbers', async () => {
    const a = await (await open('healthy-daily-curve')).snap(600);
    const b = await (await open('healthy-daily-curve')).snap(600);
    expect(a.vertices.map(x => x.metrics)).toEqual(b.vertices.map(x => x.metrics));
  });
});
