import { createServer, type Server } from 'node:http';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Planner } from '../../../src/agents/agent.js';
import { detect, type DetectState } from '../../../src/agents/detect/detect.js';
import { Daemon, type JobSource } from '../../../src/agent-manager/daemon.js';
import { bulkJobSource, restJobSource } from '../../../src/agent-manager/rest-job-source.js';
import { loadLibrary } from '../../../src/agent-manager/start.js';
import { compileConfig } from '../../../src/config/load.js';
import { RealClock, VirtualClock } from '../../../src/domain/clock.js';
import type { HealthReport, JobFacts, JobRef, Snapshot } from '../../../src/domain/index.js';
import { startFleet } from '../../../src/sim/fleet-server.js';
import { loadScenario, Simulator } from '../../../src/sim/index.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { PrometheusClient, TASK_FAMILIES } from '../../../src/sources/prometheus/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { START } from '../../support/sim-fixtures.js';

/** Task families + the job family + the TaskManager family. */
const FAMILIES = TASK_FAMILIES.length + 2;
const TICK = 10_000;
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

function capturingLog(): { log: ReturnType<typeof createLogger>; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'info',
    destination: new Writable({
      write: (chunk: Buffer, _e, cb) => {
        for (const l of chunk.toString('utf8').split('\n'))
          if (l.trim() !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }),
  });
  return { log, lines };
}

/** Every fact as `subject|name` → value. */
function flatten(f: JobFacts): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const add = (scope: string, facts: Record<string, unknown>): void => {
    for (const [k, v] of Object.entries(facts)) out.set(`${scope}|${k}`, v);
  };
  add('cluster', f.cluster.facts);
  add('job', f.job.facts);
  for (const group of [f.sources, f.vertices, f.taskmanagers, f.nodes])
    for (const s of group) add(`${s.subject.kind}:${s.subject.id}`, s.facts);
  return out;
}

function close(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= 1e-6 + 0.01 * Math.abs(a);
  return JSON.stringify(a) === JSON.stringify(b);
}

const firing = (r: HealthReport | undefined): string[] =>
  (r?.findings ?? [])
    .filter(f => f.state === 'firing')
    .map(f => `${f.rule}@${f.subject.id}`)
    .sort();

/** A source that keeps the snapshots it returns (to run detect on them as well). */
function recording(source: JobSource): JobSource & { last?: Snapshot } {
  const out: JobSource & { last?: Snapshot } = {
    id: source.id,
    listJobs: () => source.listJobs(),
    collect: async (job, now) => (out.last = await source.collect(job, now)),
  };
  if (source.bulk === true) Object.assign(out, { bulk: true });
  return out;
}

async function daemonFor(source: JobSource, clock: VirtualClock | RealClock, planners: Planner[] = []) {
  const config = compileConfig({ agent: { interval: TICK } });
  const { rules, version, classify } = await loadLibrary(undefined);
  return new Daemon({
    config,
    clock,
    sources: [source],
    store: new MemoryStore(),
    rules,
    rulesVersion: version,
    log: createLogger({ level: 'silent' }),
    planners,
    ...(classify === undefined ? {} : { classify }),
  });
}

