import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { listJobs } from '../../../src/sources/flink-rest/discovery.js';
import { collectSnapshot } from '../../../src/sources/flink-rest/snapshot.js';

const ROOT = join(import.meta.dirname, '../../..');
let child: ChildProcess | undefined;
afterEach(() => {
  if (child?.exitCode === null) child.kill('SIGKILL');
});

/** Starts `autopilot simulate ARGS` in its own process; resolves with its first JSON line. */
function simulate(args: string[]): Promise<Record<string, unknown>> {
  child = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test/support/sim-cli.ts'), 'simulate', ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines = createInterface({ input: child.stdout! });
  return new Promise((resolve, reject) => {
    lines.once('line', line => resolve(JSON.parse(line) as Record<string, unknown>));
    child?.once('exit', code => reject(new Error(`exited with ${code}`)));
  });
}

function exit(): Promise<number | null> {
  return new Promise(resolve => {
    if (child?.exitCode !== null) resolve(child?.exitCode ?? null);
    child?.once('exit', code => resolve(code));
    child?.kill('SIGTERM');
  });
}

describe('autopilot simulate (separate process, real time over HTTP)', () => {
  it('serves a scenario on the given port, prints one JSON line, stops on SIGTERM', async () => {
    const line = await simulate([
      '--scenario',
      'scenarios/healthy-fan-in.yaml',
      '--port',
      '0',
      '--time-scale',
      '60',
    ]);
    expect(line).toMatchObject({
      msg: 'simulator listening',
      scenario: 'healthy-fan-in',
      flinkVersion: '2.3',
      timeScale: 60,
    });
    const client = new FlinkRestClient({ baseUrl: String(line.url) });
    const [job] = await listJobs(client);
    expect(job?.name).toBe('clicks-orders-join');
    const s = await collectSnapshot(client, job!, Date.now());
    expect(s.vertices.map(v => v.inputs.length)).toEqual([0, 0, 2, 1]);
    expect(s.cluster.flinkVersion).toBe('2.3.0');
    const prom = await (await fetch(`${String(line.url)}/metrics`)).text();
    expect(prom).toContain('flink_taskmanager_job_task_busyTimeMsPerSecond{');
    expect(prom).toMatch(/node_cpu_seconds_total\{[^}]*mode="steal"/);
    expect(prom).toContain('node_filesystem_avail_bytes{');
    expect(prom).toContain('node_network_receive_errs_total{');
    expect(await exit()).toBe(0);
  });

  it('fleet mode: jobs spread over origins, each a JobManager', async () => {
    const line = await simulate(['--fleet', '300', '--origins', '10']);
    const urls = line.urls as string[];
    expect(urls).toHaveLength(10);
    expect(new Set(urls).size).toBe(10);
    const all = await Promise.all(urls.map(u => listJobs(new FlinkRestClient({ baseUrl: u }))));
    expect(all.flat()).toHaveLength(300);
    const client = new FlinkRestClient({ baseUrl: urls[3] ?? '' });
    const s = await collectSnapshot(client, all[3]![0]!, Date.now());
    expect(s.missing).toEqual([]);
    expect(s.vertices[0]?.metrics.numRecordsInPerSecond?.sum).toBeGreaterThan(0);
    expect(await exit()).toBe(0);
  });
});
