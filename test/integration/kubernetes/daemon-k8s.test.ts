import { readFile } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendByOrigin } from '../../../src/actions/backend.js';
import { kubernetesFromConfig } from '../../../src/agent-manager/k8s-job-source.js';
import { Daemon } from '../../../src/agent-manager/daemon.js';
import { loadLibrary, startAutopilot, type Autopilot } from '../../../src/agent-manager/start.js';
import type { DetectState } from '../../../src/agents/detect/detect.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { compileConfig } from '../../../src/config/load.js';
import { VirtualClock } from '../../../src/domain/index.js';
import { parseScenario, startSimulator, type Simulator } from '../../../src/sim/index.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/index.js';
import { OVERRIDES_KEY, parseOverrides } from '../../../src/sources/kubernetes/index.js';
import { startK8sApiServer, type K8sApiServer } from '../../support/k8s-api-server.js';
import { capturedLog, emulateOperator, eventually, flinkDeployment, jobId, tempDir } from './fixtures.js';

let server: K8sApiServer;
let sim: Simulator;
let tmp: ReturnType<typeof tempDir>;
let autopilot: Autopilot | undefined;

beforeEach(async () => {
  server = await startK8sApiServer();
  tmp = tempDir();
});
afterEach(async () => {
  await autopilot?.close();
  autopilot = undefined;
  await sim.close();
  await server.close();
  tmp.cleanup();
});

/** The healthy pipeline with an aggregate that runs at its capacity: it needs more subtasks. */
async function underProvisioned(): Promise<ReturnType<typeof parseScenario>> {
  const text = await readFile('scenarios/healthy-pipeline.yaml', 'utf8');
  return parseScenario(
    text.replace('capacity: 5000\n        keySkew: 0.2', 'capacity: 2000'),
    'under-provisioned',
  );
}