describe('Prometheus bulk collection against the simulator over HTTP', () => {
  it.each(['slow-sink', 'serialization-error', 'checkpoint-timeouts'])(
    '%s: the same facts and findings as REST collection, tick by tick',
    async name => {
      const clock = new VirtualClock(START);
      const sim = await new Simulator({
        scenario: await loadScenario(`scenarios/${name}.yaml`),
        clock,
      }).listen();
      cleanup.push(() => sim.close());
      const cluster = {
        label: 'sim',
        url: sim.url,
        labels: {},
        timeout: 5000,
        retries: 1,
        maxConcurrentRequests: 8,
      };
      const restSource = restJobSource(
        cluster,
        new FlinkRestClient({ baseUrl: sim.url, clusterCacheMs: 0, retries: 1 }),
      );
      const rest = recording(restSource);
      const bulkSource = bulkJobSource(
        cluster,
        new PrometheusClient({ baseUrl: sim.url }),
        // random 0: the first checkpoint-details and exceptions read is at once, as in REST collection.
        { tickMs: TICK, restIntervalMs: 300_000, random: () => 0 },
        new FlinkRestClient({ baseUrl: sim.url, clusterCacheMs: 0, retries: 1 }),
      );
      const bulk = recording(bulkSource);
      const [dRest, dBulk] = [await daemonFor(rest, clock), await daemonFor(bulk, clock)];
      const [jobs] = [await dRest.discover(), await dBulk.discover()];
      const job = jobs[0] as JobRef;
      const states: (DetectState | undefined)[] = [undefined, undefined];
      const windows = compileConfig({}).windows;
      let compared = 0;
      const differing = new Set<string>();
      const findingsSeen = new Set<string>();
      // 25 minutes in 10 s ticks: through the fault of each scenario (they start at 10 minutes or earlier).
      for (let i = 0; i < 150; i++) {
        await clock.advance(TICK);
        const [a, b] = [await dRest.cycle(job), await dBulk.cycle(job)];
        expect(firing(b)).toEqual(firing(a));
        for (const f of firing(a)) findingsSeen.add(f);
        const facts = [rest.last, bulk.last].map((s, k) => {
          const d = detect(s as Snapshot, states[k], { windows, catchUpMs: 300_000 });
          states[k] = d.state;
          return flatten(d.facts);
        });
        const [fa, fb] = facts as [Map<string, unknown>, Map<string, unknown>];
        for (const [key, value] of fa) {
          compared++;
          if (!close(value, fb.get(key))) differing.add(`${key}: ${String(value)} vs ${String(fb.get(key))}`);
        }
        for (const key of fb.keys())
          if (!fa.has(key)) differing.add(`${key}: absent vs ${String(fb.get(key))}`);
        expect(b.dataState).toBe(a.dataState);
      }
      expect([...differing]).toEqual([]);
      expect(compared).toBeGreaterThan(150 * 50);
      // The scenario's fault shows in both.
      expect(findingsSeen.size).toBeGreaterThan(0);
      // One query per family and tick, whatever the number of jobs; REST only at start, on the cadence
      // and on symptoms (a job graph read, not 17 requests per cycle).
      const stats = bulkSource.collector.stats;
      expect(stats.ticks).toBe(150);
      expect(stats.queries).toBe(150 * FAMILIES);
      expect(stats.restReads.first).toBe(1);
      // Per tick: four cluster-wide reads (version cached) plus the rare per-job reads.
      expect(bulkSource.client.stats.requests).toBeLessThan(restSource.client.stats.requests / 3);
    },
    120_000,
  );

  it('a fleet cluster of 30 jobs costs one query per family per tick, and REST stays within the budget', async () => {
    const clock = new RealClock();
    const fleet = await startFleet({ jobs: 90, origins: 3, seed: 5, clock });
    cleanup.push(() => fleet.close());
    const prometheus = new PrometheusClient({ baseUrl: fleet.prometheusUrl });
    const sources = fleet.urls.map((url, i) =>
      bulkJobSource(
        { label: `c${i}`, url, labels: {}, timeout: 5000, retries: 1, maxConcurrentRequests: 4 },
        prometheus,
        { tickMs: 60_000, restIntervalMs: 300_000 },
        new FlinkRestClient({ baseUrl: url, retries: 1, budget: { maxInFlight: 4 } }),
      ),
    );
    const config = compileConfig({ agent: { interval: 60_000 } });
    const { rules, version } = await loadLibrary(undefined);
    const daemon = new Daemon({
      config,
      clock,
      sources,
      store: new MemoryStore(),
      rules,
      rulesVersion: version,
      log: createLogger({ level: 'silent' }),
    });
    const jobs = await daemon.discover();
    expect(jobs).toHaveLength(90);
    const reports = await Promise.all(jobs.map(j => daemon.cycle(j)));
    expect(reports.every(r => r.dataState === 'ok' && r.score !== null)).toBe(true);
    // Every job's vertices carry Prometheus metrics, split by job_id.
    const snap = await sources[0]?.collect(jobs[0] as JobRef, Date.now());
    expect(snap?.vertices.every(v => v.metrics.busyTimeMsPerSecond?.max !== undefined)).toBe(true);
    expect(snap?.vertices.every(v => (v.taskManagers?.length ?? 0) > 0)).toBe(true);
    for (const s of sources) {
      expect(s.collector.stats.ticks).toBe(1);
      expect(s.collector.stats.queries).toBe(FAMILIES);
      expect(s.client.budget.peakInFlight).toBeLessThanOrEqual(4);
      expect(s.client.budget.refused).toBe(0);
    }
    expect(prometheus.stats.queries).toBe(3 * FAMILIES);
    // A second round within the same tick reuses the collection: no new query.
    await Promise.all(jobs.map(j => daemon.cycle(j)));
    expect(prometheus.stats.queries).toBe(3 * FAMILIES);
    await daemon.close();
  });

  describe('a failing Prometheus', () => {
    /** A proxy in front of the simulator's query API that breaks the queries of chosen metrics. */
    async function faultyPrometheus(
      upstream: string,
      faults: Record<string, '500' | 'bad-json' | 'empty' | 'error-status'>,
    ): Promise<string> {
      const server: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const query = new URLSearchParams(body).get('query') ?? '';
          const fault = Object.entries(faults).find(([metric]) => query.includes(metric))?.[1];
          if (fault === '500') {
            res.writeHead(500, { 'content-type': 'text/plain' }).end('internal error');
            return;
          }
          if (fault === 'bad-json') {
            res
              .writeHead(200, { 'content-type': 'application/json' })
              .end('{"status":"success","data":{"resultT');
            return;
          }
          if (fault === 'empty') {
            res
              .writeHead(200, { 'content-type': 'application/json' })
              .end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
            return;
          }
          if (fault === 'error-status') {
            res
              .writeHead(422, { 'content-type': 'application/json' })
              .end(JSON.stringify({ status: 'error', errorType: 'execution', error: 'query timed out' }));
            return;
          }
          void fetch(`${upstream}${req.url ?? ''}`, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          }).then(async r =>
            res.writeHead(r.status, { 'content-type': 'application/json' }).end(await r.text()),
          );
        });
      });
      await new Promise<void>(r => server.listen(0, '127.0.0.1', () => r()));
      cleanup.push(() => new Promise<void>(r => server.close(() => r())));
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no address');
      return `http://127.0.0.1:${addr.port}`;
    }

    it('leaves the failed families absent, logs them with endpoint and query, plans nothing, keeps running', async () => {
      const clock = new VirtualClock(START);
      const sim = await new Simulator({
        scenario: await loadScenario('scenarios/slow-sink.yaml'),
        clock,
      }).listen();
      cleanup.push(() => sim.close());
      const url = await faultyPrometheus(sim.url, {
        busyTimeMsPerSecond: '500',
        pendingRecords: 'bad-json',
        backPressuredTimeMsPerSecond: 'empty',
        flink_jobmanager_job_: 'error-status',
      });
      const { log, lines } = capturingLog();
      const cluster = {
        label: 'sim',
        url: sim.url,
        labels: {},
        timeout: 5000,
        retries: 1,
        maxConcurrentRequests: 8,
      };
      const source = bulkJobSource(cluster, new PrometheusClient({ baseUrl: url }), {
        tickMs: TICK,
        restIntervalMs: 300_000,
        log,
        // Checkpoint details and exceptions are first read at 150 s, after these cycles.
        random: () => 0.5,
      });
      const rec = recording(source);
      let planned = 0;
      const planner: Planner = {
        plan: () => {
          planned++;
          return Promise.resolve([]);
        },
      };
      const daemon = await daemonFor(rec, clock, [planner]);
      const [job] = await daemon.discover();
      for (let i = 0; i < 3; i++) {
        await clock.advance(TICK);
        const report = await daemon.cycle(job as JobRef);
        expect(report.dataState).toBe('partial');
        expect(report.actions).toEqual([]);
      }
      expect(planned).toBe(0);
      const snap = rec.last as Snapshot;
      expect(snap.missing).toEqual(
        expect.arrayContaining(['prometheus:busy', 'prometheus:pendingRecords', 'prometheus:job']),
      );
      // An empty answer is no failure: the family is simply absent for the job.
      expect(snap.missing).not.toContain('prometheus:backPressured');
      for (const v of snap.vertices) {
        expect(v.metrics.busyTimeMsPerSecond).toBeUndefined();
        expect(v.metrics.backPressuredTimeMsPerSecond).toBeUndefined();
        expect(v.metrics.pendingRecords).toBeUndefined();
        expect(v.taskManagers).toBeUndefined();
        // Families that answered are there.
        expect(v.metrics.idleTimeMsPerSecond?.avg).toBeTypeOf('number');
      }
      expect(snap.jobStatus?.numRestarts).toBeUndefined();
      expect(snap.checkpoints).toBeUndefined();
      const d = flatten(
        detect(snap, undefined, { windows: compileConfig({}).windows, catchUpMs: 300_000 }).facts,
      );
      expect([...d.keys()].some(k => k.endsWith('|vertex.busyRatio.max'))).toBe(false);
      expect([...d.keys()].some(k => k.endsWith('|vertex.backpressureRatio.max'))).toBe(false);
      expect([...d.keys()].some(k => k.endsWith('|job.restarts.countShort'))).toBe(false);
      expect([...d.keys()].some(k => k.endsWith('|vertex.idleRatio.avg'))).toBe(true);
      const warn = lines.find(
        l =>
          l.msg === 'prometheus queries failed; those metric families are absent for the cluster this tick',
      );
      expect(warn).toMatchObject({ cluster: 'sim', endpoint: url });
      const failed = warn?.failed as Record<string, string>;
      expect(failed.busy).toMatch(
        /^HTTP 500 \(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/query, query .*max by \(job_id, task_id, subtask_index, tm_id\) \(flink_taskmanager_job_task_busyTimeMsPerSecond\{job_id=~/,
      );
      expect(failed.pendingRecords).toMatch(/response is not JSON/);
      expect(failed.job).toMatch(/execution: query timed out/);

      // Prometheus down altogether: still no crash; every family absent; REST data still there.
      const down = bulkJobSource(
        cluster,
        new PrometheusClient({ baseUrl: 'http://127.0.0.1:1', timeoutMs: 500 }),
        {
          tickMs: TICK,
          restIntervalMs: 300_000,
          log,
        },
      );
      await down.listJobs();
      await clock.advance(TICK);
      const s2 = await down.collect(job as JobRef, clock.now());
      expect(s2.missing.filter(m => m.startsWith('prometheus:'))).toHaveLength(FAMILIES);
      expect(s2.vertices.every(v => Object.keys(v.metrics).length === 0)).toBe(true);
      expect(s2.jobStatus?.state).toBe('RUNNING');
      expect(s2.cluster.reachable).toBe(true);
      await daemon.close();
    }, 60_000);
  });
});
