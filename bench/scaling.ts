import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlinkRescaleBackend } from '../src/actions/flink-rescale/backend.js';
import { wireActions } from '../src/agent-manager/actions.js';
import { Daemon, type JobSource } from '../src/agent-manager/daemon.js';
import { loadLibrary } from '../src/agent-manager/start.js';
import { fleetSafety } from '../src/agents/select/policies/safety.js';
import { compileConfig } from '../src/config/load.js';
import type { CalendarWindow } from '../src/config/calendar-schema.js';
import { VirtualClock, type JobRef } from '../src/domain/index.js';
import { baseRate, rateAt } from '../src/sim/profile.js';
import { scenarioSchema, type Profile, type Scenario } from '../src/sim/scenario.js';
import { Simulator, inProcessDispatcher } from '../src/sim/index.js';
import { FlinkRestClient, collectSnapshot, listJobs } from '../src/sources/flink-rest/index.js';
import { MemoryStore } from '../src/state/memory-store.js';
import { createLogger } from '../src/telemetry/logger.js';
import { describeMachine, machineInfo } from './machine.js';
import { OperatorBaseline } from './operator-baseline.js';

/**
 * Closed-loop scaling benchmark (issue 8): five load shapes, each replayed in virtual time with
 * the simulator in process, against
 * - the product: the real daemon (detect, rules, ReactivePlanner with calendar and forecast,
 *   ActionExecutor with its rails) writing through the real FlinkRescaleBackend
 *   (`PUT /jobs/:id/resource-requirements`) over the in-process dispatcher — the same
 *   FlinkRestClient as over HTTP, without sockets; product defaults, only `mode: auto` and the
 *   scenario's calendar (time.scale stays 1);
 * - the operator's algorithm (operator-baseline.ts), writing through the same backend;
 * - static provisioning at the peak;
 * - the zero-restart oracle: every vertex exactly sized every second (no restart cost, no lag);
 * - a k-step oracle: the cheapest schedule with ≤ 2 rescales per ramp of the load curve, each
 *   costing the simulator's restart time (dynamic programming over a 1-min grid).
 * Target utilization 0.7 everywhere; lag SLO = the product's default (60 s) = 2 × the
 * simulator's restart (10 s stabilization + 20 s downtime).
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const TICK_MS = 10 * S;
const UTIL = 0.7;
const LAG_SLO_S = 60;
const START = '2026-11-09T00:00:00Z';

/** The job: source → aggregate (rebalance) → sink (hash); slots = the widest vertex (slot sharing). */
const VERTICES = [
  { name: 'Source: Kafka orders', capacity: 20_000, selectivity: 1, partitions: 32 },
  { name: 'Aggregate', capacity: 2_000, selectivity: 0.5 },
  { name: 'Sink: Kafka', capacity: 4_000, selectivity: 1 },
] as const;
/** Records/s into each vertex per record/s arriving at the source. */
const IN_RATIO = [1, 1, 0.5];

interface Case {
  name: string;
  label: string;
  profile: Profile;
  durationMs: number;
  /** Calendar window (announced peak). */
  calendar?: (start: number) => CalendarWindow;
  /** Initial parallelism (the aggregate's; the others follow from their load). */
  initialRate: number;
  /** Period boundaries for direction changes (troughs), ms after the start. */
  periodMs?: number;
  targets: string;
}

function need(rate: number): number[] {
  return VERTICES.map((v, i) => Math.max(1, Math.ceil((rate * (IN_RATIO[i] ?? 1)) / (UTIL * v.capacity))));
}

const PEAK = { base: 6000, peak: 30_000, start: 2 * H, rampUp: 5 * MIN, hold: 2 * H, rampDown: 15 * MIN };
const promotion: Profile = { kind: 'promotion', ...PEAK, noise: 0.03 };