describe('daemon on Kubernetes: discovery → diagnosis → rescale by FlinkDeployment patch (auto mode)', () => {
  it('discovers the FlinkDeployment, patches the overrides for every vertex, and the job runs at the target', async () => {
    const scenario = await underProvisioned();
    const clock = new VirtualClock(Date.parse(scenario.startTime));
    sim = await startSimulator({ scenario, clock });
    const rest = new FlinkRestClient({ baseUrl: sim.url });
    const [simJob] = (await rest.jobsOverview()).jobs;
    if (!simJob) throw new Error('no simulated job');
    server.apply('FlinkDeployment', flinkDeployment('orders', { jobId: simJob.jid, restUrl: sim.url }));
    server.setStatus('FlinkDeployment', 'flink', 'orders', { observedGeneration: 1 });
    emulateOperator(server, sim.url);

    const config = compileConfig({
      mode: 'auto',
      kubernetes: { enabled: true, kubeconfig: server.writeKubeconfig(tmp.dir), backoff: '100ms' },
      agent: { interval: '10s', jitter: 0 },
      actions: { stabilization: '20s', cooldown: '5m' },
      state: { dir: tmp.dir + '/state' },
    });
    const { log, lines } = capturedLog();
    const k8s = kubernetesFromConfig(config, log);
    if (!k8s) throw new Error('kubernetes not enabled');
    autopilot = await startAutopilot({
      config,
      clock,
      log,
      api: false,
      sources: [k8s.source],
      backend: backendByOrigin({ k8s: k8s.backend }),
    });
    expect(autopilot.daemon.job('k8s:flink/orders')).toMatchObject({ flinkJobId: simJob.jid, origin: 'k8s' });

    // Ticks in virtual time until the daemon has rescaled (at most 15 virtual minutes).
    for (let i = 0; i < 90; i++) {
      await clock.advance(10_000);
      await new Promise(r => setTimeout(r, 60));
      if (server.requests.some(r => r.method === 'PATCH')) break;
    }
    const patch = server.requests.find(r => r.method === 'PATCH');
    expect(patch, JSON.stringify(lines.filter(l => Number(l.level) >= 40).slice(-5))).toBeDefined();
    expect(patch?.contentType).toBe('application/merge-patch+json');
    const fd = server.get('FlinkDeployment', 'flink', 'orders') as {
      spec: { flinkConfiguration: Record<string, string> };
    };
    const overrides = parseOverrides(fd.spec.flinkConfiguration[OVERRIDES_KEY]) ?? {};
    const vertices = (await rest.job(simJob.jid)).vertices;
    expect(Object.keys(overrides).sort()).toEqual(vertices.map(v => v.id).sort());
    const agg = vertices.find(v => v.name === 'Window Aggregate');
    expect(overrides[agg?.id ?? '']).toBeGreaterThan(4);

    const journal = await autopilot.store.readJournal({ jobKey: 'k8s:flink/orders' });
    expect(journal.map(e => e.status)).toContain('executed');

    // The emulated operator rescaled in place: after the restart the job runs at the target,
    // and the daemon sees the new generation as a new incarnation of the same jobKey.
    await eventually(async () => {
      await clock.advance(10_000);
      const now = (await rest.job(simJob.jid)).vertices;
      return now.every(v => v.parallelism === overrides[v.id]) ? true : undefined;
    }, 60_000);
    await eventually(() =>
      autopilot?.daemon.job('k8s:flink/orders')?.incarnation === `${simJob.jid}@2` ? true : undefined,
    );
    // Verification reads the actual parallelism back (GET /jobs/:id through the backend).
    await eventually(async () => {
      await clock.advance(10_000);
      await new Promise(r => setTimeout(r, 60));
      const entries = (await autopilot?.store.readJournal({ jobKey: 'k8s:flink/orders' })) ?? [];
      return entries.some(e => e.status === 'verified') ? true : undefined;
    }, 60_000);
  }, 120_000);

  it('keeps the inventory exact from watch events: a deleted resource leaves no agent, report or metric windows', async () => {
    const scenario = parseScenario(await readFile('scenarios/healthy-pipeline.yaml', 'utf8'));
    const clock = new VirtualClock(Date.parse(scenario.startTime));
    sim = await startSimulator({ scenario, clock });
    const [simJob] = (await new FlinkRestClient({ baseUrl: sim.url }).jobsOverview()).jobs;
    if (!simJob) throw new Error('no simulated job');
    for (const name of ['orders', 'payments'])
      server.apply('FlinkDeployment', flinkDeployment(name, { jobId: simJob.jid, restUrl: sim.url }));
    // Discovery runs every hour here: every change below arrives through the watch.
    const config = compileConfig({
      kubernetes: { enabled: true, kubeconfig: server.writeKubeconfig(tmp.dir) },
      agent: { discoveryInterval: '1h' },
    });
    const { log } = capturedLog();
    const k8s = kubernetesFromConfig(config, log);
    if (!k8s) throw new Error('kubernetes not enabled');
    const { rules, version } = await loadLibrary(undefined);
    const detectStates = new Map<string, DetectState>();
    const daemon = new Daemon({
      config,
      clock,
      sources: [k8s.source],
      store: new MemoryStore(),
      rules,
      rulesVersion: version,
      log,
      detectStates,
    });
    try {
      await daemon.start();
      for (const key of ['k8s:flink/orders', 'k8s:flink/payments']) {
        const job = daemon.job(key);
        if (!job) throw new Error(`not discovered: ${key}`);
        await daemon.cycle(job);
      }
      expect(daemon.reports()).toHaveLength(2);
      expect([...detectStates.keys()].sort()).toEqual(['k8s:flink/orders', 'k8s:flink/payments']);

      server.delete('FlinkDeployment', 'flink', 'payments');
      await eventually(() => (daemon.job('k8s:flink/payments') === undefined ? true : undefined));
      expect(daemon.reports().map(r => r.id)).toEqual(['k8s:flink/orders']);
      expect([...detectStates.keys()]).toEqual(['k8s:flink/orders']);

      // A cycle still queued with the old JobRef runs with the current one (new incarnation).
      const stale = daemon.job('k8s:flink/orders');
      server.setStatus('FlinkDeployment', 'flink', 'orders', {
        jobStatus: { jobId: jobId(9), state: 'RUNNING' },
      });
      await eventually(() => (daemon.job('k8s:flink/orders')?.flinkJobId === jobId(9) ? true : undefined));
      if (!stale) throw new Error('no job');
      const report = await daemon.cycle(stale);
      expect(report.flinkJobId).toBe(jobId(9));
    } finally {
      await daemon.close();
    }
  });
});
