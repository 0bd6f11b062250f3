import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, stopProcess, waitForPing } from '../../setup/redis.global.js';

/**
 * The distributed "done when" of issue #6 on real processes: a redis-server of its own (AOF on,
 * restarted mid-test on the same port and directory), the simulator in fleet mode as a child
 * process (3,000 jobs over 30 JobManager origins) and two `autopilot run --redis-url` workers.
 * The observer is the workers' own debug log on stdout: BullmqScheduler writes "cycle started" /
 * "cycle ended" (with pino's time) inside the per-job cycle lock; the process is the worker.
 *
 * Default scale: 600 jobs over 20 origins at a 30 s tick (about 2.5 min on 2 shared cores);
 * the issue's 3,000 jobs: FLEET_DIST_JOBS=3000 FLEET_DIST_ORIGINS=30 FLEET_DIST_TICK_MS=60000
 * (about 7 min). A whole cycle with REST collection costs about 14 ms of worker CPU and as much
 * in the simulator, so 3,000 jobs need a tick of 60 s or more on 2 cores.
 */

const ROOT = join(import.meta.dirname, '../../..');
const JOBS = Number(process.env.FLEET_DIST_JOBS ?? 600);
const ORIGINS = Number(process.env.FLEET_DIST_ORIGINS ?? 20);
const TICK = Number(process.env.FLEET_DIST_TICK_MS ?? 30_000);
const PREFIX = 'fleetdist';

interface Cycle {
  pid: number;
  start: number;
  end?: number;
}