const CASES: Case[] = [
  {
    name: 'announced-peak',
    label: 'announced peak (calendar)',
    profile: promotion,
    durationMs: 5 * H,
    initialRate: PEAK.base,
    calendar: start => ({
      id: 'flash-sale',
      selector: { name: 'orders' },
      timezone: 'UTC',
      start: new Date(start + PEAK.start).toISOString(),
      end: new Date(start + PEAK.start + PEAK.rampUp + PEAK.hold).toISOString(),
      // What the team announces: the peak rate, sized like the planner sizes (0.7 utilization).
      floor: Object.fromEntries(VERTICES.map((v, i) => [v.name, need(PEAK.peak)[i] ?? 1])),
      lead: 'auto',
    }),
    targets: '0 s lag above SLO outside the pre-scale; slot-s ≤ 1.15× oracle',
  },
  {
    name: 'unannounced-peak',
    label: 'same peak, unannounced',
    profile: promotion,
    durationMs: 5 * H,
    initialRate: PEAK.base,
    targets: 'lag-above-SLO ≤ 0.5× baseline; slot-s ≤ 1.0× baseline',
  },
  {
    name: 'steady-noisy',
    label: 'steady noisy load',
    profile: { kind: 'constant', rate: 12_000, noise: 0.1 },
    durationMs: 6 * H,
    initialRate: 6000,
    targets: '0 rescales after first convergence',
  },
  {
    name: 'slow-growth',
    label: 'slow growth',
    profile: { kind: 'ramp', from: 4000, to: 24_000, start: 1 * H, duration: 10 * H, noise: 0.03 },
    durationMs: 12 * H,
    initialRate: 4000,
    periodMs: 12 * H,
    targets: 'slot-s ≤ 1.0× baseline, ≤ 1.2× k-step; ≤ 1 direction change/vertex/period',
  },
  {
    name: 'daily-curve',
    label: 'daily curve (2 days)',
    profile: { kind: 'daily', base: 4000, peak: 24_000, peakHour: 12, utcOffsetHours: 0, noise: 0.03 },
    durationMs: 48 * H,
    initialRate: 4000,
    periodMs: 24 * H,
    targets: 'slot-s ≤ 1.0× baseline, ≤ 1.2× k-step; ≤ 1 direction change/vertex/period',
  },
];

function scenarioOf(c: Case, parallelism: number[]): Scenario {
  return scenarioSchema.parse({
    name: c.name,
    seed: 808,
    startTime: START,
    duration: c.durationMs,
    cluster: { label: 'bench', flinkVersion: '1.20', taskManagers: 16, slotsPerTaskManager: 8 },
    jobs: [
      {
        name: 'orders',
        maxParallelism: 128,
        vertices: VERTICES.map((v, i) => ({
          name: v.name,
          inputs: i === 0 ? [] : [VERTICES[i - 1]?.name],
          parallelism: parallelism[i] ?? 1,
          capacity: v.capacity,
          selectivity: v.selectivity,
          ...(i === 0 ? { partitions: 32, profile: c.profile } : {}),
        })),
      },
    ],
  });
}

interface Run {
  slotSeconds: number;
  lagAboveSloS: number;
  maxLagS: number;
  rescales: number;
  /** Rescales after the first one (steady load: after first convergence). */
  rescalesAfterFirst: number;
  /** Per vertex: the most direction changes within one period. */
  directionChangesPerPeriod: number;
  /** The rescales by origin (product only). */
  origins?: Record<string, number>;
  wallMs: number;
}

type Driver = (ctx: { now: number; job: JobRef; client: FlinkRestClient }) => Promise<void>;

