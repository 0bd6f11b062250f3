import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AgentCpu } from '../src/agents/agent.js';
import type { DetectState } from '../src/agents/detect/detect.js';
import { Daemon } from '../src/agent-manager/daemon.js';
import { bulkJobSource } from '../src/agent-manager/rest-job-source.js';
import { loadLibrary } from '../src/agent-manager/start.js';
import { compileConfig } from '../src/config/load.js';
import { RealClock, type HealthReport } from '../src/domain/index.js';
import { FlinkRestClient } from '../src/sources/flink-rest/client.js';
import { httpDispatcher } from '../src/sources/flink-rest/transport.js';
import { PrometheusClient } from '../src/sources/prometheus/index.js';
import { FileStore } from '../src/state/file-store.js';
import { createLogger } from '../src/telemetry/logger.js';
import { cpuSecondsOf, spawnFleetSimulator } from './fleet-sim.js';
import { describeMachine, machineInfo } from './machine.js';

/**
 * Fleet benchmark with bulk collection: the standalone daemon (in-process scheduler, file store,
 * the full rule library, dry-run) watching 30,000 simulated jobs over 1,000 JobManager origins
 * through the Prometheus collector, at a 60 s interval in real time (no time compression), the
 * fleet simulator (REST origins + its Prometheus query API) in a separate process.
 *
 * After a warm-up (discovery, the first tick of every cluster and its per-job REST reads), it
 * measures for FLEET_PROM_SECONDS: lag behind schedule, CPU per stage and per cycle, RSS, state
 * per job, Prometheus queries per cluster tick, REST requests per JobManager against the budget.
 * FLEET_PROM_PROFILE=1 writes a CPU profile of the measured window to bench/results/.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const JOBS = Number(process.env.FLEET_JOBS ?? 30_000);
const ORIGINS = Number(process.env.FLEET_ORIGINS ?? 1_000);
const INTERVAL_MS = Number(process.env.FLEET_PROM_INTERVAL_MS ?? 60_000);
const WARMUP_MS = Number(process.env.FLEET_PROM_WARMUP_MS ?? 2 * INTERVAL_MS);
const MEASURE_MS = Number(process.env.FLEET_PROM_SECONDS ?? 300) * 1000;
const CONCURRENCY = Number(process.env.FLEET_PROM_CONCURRENCY ?? 256);
const MAX_IN_FLIGHT = 4;

interface CycleCost extends AgentCpu {
  parse: number;
  collect: number;
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function stats(values: number[], digits = 3): { median: number; p99: number; max: number; n: number } {
  const s = [...values].sort((a, b) => a - b);
  const r = (x: number): number => Math.round(x * 10 ** digits) / 10 ** digits;
  return {
    median: r(quantile(s, 0.5)),
    p99: r(quantile(s, 0.99)),
    max: r(s[s.length - 1] ?? Number.NaN),
    n: s.length,
  };
}

function dirBytes(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    files++;
    bytes += statSync(join(dir, name)).size;
  }
  return { files, bytes };
}

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function run(): Promise<void> {
  const machine = machineInfo();
  console.log(
    `fleet-prom: ${JOBS} jobs over ${ORIGINS} origins, ${INTERVAL_MS / 1000} s interval, on ${describeMachine(machine)}`,
  );
  const t0 = Date.now();
  const sim = await spawnFleetSimulator(JOBS, ORIGINS);
  const simStartupMs = Date.now() - t0;
  const stateDir = mkdtempSync(join(tmpdir(), 'autopilot-fleet-prom-'));
  const log = createLogger({ level: 'warn', destination: process.stderr });
  let daemon: Daemon | undefined;
  try {
    const config = compileConfig({
      agent: { interval: INTERVAL_MS, jitter: 0.5, concurrency: CONCURRENCY },
      prometheus: { url: sim.prometheusUrl },
      state: { dir: stateDir },
    });
    const { rules, version, classify } = await loadLibrary(undefined);
    const clock = new RealClock();
    let measuring = false;
    const lags: number[] = [];
    const cycles: CycleCost[] = [];
    const pending = new Map<string, { parse: number; collect: number }>();
    const wall: { collect: number[]; store: number[]; total: number[] } = {
      collect: [],
      store: [],
      total: [],
    };
    const prometheus = new PrometheusClient({
      baseUrl: sim.prometheusUrl,
      timeoutMs: config.prometheus.timeout,
    });
    // One keep-alive agent for all 1,000 origins (two sockets each), as the fleet-sim bench does.
    const dispatcher = httpDispatcher({ maxSockets: 2 });
    const sources = sim.urls.map((url, i) =>
      bulkJobSource(
        {
          label: `origin-${i}`,
          url,
          labels: {},
          timeout: 10_000,
          retries: 1,
          maxConcurrentRequests: MAX_IN_FLIGHT,
        },
        prometheus,
        {
          tickMs: config.agent.interval,
          restIntervalMs: config.prometheus.restInterval,
          log,
          onCost: (job, c) => pending.set(job.jobKey, { parse: c.parseCpuMs, collect: c.collectCpuMs }),
        },
        new FlinkRestClient({
          baseUrl: url,
          dispatcher,
          timeoutMs: 10_000,
          retries: 1,
          budget: { maxInFlight: MAX_IN_FLIGHT },
        }),
      ),
    );
    const detectStates = new Map<string, DetectState>();
    const store = FileStore.open(stateDir);
    const reports = new Map<string, HealthReport>();
    daemon = new Daemon({
      config,
      clock,
      sources,
      store,
      rules,
      rulesVersion: version,
      log,
      detectStates,
      ...(classify === undefined ? {} : { classify }),
      onReport: r => reports.set(r.id, r),
      onTiming: t => {
        if (!measuring) return;
        wall.collect.push(t.collect);
        wall.store.push(t.store);
        wall.total.push(t.collect + t.detect + t.analyze + t.select + t.execute + t.store);
      },
      onLag: lagMs => {
        if (measuring) lags.push(lagMs);
      },
      onCpu: (cpu, job) => {
        const c = pending.get(job.jobKey);
        pending.delete(job.jobKey);
        if (measuring && c !== undefined) cycles.push({ ...cpu, ...c });
      },
    });
    let rssMax = 0;
    const rssTimer = setInterval(() => {
      rssMax = Math.max(rssMax, process.memoryUsage().rss);
    }, 1000);
    const startedAt = Date.now();
    await daemon.start();
    const discoveryMs = Date.now() - startedAt;
    console.log(`discovery and scheduling took ${discoveryMs} ms; warming up ${WARMUP_MS / 1000} s`);
    await new Promise(r => setTimeout(r, WARMUP_MS));

    // ── measured window ──
    const snap = () => ({
      at: Date.now(),
      cpu: cpuNow(),
      simCpu: cpuSecondsOf(sim.child.pid ?? 0),
      queries: prometheus.stats.queries,
      promParse: prometheus.stats.parseCpuMs,
      restParse: sources.reduce((a, s) => a + s.client.stats.parseCpuMs, 0),
      ticks: sources.reduce((a, s) => a + s.collector.stats.ticks, 0),
      tickWallMs: sources.reduce((a, s) => a + s.collector.stats.tickWallMs, 0),
      perOrigin: sources.map(s => s.client.stats.requests),
      restReads: sources.reduce(
        (a, s) => ({
          first: a.first + s.collector.stats.restReads.first,
          scheduled: a.scheduled + s.collector.stats.restReads.scheduled,
          symptom: a.symptom + s.collector.stats.restReads.symptom,
        }),
        { first: 0, scheduled: 0, symptom: 0 },
      ),
    });
    const session = process.env.FLEET_PROM_PROFILE === '1' ? new Session() : undefined;
    if (session) {
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    for (const s of sources) s.client.budget.peakInFlight = 0;
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const before = snap();
    measuring = true;
    await new Promise(r => setTimeout(r, MEASURE_MS));
    measuring = false;
    const after = snap();
    loopDelay.disable();
    if (session) {
      const { profile } = await session.post('Profiler.stop');
      mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
      writeFileSync(join(ROOT, 'bench/results/fleet-prom.cpuprofile'), JSON.stringify(profile));
      session.disconnect();
    }
    clearInterval(rssTimer);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);

    const seconds = (after.at - before.at) / 1000;
    const n = cycles.length;
    const whole = cycles.map(c => c.parse + c.collect + c.detect + c.analyze + c.select + c.store);
    const perOriginRequests = after.perOrigin.map((x, i) => x - (before.perOrigin[i] ?? 0));
    const ticks = after.ticks - before.ticks;
    const queries = after.queries - before.queries;
    const jobs = detectStates.size;
    let detectBytes = 0;
    for (const s of detectStates.values()) detectBytes += Buffer.byteLength(JSON.stringify(s));
    const files = dirBytes(join(stateDir, 'jobs'));
    const dataStates: Record<string, number> = {};
    let firing = 0;
    for (const r of reports.values()) {
      dataStates[r.dataState] = (dataStates[r.dataState] ?? 0) + 1;
      if (r.findings.some(f => f.state === 'firing')) firing++;
    }
    const result = {
      benchmark: 'fleet-prom',
      machine,
      setup: {
        jobs: JOBS,
        origins: sim.urls.length,
        intervalSeconds: INTERVAL_MS / 1000,
        timeCompression: 'none (real time, time.scale 1)',
        jitter: config.agent.jitter,
        concurrency: CONCURRENCY,
        restIntervalSeconds: config.prometheus.restInterval / 1000,
        rules: rules.length,
        mode: 'dry-run',
        store: 'file (standalone)',
        warmupSeconds: WARMUP_MS / 1000,
        measuredSeconds: Math.round(seconds),
        simulatorStartupMs: simStartupMs,
        discoveryMs,
      },
      cycles: {
        count: n,
        perSecond: Math.round((n / seconds) * 10) / 10,
        expectedPerSecond: Math.round((JOBS / (INTERVAL_MS / 1000)) * 10) / 10,
        lagBehindScheduleMs: stats(lags, 1),
        wallMs: { collect: stats(wall.collect, 1), store: stats(wall.store, 1), total: stats(wall.total, 1) },
      },
      cpuMsPerCycle: {
        note: 'parse = Prometheus JSON + schema + split by job (the cluster collection’s share per job); collect = merging into the job’s snapshot; detect; evaluate = rule evaluation; plan = score and planners; store = state copy handed to the file store. Synchronous work only, measured per cycle with process.cpuUsage.',
        whole: stats(whole),
        parse: stats(cycles.map(c => c.parse)),
        collect: stats(cycles.map(c => c.collect)),
        detect: stats(cycles.map(c => c.detect)),
        evaluate: stats(cycles.map(c => c.analyze)),
        plan: stats(cycles.map(c => c.select)),
        store: stats(cycles.map(c => c.store)),
        processCpuPerCycleMean: Math.round(((after.cpu - before.cpu) / Math.max(1, n)) * 1000) / 1000,
        processCpuNote:
          'all CPU of the daemon process in the window / cycles: includes HTTP clients, REST parsing, file writes, scheduling, GC',
        restParseCpuPerCycleMean:
          Math.round(((after.restParse - before.restParse) / Math.max(1, n)) * 1000) / 1000,
      },
      cores: {
        daemon: Math.round(((after.cpu - before.cpu) / 1000 / seconds) * 100) / 100,
        simulator: Math.round(((after.simCpu - before.simCpu) / seconds) * 100) / 100,
      },
      memory: {
        rssMaxMiB: Math.round(rssMax / 1024 ** 2),
        stateBytesPerJob: {
          persistedJobFile: Math.round(files.bytes / Math.max(1, files.files)),
          detectWindowsInMemory: Math.round(detectBytes / Math.max(1, jobs)),
          total: Math.round(files.bytes / Math.max(1, files.files) + detectBytes / Math.max(1, jobs)),
        },
      },
      eventLoopDelayMs: {
        median: Math.round(loopDelay.percentile(50) / 1e4) / 100,
        p99: Math.round(loopDelay.percentile(99) / 1e4) / 100,
        max: Math.round(loopDelay.max / 1e4) / 100,
      },
      prometheus: {
        clusterTicks: ticks,
        clusterCollectionWallMsMean: Math.round((after.tickWallMs - before.tickWallMs) / Math.max(1, ticks)),
        clusterCollectionWallMsMax: Math.round(
          Math.max(...sources.map(s => s.collector.stats.maxTickWallMs)),
        ),
        queries,
        queriesPerClusterTick: Math.round((queries / Math.max(1, ticks)) * 100) / 100,
        queriesPerSecond: Math.round((queries / seconds) * 10) / 10,
        failures: prometheus.stats.failures,
      },
      rest: {
        budgetMaxInFlightPerJobManager: MAX_IN_FLIGHT,
        peakInFlightPerJobManager: Math.max(...sources.map(s => s.client.budget.peakInFlight)),
        refusedByBudget: sources.reduce((a, s) => a + s.client.budget.refused, 0),
        requestsPerJobManagerPerMinute: stats(
          perOriginRequests.map(x => (x * 60) / seconds),
          1,
        ),
        requestsPerSecondTotal:
          Math.round((perOriginRequests.reduce((a, b) => a + b, 0) / seconds) * 10) / 10,
        perJobReadsInWindow: {
          first: after.restReads.first - before.restReads.first,
          scheduled: after.restReads.scheduled - before.restReads.scheduled,
          symptom: after.restReads.symptom - before.restReads.symptom,
        },
      },
      reports: { jobs: reports.size, dataStates, withFiringFindings: firing },
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/fleet-prom.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    await daemon?.close();
    sim.child.kill('SIGTERM');
    rmSync(stateDir, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await run();
