import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadScenario, startSimulator, type Simulator } from '../../../src/sim/index.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/index.js';
import { startK8sApiServer, type K8sApiServer } from '../../support/k8s-api-server.js';
import { flinkDeployment, tempDir } from './fixtures.js';

/** The real CLI in its own process, configured by a file with a `kubernetes` section. */
function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise(r => p.on('exit', code => r({ code, out, err })));
}

let server: K8sApiServer;
let sim: Simulator;
let tmp: ReturnType<typeof tempDir>;
beforeAll(async () => {
  server = await startK8sApiServer();
  sim = await startSimulator({ scenario: await loadScenario('scenarios/healthy-pipeline.yaml') });
  tmp = tempDir();
});
afterAll(async () => {
  await sim.close();
  await server.close();
  tmp.cleanup();
});

describe('autopilot CLI with kubernetes.enabled', () => {
  it('diagnose --json finds the FlinkDeployment through the API server and reports it', async () => {
    const [job] = (await new FlinkRestClient({ baseUrl: sim.url }).jobsOverview()).jobs;
    if (!job) throw new Error('no simulated job');
    server.apply('FlinkDeployment', flinkDeployment('orders', { namespace: 'shop', jobId: job.jid }));
    const config = join(tmp.dir, 'autopilot.json');
    writeFileSync(
      config,
      JSON.stringify({
        kubernetes: { enabled: true, kubeconfig: server.writeKubeconfig(tmp.dir), restUrlTemplate: sim.url },
      }),
    );
    const { code, out, err } = await cli(['diagnose', '--config', config, '--json']);
    expect(code, err).toBe(0);
    const body = JSON.parse(out) as { reports: { id: string; namespace?: string; flinkJobId: string }[] };
    expect(body.reports.map(r => [r.id, r.namespace, r.flinkJobId])).toEqual([
      ['k8s:shop/orders', 'shop', job.jid],
    ]);
  });

  it('refuses to start with unusable credentials, naming the problem', async () => {
    const config = join(tmp.dir, 'bad.json');
    writeFileSync(
      config,
      JSON.stringify({ kubernetes: { enabled: true, kubeconfig: join(tmp.dir, 'missing') } }),
    );
    const { code, err } = await cli(['diagnose', '--config', config, '--json']);
    expect(code).toBe(1);
    expect(err).toMatch(/^kubernetes: cannot load credentials: .*missing/m);
  });
});