/** Replays a case with a driver called every tick; measures from the simulator's state every second. */
async function replay(
  c: Case,
  initial: number[],
  makeDriver?: (sim: Simulator, clock: VirtualClock, client: FlinkRestClient, job: JobRef) => Promise<Driver>,
): Promise<Run> {
  const wall0 = performance.now();
  const scenario = scenarioOf(c, initial);
  const start = Date.parse(scenario.startTime);
  const clock = new VirtualClock(start);
  const sim = new Simulator({ scenario, clock });
  const client = new FlinkRestClient({
    baseUrl: 'http://sim',
    dispatcher: inProcessDispatcher(sim),
    sleep: () => Promise.resolve(),
  });
  const [job] = await listJobs(client, { clusterLabel: scenario.cluster.label });
  if (job === undefined) throw new Error('no job in the simulator');
  const driver = await makeDriver?.(sim, clock, client, job);
  const model = sim.surface.cluster.jobs[0];
  if (model === undefined) throw new Error('no job model');
  const source = model.vertices[0];
  let slotMs = 0;
  let above = 0;
  let maxLag = 0;
  let prev = model.vertices.map(v => v.parallelism);
  let rescales = 0;
  const moves: { at: number; dir: number[] }[] = [];
  for (let t = start + TICK_MS; t <= start + c.durationMs; t += TICK_MS) {
    for (let s = t - TICK_MS + S; s <= t; s += S) {
      await clock.advance(s - clock.now());
      sim.surface.sync();
      const slots = Math.max(...model.vertices.map(v => Math.max(v.parallelism, v.upperBound)));
      slotMs += slots * S;
      const arriving = source?.spec.profile
        ? rateAt(source.spec.profile, `${model.id}/${source.id}`, s - start, s)
        : 0;
      const lag = model.totalBacklog() / Math.max(arriving, 1);
      if (lag > LAG_SLO_S) above += 1;
      maxLag = Math.max(maxLag, lag);
      if (model.status === 'RUNNING') {
        const cur = model.vertices.map(v => v.parallelism);
        if (cur.some((p, i) => p !== prev[i])) {
          rescales++;
          moves.push({ at: s - start, dir: cur.map((p, i) => Math.sign(p - (prev[i] ?? p))) });
          if (process.env.SCALING_DEBUG !== undefined)
            console.log(
              `  ${((s - start) / MIN).toFixed(1)} min: ${prev.join('/')} → ${cur.join('/')} (${Math.round(arriving)}/s)`,
            );
          prev = cur;
        }
      }
    }
    await driver?.({ now: t, job, client });
  }
  // Direction changes per vertex, counted within each period (trough to trough).
  const period = c.periodMs ?? c.durationMs;
  let worst = 0;
  for (let k = 0; k * period < c.durationMs; k++) {
    const inPeriod = moves.filter(m => m.at >= k * period && m.at < (k + 1) * period);
    VERTICES.forEach((_, i) => {
      const dirs = inPeriod.map(m => m.dir[i] ?? 0).filter(d => d !== 0);
      let changes = 0;
      for (let j = 1; j < dirs.length; j++) if (dirs[j] !== dirs[j - 1]) changes++;
      worst = Math.max(worst, changes);
    });
  }
  return {
    slotSeconds: slotMs / 1000,
    lagAboveSloS: above,
    maxLagS: Math.round(maxLag),
    rescales,
    rescalesAfterFirst: Math.max(0, rescales - 1),
    directionChangesPerPeriod: worst,
    wallMs: Math.round(performance.now() - wall0),
  };
}

