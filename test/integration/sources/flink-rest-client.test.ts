import { afterEach, describe, expect, it } from 'vitest';
import { collectSnapshot } from '../../../src/sources/flink-rest/snapshot.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { FlinkRestError } from '../../../src/sources/flink-rest/errors.js';
import { listJobs } from '../../../src/sources/flink-rest/discovery.js';
import { at, pipelineScenario, startHarness, type SimHarness } from '../../support/sim-fixtures.js';

/** The REST source against the simulator over real HTTP, with wire faults and Flink versions. */

let h: SimHarness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function harness(version = '1.20', options = {}): Promise<SimHarness> {
  const base = pipelineScenario();
  h = await startHarness(
    { ...base, cluster: { ...base.cluster, flinkVersion: version as typeof base.cluster.flinkVersion } },
    options,
  );
  await at(h, 120);
  return h;
}

describe('FlinkRestClient and collectSnapshot over HTTP', () => {
  it('discovers the job and collects a full snapshot', async () => {
    const { client, job, clock } = await harness();
    expect(job).toMatchObject({ jobKey: 'rest:test/orders', origin: 'rest', name: 'orders' });
    expect(job.flinkJobId).toMatch(/^[0-9a-f]{32}$/);
    const s = await collectSnapshot(client, job, clock.now());
    expect(s.missing).toEqual([]);
    expect(s.cluster).toMatchObject({
      reachable: true,
      flinkVersion: '1.20.2',
      taskManagers: 2,
      slotsTotal: 8,
      slotsAvailable: 6,
    });
    expect(s.jobStatus).toMatchObject({
      state: 'RUNNING',
      schedulerType: 'Adaptive',
      numRestarts: 0,
      maxParallelism: 8,
    });
    expect(s.vertices.map(v => [v.name, v.inputs.length, v.parallelism, v.maxParallelism])).toEqual([
      ['Source: Kafka', 0, 2, 8],
      ['Aggregate', 1, 2, 8],
      ['Sink: Kafka', 1, 2, 8],
    ]);
    const src = s.vertices[0];
    expect(src?.metrics.numRecordsInPerSecond?.sum).toBeCloseTo(4000, -1); // from Source__Kafka.numRecordsInPerSecond
    expect(src?.metrics.pendingRecords?.sum).toBe(0);
    expect(src?.metrics.busyTimeMsPerSecond?.skew).toBe(0);
    expect(s.vertices[1]?.metrics.currentInputWatermark?.min).toBeGreaterThan(clock.now() - 60_000);
    expect(s.checkpoints?.counts.completed).toBeGreaterThan(0);
    expect(s.checkpoints?.config).toMatchObject({
      mode: 'EXACTLY_ONCE',
      intervalMs: 60_000,
      unaligned: false,
    });
    expect(s.exceptions).toEqual([]);
    expect(s.taskManagers).toHaveLength(2);
    const tm = s.taskManagers?.[0];
    expect(tm?.id).toMatch(/^10\.0\.0\.\d+:\d+$/);
    expect(tm?.resourceId).toMatch(/^10\.0\.0\.\d+:\d+-[0-9a-f]{6}$/);
    expect(tm?.gcTimeMsPerSecond).toBeGreaterThan(0);
    expect(tm?.heapMax).toBe(2 * 1024 ** 3);
    expect(s.vertices[0]?.taskManagers).toEqual([tm?.id]);
  });

  it('degrades per Flink version: 1.18 has no agg=skew and no GC All metrics; 2.3 reports the scheduler type itself', async () => {
    const old = await harness('1.18');
    const s18 = await collectSnapshot(old.client, old.job, old.clock.now());
    expect(s18.missing).toEqual([]);
    expect(s18.cluster.flinkVersion).toBe('1.18.1');
    expect(s18.vertices[1]?.metrics.busyTimeMsPerSecond?.skew).toBeUndefined();
    expect(s18.vertices[1]?.metrics.busyTimeMsPerSecond?.max).toBeGreaterThan(0);
    expect(s18.taskManagers?.[0]?.gcTimeMsPerSecond).toBeUndefined();
    expect(s18.taskManagers?.[0]?.gcTimeMsTotal).toBeGreaterThan(0);
    const skew = await fetch(
      `${old.sim.url}/jobs/${old.job.flinkJobId}/vertices/${s18.vertices[1]?.id ?? ''}/subtasks/metrics?get=busyTimeMsPerSecond&agg=skew`,
    );
    expect(skew.status).toBe(400);
    await old.close();
    const next = await harness('2.3');
    const s23 = await collectSnapshot(next.client, next.job, next.clock.now());
    expect(s23.missing).toEqual([]);
    expect(s23.jobStatus?.schedulerType).toBe('Adaptive');
    expect(s23.vertices[1]?.metrics.busyTimeMsPerSecond?.skew).toBe(0);
    const ex = (await (
      await fetch(`${next.sim.url}/jobs/${next.job.flinkJobId}/exceptions`)
    ).json()) as Record<string, unknown>;
    expect(Object.keys(ex)).toEqual(['exceptionHistory']);
    expect((await fetch(`${next.sim.url}/v1/jobs/${next.job.flinkJobId}/rescales/config`)).status).toBe(200);
  });

  it('a malformed, partial or 5xx part is missing, never a crash; the rest is collected', async () => {
    const { sim, client, job, clock } = await harness();
    sim.wireFaults.add({ route: '/jobs/:jobid/checkpoints', mode: 'malformed' });
    sim.wireFaults.add({ route: '/jobs/:jobid/exceptions', mode: '5xx', status: 503 });
    sim.wireFaults.add({ route: '/taskmanagers', mode: 'partial' });
    const s = await collectSnapshot(client, job, clock.now());
    expect(s.missing.sort()).toEqual(['checkpoints', 'exceptions', 'taskmanagers']);
    expect(s.checkpoints).toBeUndefined();
    expect(s.exceptions).toBeUndefined();
    expect(s.taskManagers).toBeUndefined();
    expect(s.vertices[1]?.metrics.busyTimeMsPerSecond?.max).toBeGreaterThan(0);
    expect(client.stats.failures).toMatchObject({ malformed: 2, http: 1 });
    expect(client.stats.retries).toBeGreaterThanOrEqual(1); // the 503 was retried once
  });

  it('a hung endpoint times out and is missing; a hung job endpoint fails the collect with timeout', async () => {
    const { sim, client, job, clock } = await harness('1.20', { timeoutMs: 1500, retries: 0 });
    const vid = (await client.job(job.flinkJobId)).vertices[1]?.id ?? '';
    sim.wireFaults.add({ route: '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', mode: 'hang', times: 1 });
    const s = await collectSnapshot(client, job, clock.now());
    expect(s.missing.length).toBe(1);
    expect(s.missing[0]).toMatch(/^vertex:/);
    expect(client.stats.failures.timeout).toBe(1);
    expect(s.vertices.find(v => v.id === vid)).toBeDefined();
    sim.wireFaults.add({ route: '/jobs/:jobid', mode: 'hang', times: 1 });
    await expect(collectSnapshot(client, job, clock.now())).rejects.toMatchObject({ code: 'timeout' });
  });

  it('classifies an unreachable JobManager, a gone job and a refused budget', async () => {
    const { sim, client, job, clock } = await harness();
    const gone = { ...job, flinkJobId: 'f'.repeat(32) };
    await expect(collectSnapshot(client, gone, clock.now())).rejects.toMatchObject({
      code: 'job-gone',
      details: { status: 404 },
    });
    sim.wireFaults.add({ route: '*', mode: 'reset' });
    const fresh = new FlinkRestClient({ baseUrl: sim.url, retries: 1, backoffMs: 1 });
    await expect(collectSnapshot(fresh, job, clock.now())).rejects.toMatchObject({ code: 'unreachable' });
    expect(fresh.stats.retries).toBe(1);
    sim.wireFaults.clear();
    const url = sim.url;
    await sim.close();
    await expect(listJobs(new FlinkRestClient({ baseUrl: url, retries: 0 }))).rejects.toBeInstanceOf(
      FlinkRestError,
    );
    const tight = new FlinkRestClient({
      baseUrl: url,
      retries: 0,
      budget: { maxInFlight: 1, maxQueued: 0, maxWaitMs: 10 },
    });
    const results = await Promise.allSettled([tight.overview(), tight.overview()]);
    expect(
      results.map(r => (r.status === 'rejected' ? (r.reason as FlinkRestError).code : 'ok')).sort(),
    ).toEqual(['budget', 'unreachable']);
  });

  it('a jobmanager-unreachable fault window makes collects fail as unreachable, then recover', async () => {
    const base = pipelineScenario({ faults: [{ kind: 'jobmanager-unreachable', from: '3m', to: '4m' }] });
    h = await startHarness(base, { retries: 0 });
    await at(h, 200);
    await expect(collectSnapshot(h.client, h.job, h.clock.now())).rejects.toMatchObject({
      code: 'unreachable',
    });
    await at(h, 250);
    const s = await collectSnapshot(h.client, h.job, h.clock.now());
    expect(s.jobStatus?.state).toBe('RUNNING');
  });

  it('validates PUT resource-requirements like Flink: 400 on a bad body, a missing vertex or a bound above maxParallelism', async () => {
    const { client, job } = await harness();
    const req = await client.getResourceRequirements(job.flinkJobId);
    const ids = Object.keys(req);
    expect(ids).toHaveLength(3);
    expect(Object.values(req)[0]).toEqual({ parallelism: { lowerBound: 1, upperBound: 2 } });
    const put = (body: unknown): Promise<unknown> =>
      client.putResourceRequirements(job.flinkJobId, body as typeof req).then(
        () => 'ok',
        (e: unknown) => e,
      );
    const [first = '', ...rest] = ids;
    expect(await put({ [first]: { parallelism: { lowerBound: 1, upperBound: 2 } } })).toMatchObject({
      code: 'http',
      details: { status: 400 },
    });
    const tooHigh = Object.fromEntries(
      ids.map(id => [id, { parallelism: { lowerBound: 1, upperBound: 9 } }]),
    );
    const e = (await put(tooHigh)) as FlinkRestError;
    expect(e.details.status).toBe(400);
    expect(e.details.errors?.[0]).toContain('max parallelism [8]');
    expect(
      await put({ ...req, ['0'.repeat(32)]: { parallelism: { lowerBound: 1, upperBound: 1 } } }),
    ).toMatchObject({ details: { status: 400 } });
    const raw = await fetch(`${h?.sim.url ?? ''}/jobs/${job.flinkJobId}/resource-requirements`, {
      method: 'PUT',
      body: '{not json',
    });
    expect(raw.status).toBe(400);
    expect(await raw.json()).toEqual({
      errors: ['Request did not match expected format JobResourceRequirementsBody.'],
    });
    const unbounded = Object.fromEntries(
      ids.map(id => [id, { parallelism: { lowerBound: -1, upperBound: -1 } }]),
    );
    expect(await put(unbounded)).toBe('ok');
    expect((await client.getResourceRequirements(job.flinkJobId))[rest[0] ?? '']).toEqual({
      parallelism: { lowerBound: 1, upperBound: 8 },
    });
  });
});
