import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { startAutopilot } from '../../../src/agent-manager/start.js';
import { startRedis } from '../../setup/redis.global.js';
import type { JobSource } from '../../../src/agent-manager/daemon.js';
import { compileConfig } from '../../../src/config/load.js';
import { RuleLoadError } from '../../../src/config/rule-files.js';
import type { JobRef, Snapshot } from '../../../src/domain/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';

const url = `redis://127.0.0.1:${inject('redisPort')}`;
const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'autopilot-start-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const lines: string[] = [];
const log = createLogger({
  destination: new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) }),
});

const job: JobRef = {
  jobKey: 'rest:c/a',
  incarnation: 'a',
  origin: 'rest',
  cluster: 'c',
  name: 'a',
  flinkJobId: 'a',
  restUrl: 'http://127.0.0.1:1',
  labels: {},
};
const source: JobSource = {
  id: 'flink:c',
  listJobs: () => Promise.resolve([job]),
  collect: (j, now): Promise<Snapshot> =>
    Promise.resolve({
      job: j,
      observedAt: now,
      sourceId: 'flink:c',
      cluster: { reachable: true },
      vertices: [],
      missing: [],
    }),
};

describe('startAutopilot', () => {
  it('standalone: file store, local scheduler; the state survives a restart', async () => {
    const dir = tempDir();
    const config = compileConfig({ state: { dir }, agent: { interval: '1s', jitter: 0 }, api: { port: 0 } });
    const a = await startAutopilot({ config, sources: [source], log });
    expect(a.mode).toBe('standalone');
    expect(a.rules.length).toBeGreaterThanOrEqual(12);
    await new Promise(r => setTimeout(r, 300));
    await a.daemon.cycle(job);
    // The API serves the daemon's reports and its metrics.
    expect((await fetch(`${a.apiUrl}/readyz`)).status).toBe(200);
    const jobs = (await (await fetch(`${a.apiUrl}/api/v1/jobs`)).json()) as {
      items: { id: string; dataState: string }[];
    };
    expect(jobs.items.map(j => [j.id, j.dataState])).toEqual([['rest:c/a', 'ok']]);
    const metrics = await (await fetch(`${a.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/autopilot_cycle_stage_duration_seconds_count\{stage="detect"\} [1-9]/);
    expect(metrics).toMatch(/autopilot_rules_loaded \d+/);
    await a.store.putRecord('pause', 'fleet', { reason: 'sale' });
    await a.close();
    await a.close();
    const b = await startAutopilot({ config, sources: [source], log, api: false });
    expect(await b.store.getRecord('pause', 'fleet', Date.now())).toEqual({ reason: 'sale' });
    expect((await b.store.getJob('rest:c/a'))?.lastReport?.dataState).toBe('ok');
    expect((await b.daemon.cycle(job)).mode).toBe('paused');
    await b.close();
  });

  it('distributed: refuses a Redis without AOF, starts on one with AOF and noeviction', async () => {
    const noAof = await startRedis(['--appendonly', 'no']);
    try {
      const bad = compileConfig({ redis: { url: `redis://127.0.0.1:${noAof.port}` } });
      await expect(startAutopilot({ config: bad, sources: [source], log, api: false })).rejects.toThrow(
        /appendonly yes/,
      );
    } finally {
      await noAof.stop();
    }
    const config = compileConfig({
      redis: { url, prefix: `start-${process.pid}` },
      agent: { interval: '1s' },
    });
    const a = await startAutopilot({ config, sources: [source], log, api: false });
    expect(a.mode).toBe('distributed');
    await a.close();
  });

  it('serves silences, pauses and the merged policy through the API with an editor token', async () => {
    process.env.AUTOPILOT_TEST_TOKEN = 'editor-token-0123456789';
    const config = compileConfig({
      state: { dir: tempDir() },
      api: { port: 0, tokens: [{ name: 'ed', role: 'editor', env: 'AUTOPILOT_TEST_TOKEN' }] },
      policies: [{ id: 'team-c', selector: { cluster: 'c' }, mode: 'approve', maxParallelism: 16 }],
    });
    const a = await startAutopilot({ config, sources: [source], log });
    const bearer = { authorization: 'Bearer editor-token-0123456789' };
    const auth = { ...bearer, 'content-type': 'application/json' };
    try {
      await a.daemon.cycle(job);
      const detail = (await (
        await fetch(`${a.apiUrl}/api/v1/jobs/rest%3Ac%2Fa`, { headers: auth })
      ).json()) as { policy: { mode: string; maxParallelism: number; sources: Record<string, string> } };
      expect(detail.policy).toMatchObject({
        mode: 'approve',
        maxParallelism: 16,
        sources: { mode: 'policy:team-c' },
      });

      const post = await fetch(`${a.apiUrl}/api/v1/silences`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({
          matchers: [{ name: 'rule', value: 'job-restart-loop' }],
          comment: 'known outage',
          endsAt: Date.now() + 3_600_000,
        }),
      });
      expect(post.status).toBe(200);
      const { id } = (await post.json()) as { id: string };
      const listed = (await (await fetch(`${a.apiUrl}/api/v1/silences`, { headers: auth })).json()) as {
        items: { id: string; author: string }[];
      };
      expect(listed.items).toEqual([expect.objectContaining({ id, author: 'ed' })]);
      const bad = await fetch(`${a.apiUrl}/api/v1/silences`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ matchers: [{ name: 'nope', value: 'x' }], comment: 'c', endsAt: 1 }),
      });
      expect(bad.status).toBe(400);
      expect(
        (await fetch(`${a.apiUrl}/api/v1/silences/${id}`, { method: 'DELETE', headers: bearer })).status,
      ).toBe(200);
      expect(
        (await fetch(`${a.apiUrl}/api/v1/silences/${id}`, { method: 'DELETE', headers: bearer })).status,
      ).toBe(404);

      const paused = await fetch(`${a.apiUrl}/api/v1/pause`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ scope: 'job', target: 'rest:c/a', reason: 'deploy' }),
      });
      expect(paused.status).toBe(200);
      expect((await a.daemon.cycle(job)).mode).toBe('paused');
      // Writes always need a token, even on loopback.
      expect((await fetch(`${a.apiUrl}/api/v1/resume`, { method: 'POST', body: '{}' })).status).toBe(401);
    } finally {
      await a.close();
      delete process.env.AUTOPILOT_TEST_TOKEN;
    }
  });

  it('refuses to serve reads without tokens off loopback', async () => {
    const config = compileConfig({ state: { dir: tempDir() }, api: { host: '0.0.0.0', port: 0 } });
    await expect(startAutopilot({ config, sources: [source], log })).rejects.toThrow(/token/i);
  });

  it('refuses to start on a broken rule library, naming the errors', async () => {
    const config = compileConfig({ state: { dir: tempDir() }, rules: { dir: 'test/fixtures/broken-rules' } });
    const err: unknown = await startAutopilot({ config, sources: [source], log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuleLoadError);
    expect((err as RuleLoadError).errors.length).toBeGreaterThanOrEqual(10);
  });
});