const dir = mkdtempSync(join(tmpdir(), 'autopilot-fleet-dist-'));
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children.reverse()) await stopProcess(c);
  rmSync(dir, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

async function until(what: string, ok: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what} (${cycles.size} jobs seen, ${cyclesEnded} cycles ended)`,
      );
    await sleep(250);
  }
}

/** A redis-server with AOF on a fixed port and directory (so it can be restarted onto its data). */
function redisServer(port: number, dataDir: string): Promise<ChildProcess> {
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      dataDir,
      '--save',
      '',
      '--appendonly',
      'yes',
      '--appendfsync',
      'everysec',
      '--maxmemory-policy',
      'noeviction',
    ],
    { stdio: 'ignore' },
  );
  children.push(child);
  return waitForPing(port).then(() => child);
}

/** The simulator's fleet mode in its own process; resolves with the origin URLs it prints. */
async function simulator(): Promise<{ urls: string[]; pid: number }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'test/support/sim-cli.ts'),
      'simulate',
      '--fleet',
      String(JOBS),
      '--origins',
      String(ORIGINS),
      '--port',
      '0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_OPTIONS: '' } },
  );
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', code => reject(new Error(`simulator exited with ${String(code)}`)));
  });
  return { urls: (JSON.parse(line) as { urls: string[] }).urls, pid: child.pid ?? 0 };
}

/** Cycle start/end of every job, from the workers' "cycle started" / "cycle ended" debug lines. */
const cycles = new Map<string, Cycle[]>();
let cyclesEnded = 0;

function worker(configFile: string): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', configFile],
    {
      cwd: ROOT,
      env: { ...process.env, NODE_OPTIONS: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const pid = child.pid ?? 0;
  createInterface({ input: child.stdout }).on('line', line => {
    if (!line.includes('"cycle ')) return;
    let entry: { msg?: string; time?: string | number; jobKey?: string };
    try {
      entry = JSON.parse(line) as typeof entry;
    } catch {
      return;
    }
    if (entry.jobKey === undefined || entry.time === undefined) return;
    const time = typeof entry.time === 'number' ? entry.time : Date.parse(entry.time);
    const list = cycles.get(entry.jobKey) ?? [];
    cycles.set(entry.jobKey, list);
    if (entry.msg === 'cycle started') list.push({ pid, start: time });
    else if (entry.msg === 'cycle ended') {
      const open = list.findLast(c => c.pid === pid && c.end === undefined);
      if (open) open.end = time;
      cyclesEnded += 1;
    }
  });
  return child;
}

interface RedisStats {
  commands: number;
  inBytes: number;
  outBytes: number;
}

async function stats(redis: Redis): Promise<RedisStats> {
  const info = await redis.info('stats');
  const field = (k: string): number => Number(new RegExp(`${k}:(\\d+)`).exec(info)?.[1] ?? NaN);
  return {
    commands: field('total_commands_processed'),
    inBytes: field('total_net_input_bytes'),
    outBytes: field('total_net_output_bytes'),
  };
}

/** CPU seconds (user + system) a process has used so far, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ
}

async function commandCalls(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  return new Map([...info.matchAll(/cmdstat_([^:]+):calls=(\d+)/g)].map(m => [m[1] ?? '', Number(m[2])]));
}

/** Every job has a cycle (by `pid` when given) that started after `since`. */
function allCycledSince(since: number, pid?: number): boolean {
  if (cycles.size < JOBS) return false;
  for (const list of cycles.values())
    if (!list.some(c => c.start > since && (pid === undefined || c.pid === pid))) return false;
  return true;
}

describe(`distributed fleet: ${JOBS} simulated jobs, 2 worker processes, one redis-server`, () => {
  it(
    'one cycle per job at a time, no job misses 2 ticks, a killed worker is taken over, a Redis restart loses no schedule',
    async () => {
      const port = await freePort();
      const dataDir = join(dir, 'redis');
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir);
      let redisProcess = await redisServer(port, dataDir);
      const url = `redis://127.0.0.1:${port}`;
      const { urls, pid: simPid } = await simulator();
      const configFile = join(dir, 'autopilot.json');
      writeFileSync(
        configFile,
        JSON.stringify({
          mode: 'dry-run',
          flink: { clusters: urls.map((u, i) => ({ label: `o${i}`, url: u })) },
          redis: { url, prefix: PREFIX },
          api: { port: 0 },
          agent: { interval: TICK, discoveryInterval: TICK, concurrency: 64 },
          log: { level: 'debug' },
        }),
      );
      const observer = new Redis(url, { maxRetriesPerRequest: null });
      observer.on('error', () => undefined); // refused while redis-server restarts; it reconnects
      const queue = new Queue('cycles', { connection: observer, prefix: PREFIX });
      queue.on('error', () => undefined);
      try {
        const a = worker(configFile);
        const b = worker(configFile);
        const pidA = a.pid ?? 0;
        const pidB = b.pid ?? 0;

        // Warm-up: every job has finished a cycle.
        const t0 = Date.now();
        await until('every job cycled once', () => allCycledSince(t0), 4 * TICK + 60_000);
        expect(await queue.getJobSchedulersCount()).toBe(JOBS);

        // Steady window of two ticks: Redis operations and bytes per cycle.
        const s0 = await stats(observer);
        const c0 = await commandCalls(observer);
        const cpu0 = [pidA, pidB, simPid, redisProcess.pid ?? 0].map(cpuSeconds);
        const e0 = cyclesEnded;
        const steadyFrom = Date.now();
        await sleep(2 * TICK);
        const s1 = await stats(observer);
        const c1 = await commandCalls(observer);
        const cpu = [pidA, pidB, simPid, redisProcess.pid ?? 0].map((p, i) => cpuSeconds(p) - (cpu0[i] ?? 0));
        const steadyCycles = cyclesEnded - e0;
        const perCycle = {
          cycles: steadyCycles,
          commands: (s1.commands - s0.commands) / steadyCycles,
          inBytes: (s1.inBytes - s0.inBytes) / steadyCycles,
          outBytes: (s1.outBytes - s0.outBytes) / steadyCycles,
          top: [...c1]
            .map(([cmd, n]) => [cmd, (n - (c0.get(cmd) ?? 0)) / steadyCycles] as const)
            .sort((x, y) => y[1] - x[1])
            .slice(0, 8)
            .map(([cmd, n]) => `${cmd}=${n.toFixed(2)}`)
            .join(' '),
          cpuMsPerCycle: {
            workers: (((cpu[0] ?? 0) + (cpu[1] ?? 0)) * 1000) / steadyCycles,
            simulator: ((cpu[2] ?? 0) * 1000) / steadyCycles,
            redis: ((cpu[3] ?? 0) * 1000) / steadyCycles,
          },
        };
        console.log(`steady window (2 ticks of ${TICK} ms): ${JSON.stringify(perCycle)}`);
        expect(steadyCycles).toBeGreaterThanOrEqual(JOBS);
        // Both workers ran cycles in the steady window.
        const byPid = (pid: number): number =>
          [...cycles.values()].flat().filter(c => c.pid === pid && c.start >= steadyFrom).length;
        expect(byPid(pidA)).toBeGreaterThan(0);
        expect(byPid(pidB)).toBeGreaterThan(0);

        // kill -9 one worker: every job it ran last is cycled by the other within two ticks.
        const victimJobs = [...cycles].filter(([, list]) => list.at(-1)?.pid === pidB).map(([key]) => key);
        const killedAt = Date.now();
        b.kill('SIGKILL');
        await until(
          'every job cycled by the surviving worker',
          () => allCycledSince(killedAt, pidA),
          3 * TICK,
        );
        const takeover = victimJobs.map(key => {
          const first = (cycles.get(key) ?? []).find(c => c.pid === pidA && c.start > killedAt);
          return ((first?.start ?? Infinity) - killedAt) / TICK;
        });
        const maxTakeover = Math.max(...takeover);
        console.log(
          `kill -9 of worker ${pidB}: ${victimJobs.length} of its jobs taken over, the last after ${maxTakeover.toFixed(2)} ticks`,
        );
        expect(victimJobs.length).toBeGreaterThan(0);
        expect(maxTakeover).toBeLessThanOrEqual(2);

        // redis-server restart (SIGTERM: AOF flushed) on the same port and directory.
        const schedulersBefore = await queue.getJobSchedulersCount();
        await stopProcess(redisProcess);
        redisProcess = await redisServer(port, dataDir);
        const restartedAt = Date.now();
        await until(
          'the observer to reconnect',
          async () => observer.status === 'ready' && (await observer.ping().catch(() => '')) === 'PONG',
          TICK,
        );
        expect(await queue.getJobSchedulersCount()).toBe(schedulersBefore);
        expect(schedulersBefore).toBe(JOBS);
        await until('every job cycled after the restart', () => allCycledSince(restartedAt, pidA), 3 * TICK);

        // Never two overlapping cycles of one job (a cycle of the killed worker has no end: its
        // lock, not a log line, bounds it); no job misses two consecutive ticks after warm-up.
        let overlaps = 0;
        let maxGap = 0;
        for (const [key, list] of cycles) {
          const sorted = [...list].sort((x, y) => x.start - y.start);
          for (let i = 1; i < sorted.length; i++) {
            const prev = sorted[i - 1]!;
            const cur = sorted[i]!;
            if (prev.end !== undefined && cur.start < prev.end) {
              overlaps += 1;
              console.log(`overlap on ${key}: ${JSON.stringify(prev)} ${JSON.stringify(cur)}`);
            }
            if (prev.start >= steadyFrom) maxGap = Math.max(maxGap, (cur.start - prev.start) / TICK);
          }
        }
        const total = [...cycles.values()].reduce((n, l) => n + l.length, 0);
        console.log(
          `${total} cycles observed; largest gap between two cycles of a job: ${maxGap.toFixed(2)} ticks`,
        );
        expect(overlaps).toBe(0);
        expect(maxGap).toBeLessThan(3);
      } finally {
        await queue.close();
        observer.disconnect();
      }
    },
    12 * TICK + 120_000,
  );
});
