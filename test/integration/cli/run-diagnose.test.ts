import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenario, startSimulator, type Simulator } from '../../../src/sim/index.js';
import { freePort } from '../../setup/redis.global.js';

/** Runs the real CLI (through tsx) as a separate process, as a user would. */
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { ...process.env, ...env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

let sim: Simulator;
const dirs: string[] = [];
beforeAll(async () => {
  sim = await startSimulator({ scenario: await loadScenario('scenarios/healthy-pipeline.yaml') });
});
afterAll(async () => {
  await sim.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('autopilot CLI', () => {
  it('diagnose --json prints HealthReport v1 for every job and exits 0', async () => {
    const p = cli(['diagnose', '--flink-url', sim.url, '--json']);
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>(r => p.on('exit', r));
    expect(code).toBe(0);
    const body = JSON.parse(out) as {
      reports: { schemaVersion: number; id: string; dataState: string; score: number | null }[];
    };
    expect(body.reports.map(r => [r.schemaVersion, r.id, r.dataState])).toEqual([
      [1, 'rest:default/orders-enrichment', 'ok'],
    ]);
  });

  it('run prints one JSON line with the API address, serves it, and stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autopilot-cli-'));
    dirs.push(dir);
    const port = await freePort();
    const p = cli([
      'run',
      '--flink-url',
      sim.url,
      '--api-port',
      String(port),
      '--state-dir',
      dir,
      '--interval',
      '1s',
    ]);
    let out = '';
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no 'api listening' line: ${out}`)), 20_000);
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find(l => l.includes('"api listening"'));
        if (line) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { address: string }).address);
        }
      });
    });
    expect(url).toBe(`http://127.0.0.1:${port}`);
    await new Promise(r => setTimeout(r, 1500));
    const jobs = (await (await fetch(`${url}/api/v1/jobs`)).json()) as { items: { id: string }[] };
    expect(jobs.items.map(j => j.id)).toEqual(['rest:default/orders-enrichment']);
    p.kill('SIGTERM');
    const code = await new Promise<number | null>(r => p.on('exit', r));
    expect(code).toBe(0);
    expect(out).toMatch(/"msg":"stopped"/);
  }, 40_000);

  it('a bad config stops start-up with the field and the reason, exit 1', async () => {
    const p = cli(['run', '--flink-url', 'not a url', '--interval', 'soon']);
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise<number | null>(r => p.on('exit', r))).toBe(1);
    expect(err).toMatch(/agent\.interval: not a duration: "soon"/);
    expect(err).toMatch(/flink\.clusters\.0\.url/);
  });
});
