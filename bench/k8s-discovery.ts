import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { KubernetesJobSource } from '../src/agent-manager/k8s-job-source.js';
import { compileConfig } from '../src/config/load.js';
import { createLogger } from '../src/telemetry/logger.js';
import { startK8sApiServer } from '../test/support/k8s-api-server.js';
import { describeMachine, machineInfo } from './machine.js';

/**
 * Kubernetes discovery at fleet size: N FlinkDeployments in the local test API server, read by
 * the real @kubernetes/client-node over loopback HTTP. Measures the first list (HTTP + JSON), one
 * `listJobs` (parsing and mapping every resource), and the watch: M status-only updates (the
 * operator's everyday noise, not announced) followed by M job upgrades (announced), timed until
 * the last one is in the inventory. The API server runs in the same process, so its own work is
 * included in the times (an upper bound for the client side).
 */

const RESOURCES = 30_000;
const UPDATES = 2_000;

function hex(n: number): string {
  return n.toString(16).padStart(32, '0');
}

function deployment(i: number, jobN: number): Record<string, unknown> {
  return {
    metadata: {
      name: `job-${i}`,
      namespace: `team-${i % 50}`,
      labels: { team: `team-${i % 50}`, tier: 'prod' },
      annotations: { 'autopilot.flink.apache.org/watch': 'true' },
    },
    spec: {
      image: 'flink:1.20',
      flinkVersion: 'v1_20',
      flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4', 'jobmanager.scheduler': 'adaptive' },
      serviceAccount: 'flink',
      jobManager: { resource: { cpu: 1, memory: '2048m' } },
      taskManager: { resource: { cpu: 2, memory: '4096m' } },
      job: {
        jarURI: 'local:///opt/flink/job.jar',
        parallelism: 4,
        upgradeMode: 'savepoint',
        state: 'running',
      },
    },
    status: {
      lifecycleState: 'STABLE',
      jobManagerDeploymentStatus: 'READY',
      observedGeneration: 1,
      jobStatus: { jobId: hex(jobN), state: 'RUNNING', checkpointInfo: { lastCheckpoint: { timeStamp: 0 } } },
    },
  };
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('benchmark condition not met in time');
    await new Promise(r => setTimeout(r, 20));
  }
}

export async function run(): Promise<void> {
  const server = await startK8sApiServer();
  const dir = mkdtempSync(join(tmpdir(), 'autopilot-bench-k8s-'));
  const log = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
  try {
    for (let i = 0; i < RESOURCES; i++) server.apply('FlinkDeployment', deployment(i, i + 1));
    const settings = compileConfig({
      kubernetes: {
        enabled: true,
        kubeconfig: server.writeKubeconfig(dir),
        sessionJobs: false,
        timeout: '60s',
      },
    }).kubernetes;
    const source = new KubernetesJobSource({ settings, log });
    let announced = 0;
    source.subscribe(() => (announced += 1));
    const rssBefore = process.memoryUsage().rss;

    let t = performance.now();
    const first = await source.listJobs();
    const firstListMs = performance.now() - t;
    if (first.length !== RESOURCES) throw new Error(`listed ${first.length} of ${RESOURCES}`);

    t = performance.now();
    await source.listJobs();
    const listJobsMs = performance.now() - t;
    await until(() => Promise.resolve(server.openWatches > 0), 10_000);
    const afterList = announced;

    t = performance.now();
    for (let i = 0; i < UPDATES; i++)
      server.setStatus('FlinkDeployment', `team-${i % 50}`, `job-${i}`, {
        jobStatus: { checkpointInfo: { lastCheckpoint: { timeStamp: i + 1 } } },
      });
    for (let i = 0; i < UPDATES; i++)
      server.setStatus('FlinkDeployment', `team-${i % 50}`, `job-${i}`, {
        jobStatus: { jobId: hex(RESOURCES + i + 1) },
      });
    await until(() => Promise.resolve(announced - afterList >= UPDATES), 120_000);
    const watchMs = performance.now() - t;
    const lastJob = hex(RESOURCES + UPDATES);
    if (!(await source.listJobs()).some(j => j.flinkJobId === lastJob))
      throw new Error('last upgrade missing');
    const rssAfter = process.memoryUsage().rss;
    await source.close();

    const machine = machineInfo();
    const report = {
      benchmark: 'k8s-discovery',
      machine,
      resources: RESOURCES,
      updates: { statusOnly: UPDATES, upgrades: UPDATES },
      firstListMs: Math.round(firstListMs),
      listJobsMs: Math.round(listJobsMs),
      listJobsMicrosecondsPerResource: Math.round((listJobsMs * 1000) / RESOURCES),
      watchEventsMs: Math.round(watchMs),
      watchEventsPerSecond: Math.round((2 * UPDATES) / (watchMs / 1000)),
      announcedChanges: announced - afterList,
      rssGrowthMiB: Math.round((rssAfter - rssBefore) / 1024 ** 2),
    };
    const out = fileURLToPath(new URL('./results/k8s-discovery.json', import.meta.url));
    await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`k8s-discovery on ${describeMachine(machine)}`);
    console.log(
      `${RESOURCES} FlinkDeployments: first list ${report.firstListMs} ms, listJobs ${report.listJobsMs} ms ` +
        `(${report.listJobsMicrosecondsPerResource} µs/resource); ${2 * UPDATES} watch events in ${report.watchEventsMs} ms ` +
        `(${report.watchEventsPerSecond}/s), ${report.announcedChanges} announced; RSS +${report.rssGrowthMiB} MiB`,
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