/** The product: the daemon with its planner and executor, product defaults. */
async function product(c: Case, lib: Awaited<ReturnType<typeof loadLibrary>>): Promise<Run> {
  const origins: Record<string, number> = {};
  let daemon: Daemon | undefined;
  let store: MemoryStore | undefined;
  const run = await replay(c, need(c.initialRate), async (_sim, clock, client, job) => {
    const start = Date.parse(START);
    const config = compileConfig({ mode: 'auto', calendar: c.calendar ? [c.calendar(start)] : [] });
    store = new MemoryStore();
    const log = createLogger({ level: 'silent' });
    const backend = new FlinkRescaleBackend(() => client);
    const acting = wireActions({ config, store, clock, log, backend, safety: fleetSafety(store, config) });
    const source: JobSource = {
      id: 'flink:bench',
      listJobs: () => listJobs(client, { clusterLabel: 'bench' }),
      collect: (j, now) => collectSnapshot(client, j, now),
    };
    daemon = new Daemon({
      config,
      clock,
      sources: [source],
      store,
      rules: lib.rules,
      rulesVersion: lib.version,
      log,
      planners: [acting.planner],
      executor: acting.executor,
      ...(lib.classify === undefined ? {} : { classify: lib.classify }),
    });
    const d = daemon;
    await d.discover();
    return async () => {
      await d.cycle(job);
    };
  });
  const journal = (await store?.readJournal({ limit: 10_000 })) ?? [];
  if (process.env.SCALING_DEBUG !== undefined)
    for (const e of [...journal].reverse())
      if (e.status === 'executed')
        console.log(
          `  ${((e.at - Date.parse(START)) / MIN).toFixed(1)} min ${(e.action as { origin?: string } | undefined)?.origin ?? ''}: ${(e.action as { reason?: string } | undefined)?.reason ?? ''}`,
        );
  for (const e of journal)
    if (e.status === 'executed') {
      const o = (e.action as { origin?: string } | undefined)?.origin ?? 'reactive';
      origins[o] = (origins[o] ?? 0) + 1;
    }
  await daemon?.close();
  return { ...run, origins };
}

async function baseline(c: Case): Promise<Run> {
  return replay(c, need(c.initialRate), (_sim, _clock, client, job) => {
    const op = new OperatorBaseline(job, new FlinkRescaleBackend(() => client));
    return Promise.resolve(async ({ now }) => {
      await op.step(await collectSnapshot(client, job, now), now);
    });
  });
}

/** Per-second need (noisy rate, as the simulator produces it) and the noise-free curve. */
function loadCurve(c: Case): { need: number[]; smooth: number[] } {
  const start = Date.parse(START);
  const scenario = scenarioOf(c, need(c.initialRate));
  const sim = new Simulator({ scenario, clock: new VirtualClock(start) });
  const model = sim.surface.cluster.jobs[0];
  const src = model?.vertices[0];
  const key = `${model?.id ?? ''}/${src?.id ?? ''}`;
  const out: number[] = [];
  const smooth: number[] = [];
  for (let e = 0; e < c.durationMs; e += S) {
    out.push(Math.max(...need(rateAt(c.profile, key, e, start + e))));
    smooth.push(Math.max(...need(baseRate(c.profile, e, start + e))));
  }
  return { need: out, smooth };
}

/**
 * The cheapest schedule of levels (slots) over a 1-min grid that covers the need in every
 * minute, with ≤ 2 changes per ramp (ramps: maximal monotone runs of the noise-free need) and
 * each change costing restartSec × |Δ| slot-seconds (the new capacity is in place a restart
 * earlier for a scale-up; the old one is held a restart longer for a scale-down).
 */
function kStepOracle(needPerSecond: number[], smoothPerSecond: number[], restartSec: number): number {
  const grid = 60;
  const n = Math.ceil(needPerSecond.length / grid);
  const needMin: number[] = [];
  const smoothMin: number[] = [];
  for (let i = 0; i < n; i++) {
    needMin.push(Math.max(...needPerSecond.slice(i * grid, (i + 1) * grid)));
    smoothMin.push(Math.max(...smoothPerSecond.slice(i * grid, (i + 1) * grid)));
  }
  // Ramp boundaries: where the noise-free need turns direction.
  const newRamp = new Array<boolean>(n).fill(false);
  let dir = 0;
  for (let i = 1; i < n; i++) {
    const d = Math.sign((smoothMin[i] ?? 0) - (smoothMin[i - 1] ?? 0));
    if (d !== 0 && dir !== 0 && d !== dir) newRamp[i] = true;
    if (d !== 0) dir = d;
  }
  const levels = [...new Set(needMin)].sort((a, b) => a - b);
  const L = levels.length;
  const K = 3;
  const INF = Number.POSITIVE_INFINITY;
  let cost = new Array<number>(L * K).fill(INF);
  for (let l = 0; l < L; l++)
    if ((levels[l] ?? 0) >= (needMin[0] ?? 0)) cost[l * K] = (levels[l] ?? 0) * grid;
  for (let i = 1; i < n; i++) {
    const next = new Array<number>(L * K).fill(INF);
    const reset = newRamp[i] === true;
    const need = needMin[i] ?? 0;
    // Best previous cost per level over k (for resets) and per (level, k).
    for (let l = 0; l < L; l++) {
      for (let k = 0; k < K; k++) {
        const c = cost[l * K + k] ?? INF;
        if (c === INF) continue;
        const k0 = reset ? 0 : k;
        const lv = levels[l] ?? 0;
        if (lv >= need) {
          const idx = l * K + k0;
          next[idx] = Math.min(next[idx] ?? INF, c + lv * grid);
        }
        if (k0 + 1 >= K) continue;
        for (let m = 0; m < L; m++) {
          const mv = levels[m] ?? 0;
          if (m === l || mv < need) continue;
          const idx = m * K + k0 + 1;
          next[idx] = Math.min(next[idx] ?? INF, c + mv * grid + restartSec * Math.abs(mv - lv));
        }
      }
    }
    cost = next;
  }
  return Math.min(...cost);
}

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : '—');

