import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { sourcesFromConfig } from '../../../src/agent-manager/rest-job-source.js';
import { startAutopilot } from '../../../src/agent-manager/start.js';
import { compileConfig } from '../../../src/config/load.js';
import { loadScenario, startSimulator } from '../../../src/sim/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';

const dir = mkdtempSync(join(tmpdir(), 'autopilot-e2e-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const log = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });

describe('daemon against the simulator over real HTTP', () => {
  it('discovers the job, reports it from the REST API and serves it on its own API', async () => {
    const sim = await startSimulator({ scenario: await loadScenario('scenarios/healthy-pipeline.yaml') });
    const config = compileConfig({
      flink: { clusters: [{ label: 'orders', url: sim.url }] },
      state: { dir },
      agent: { interval: '500ms', jitter: 0 },
      api: { port: 0 },
    });
    const a = await startAutopilot({ config, sources: sourcesFromConfig(config), log });
    try {
      await new Promise(r => setTimeout(r, 2000));
      const [report] = a.daemon.reports();
      expect(report).toMatchObject({
        id: 'rest:orders/orders-enrichment',
        cluster: 'orders',
        state: 'RUNNING',
        risk: 'low',
      });
      expect(['ok', 'partial']).toContain(report?.dataState);
      expect(report?.score).toBeGreaterThanOrEqual(95);
      const body = (await (
        await fetch(`${a.apiUrl}/api/v1/jobs/${encodeURIComponent('rest:orders/orders-enrichment')}`)
      ).json()) as { id: string; flinkJobId: string };
      expect(body.id).toBe('rest:orders/orders-enrichment');
      expect(body.flinkJobId).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await a.close();
      await sim.close();
    }
  });
});
