import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { FlinkRestClient } from '../src/sources/flink-rest/client.js';
import { listJobs } from '../src/sources/flink-rest/discovery.js';
import { collectSnapshot } from '../src/sources/flink-rest/snapshot.js';
import { httpDispatcher } from '../src/sources/flink-rest/transport.js';
import type { JobRef } from '../src/domain/identity.js';
import { describeMachine, machineInfo } from './machine.js';

/**
 * Fleet benchmark: the simulator in fleet mode (30,000 jobs over 1,000 loopback origins) in its
 * own process, and the Flink REST source collecting snapshots against it over HTTP. Reports
 * discovery time, snapshots/s and requests/s, and the CPU of each process separately.
 * Loopback only; every loop is bounded by a deadline.
 */

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const JOBS = Number(process.env.FLEET_JOBS ?? 30_000);
const ORIGINS = Number(process.env.FLEET_ORIGINS ?? 1_000);
const SECONDS = Number(process.env.FLEET_SECONDS ?? 20);
const CONCURRENCY = Number(process.env.FLEET_CONCURRENCY ?? 16);
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export interface FleetSimulatorProcess {
  child: ChildProcess;
  urls: string[];
  prometheusUrl: string;
}

/** `autopilot simulate --fleet` in its own process; resolves with its URLs once it listens. */
export async function spawnFleetSimulator(jobs: number, origins: number): Promise<FleetSimulatorProcess> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      "const { Command } = await import('commander'); const { registerSimulateCommand } = await import('./src/cli/simulate-command.ts'); const p = new Command('autopilot'); registerSimulateCommand(p); await p.parseAsync(process.argv.slice(process.argv.indexOf('simulate')), { from: 'user' });",
      '--',
      'simulate',
      '--fleet',
      String(jobs),
      '--origins',
      String(origins),
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', resolve);
      child.once('exit', code => reject(new Error(`simulator exited with ${code}`)));
    });
    const out = JSON.parse(line) as { urls: string[]; prometheusUrl: string };
    return { child, urls: out.urls, prometheusUrl: out.prometheusUrl };
  } catch (err) {
    child.kill('SIGTERM');
    throw err;
  }
}

export function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND; // utime + stime
}

function ownCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

export async function run(): Promise<void> {
  const machine = machineInfo();
  console.log(`fleet-sim: ${JOBS} jobs over ${ORIGINS} origins on ${describeMachine(machine)}`);
  const started = Date.now();
  const sim = await spawnFleetSimulator(JOBS, ORIGINS);
  const child = sim.child;
  try {
    const urls = sim.urls;
    const startupMs = Date.now() - started;
    const dispatcher = httpDispatcher({ maxSockets: 2 });
    const clients = urls.map(
      baseUrl => new FlinkRestClient({ baseUrl, dispatcher, timeoutMs: 10_000, retries: 1 }),
    );
    const pid = child.pid ?? 0;

    // Discovery across every origin.
    let simCpu0 = cpuSecondsOf(pid);
    let t0 = performance.now();
    const jobsByClient: { client: FlinkRestClient; job: JobRef }[] = [];
    for (let i = 0; i < clients.length; i += 50) {
      const batch = await Promise.all(
        clients.slice(i, i + 50).map(async c => (await listJobs(c)).map(job => ({ client: c, job }))),
      );
      jobsByClient.push(...batch.flat());
    }
    const discoveryMs = performance.now() - t0;
    // A daemon collects a cluster's jobs together within one tick (cluster-wide answers such as
    // TaskManagers are cached for 5 s), so each worker takes one origin at a time and collects its
    // jobs, four at once (the per-JobManager budget); workers spread over origins.
    const byOrigin = new Map<FlinkRestClient, JobRef[]>();
    for (const t of jobsByClient) byOrigin.set(t.client, [...(byOrigin.get(t.client) ?? []), t.job]);
    const origins = [...byOrigin.entries()];
    const discoverySimCpu = cpuSecondsOf(pid) - simCpu0;

    // Snapshots: CONCURRENCY bounded loops over the fleet, round robin, until the deadline.
    simCpu0 = cpuSecondsOf(pid);
    const ownCpu0 = ownCpuSeconds();
    const requests0 = clients.reduce((a, c) => a + c.stats.requests, 0);
    t0 = performance.now();
    const deadline = t0 + SECONDS * 1000;
    let next = 0;
    let snapshots = 0;
    let failed = 0;
    let partial = 0;
    const missing = new Map<string, number>();
    const collect = async (client: FlinkRestClient, job: JobRef): Promise<void> => {
      try {
        const snap = await collectSnapshot(client, job, Date.now());
        snapshots++;
        if (snap.missing.length > 0) {
          partial++;
          for (const m of snap.missing)
            missing.set(m.replace(/:.*/, ''), (missing.get(m.replace(/:.*/, '')) ?? 0) + 1);
        }
      } catch {
        failed++;
      }
    };
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (performance.now() < deadline) {
          const entry = origins[next++ % origins.length];
          if (entry === undefined) return;
          const [client, jobs] = entry;
          for (let i = 0; i < jobs.length && performance.now() < deadline; i += 4)
            await Promise.all(jobs.slice(i, i + 4).map(job => collect(client, job)));
        }
      }),
    );
    const elapsed = (performance.now() - t0) / 1000;
    const requests = clients.reduce((a, c) => a + c.stats.requests, 0) - requests0;
    const simCpu = cpuSecondsOf(pid) - simCpu0;
    const ownCpu = ownCpuSeconds() - ownCpu0;
    const result = {
      benchmark: 'fleet-sim',
      machine,
      fleet: {
        jobs: JOBS,
        origins: urls.length,
        distinctJobsDiscovered: jobsByClient.length,
        simulatorStartupMs: startupMs,
      },
      discovery: {
        ms: Math.round(discoveryMs),
        jobsPerSecond: Math.round(jobsByClient.length / (discoveryMs / 1000)),
        simulatorCpuSeconds: round(discoverySimCpu),
      },
      snapshots: {
        seconds: round(elapsed),
        originsInParallel: CONCURRENCY,
        jobsInParallelPerOrigin: 4,
        count: snapshots,
        perSecond: round(snapshots / elapsed),
        failed,
        partial,
        missingParts: Object.fromEntries(missing),
        failuresByCode: clients.reduce<Record<string, number>>((acc, c) => {
          for (const [k, v] of Object.entries(c.stats.failures)) acc[k] = (acc[k] ?? 0) + v;
          return acc;
        }, {}),
        distinctJobsCovered: Math.min(snapshots, jobsByClient.length),
        requestsPerSecond: round(requests / elapsed),
        requestsPerSnapshot: round(requests / Math.max(1, snapshots)),
      },
      cpu: {
        simulatorCoresUsed: round(simCpu / elapsed),
        restSourceCoresUsed: round(ownCpu / elapsed),
        simulatorCpuMsPerRequest: round((simCpu * 1000) / Math.max(1, requests)),
        note: 'simulator and REST source share the machine; cores used = CPU seconds / wall seconds',
      },
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench/results/fleet-sim.json'), `${JSON.stringify(result, null, 2)}\n`);
    console.log(JSON.stringify(result, null, 2));
  } finally {
    child.kill('SIGTERM');
  }
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await run();