const STRATEGIES = ['product', 'baseline', 'static'] as const;
type Strategy = (typeof STRATEGIES)[number];

async function runStrategy(c: Case, strategy: Strategy): Promise<Run> {
  if (strategy === 'product') return product(c, await loadLibrary(undefined));
  if (strategy === 'baseline') return baseline(c);
  return replay(
    c,
    VERTICES.map((_, i) => peakOf(c, i)),
  );
}

/** One (scenario, strategy) replay in a child process: the 2-day curve need not hold up the rest. */
function child(c: Case, strategy: Strategy): Promise<Run> {
  const out = join(tmpdir(), `scaling-${process.pid}-${c.name}-${strategy}.json`);
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), 'scaling'], {
      cwd: ROOT,
      env: { ...process.env, SCALING_CHILD: `${c.name}:${strategy}`, SCALING_OUT: out },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    proc.once('error', reject);
    proc.once('exit', code => {
      if (code !== 0) return reject(new Error(`${c.name}/${strategy} exited with ${code}`));
      const result = JSON.parse(readFileSync(out, 'utf8')) as Run;
      rmSync(out, { force: true });
      resolve(result);
    });
  });
}

export async function run(): Promise<void> {
  const childSpec = process.env.SCALING_CHILD;
  if (childSpec !== undefined) {
    const [name, strategy] = childSpec.split(':');
    const c = CASES.find(x => x.name === name);
    if (c === undefined || !STRATEGIES.includes(strategy as Strategy))
      throw new Error(`SCALING_CHILD: unknown ${childSpec}`);
    const result = await runStrategy(c, strategy as Strategy);
    writeFileSync(process.env.SCALING_OUT ?? '/dev/stdout', JSON.stringify(result));
    return;
  }
  const machine = machineInfo();
  console.log(
    `scaling: ${CASES.length} scenarios × ${STRATEGIES.length} strategies in parallel child processes, virtual time, on ${describeMachine(machine)}`,
  );
  const only = process.env.SCALING_ONLY;
  const restartSec = 30; // the simulator's stabilization timeout (10 s) + restart downtime (20 s)
  const cases = CASES.filter(c => only === undefined || only.split(',').some(o => c.name.includes(o)));
  const wall0 = performance.now();
  const runs = await Promise.all(cases.map(c => Promise.all(STRATEGIES.map(st => child(c, st)))));
  const results = cases.map((c, idx) => {
    const [prod, base, stat] = runs[idx] ?? [];
    if (prod === undefined || base === undefined || stat === undefined) throw new Error('missing run');
    const curve = loadCurve(c);
    const oracle = curve.need.reduce((a, b) => a + b, 0);
    const kStep = kStepOracle(curve.need, curve.smooth, restartSec);
    const row = {
      scenario: c.name,
      label: c.label,
      targets: c.targets,
      product: prod,
      baseline: base,
      static: stat,
      oracle: { slotSeconds: oracle },
      kStepOracle: { slotSeconds: kStep },
      ratios: {
        productVsBaseline: prod.slotSeconds / base.slotSeconds,
        productVsOracle: prod.slotSeconds / oracle,
        productVsKStep: prod.slotSeconds / kStep,
        baselineVsOracle: base.slotSeconds / oracle,
        staticVsOracle: stat.slotSeconds / oracle,
        lagAboveSloVsBaseline: base.lagAboveSloS === 0 ? null : prod.lagAboveSloS / base.lagAboveSloS,
      },
    };
    console.log(
      `${c.name}: product ${Math.round(prod.slotSeconds)} slot-s (${fmt(row.ratios.productVsOracle)}× oracle, ${fmt(row.ratios.productVsKStep)}× k-step, ${fmt(row.ratios.productVsBaseline)}× baseline), lag>SLO ${prod.lagAboveSloS} s (baseline ${base.lagAboveSloS} s), rescales ${prod.rescales} (baseline ${base.rescales}), origins ${JSON.stringify(prod.origins ?? {})}`,
    );
    return row;
  });
  const table = renderTable(results);
  console.log(table);
  const out = join(ROOT, 'bench', 'results');
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'scaling.json'),
    `${JSON.stringify({ machine, wallMs: Math.round(performance.now() - wall0), lagSloS: LAG_SLO_S, targetUtilization: UTIL, restartSec, results, table }, null, 2)}\n`,
  );
}

/** The peak need of vertex i over the noise-free curve (static provisioning). */
function peakOf(c: Case, i: number): number {
  const start = Date.parse(START);
  let peak = 0;
  for (let e = 0; e < c.durationMs; e += MIN) peak = Math.max(peak, baseRate(c.profile, e, start + e));
  const ratio = IN_RATIO[i] ?? 1;
  const v = VERTICES[i];
  // The noise is uniform with the profile's relative standard deviation: at most √3 × it above.
  const top = peak * (1 + Math.sqrt(3) * c.profile.noise);
  return v === undefined ? 1 : Math.max(1, Math.ceil((top * ratio) / (UTIL * v.capacity)));
}

type Row = {
  label: string;
  product: Run;
  baseline: Run;
  static: Run;
  oracle: { slotSeconds: number };
  kStepOracle: { slotSeconds: number };
};

function renderTable(rows: Row[]): string {
  const k = (x: number): string => `${Math.round(x / 1000)}k`;
  const head =
    '| scenario | strategy | slot-s | ÷ oracle | ÷ k-step | ÷ baseline | lag > SLO (s) | max lag (s) | rescales | dir. changes / vertex / period |';
  const sep = '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|';
  const lines = [head, sep];
  for (const r of rows) {
    const o = r.oracle.slotSeconds;
    const ks = r.kStepOracle.slotSeconds;
    const b = r.baseline.slotSeconds;
    const line = (name: string, x: Run): string =>
      `| ${r.label} | ${name} | ${k(x.slotSeconds)} | ${fmt(x.slotSeconds / o)} | ${fmt(x.slotSeconds / ks)} | ${fmt(x.slotSeconds / b)} | ${x.lagAboveSloS} | ${x.maxLagS} | ${x.rescales} | ${x.directionChangesPerPeriod} |`;
    lines.push(line('**product**', r.product));
    lines.push(line('operator baseline', r.baseline));
    lines.push(line('static at peak', r.static));
    lines.push(
      `| ${r.label} | zero-restart oracle | ${k(o)} | 1.00 | ${fmt(o / ks)} | ${fmt(o / b)} | 0 | 0 | — | — |`,
    );
    lines.push(
      `| ${r.label} | k-step oracle (≤ 2/ramp) | ${k(ks)} | ${fmt(ks / o)} | 1.00 | ${fmt(ks / b)} | — | — | — | — |`,
    );
  }
  return lines.join('\n');
}
