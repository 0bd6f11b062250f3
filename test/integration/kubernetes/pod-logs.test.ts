import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesJobSource } from '../../../src/agent-manager/k8s-job-source.js';
import { LogFeeds } from '../../../src/agent-manager/log-feeds.js';
import { loadLibrary } from '../../../src/agent-manager/start.js';
import { compileConfig } from '../../../src/config/load.js';
import { VirtualClock, type JobRef } from '../../../src/domain/index.js';
import { startK8sApiServer, type K8sApiServer } from '../../support/k8s-api-server.js';
import { capturedLog, eventually, flinkDeployment, jobId, tempDir } from './fixtures.js';

/**
 * Pod logs of a FlinkDeployment through the real @kubernetes/client-node against the local API
 * server: only the deployment's JobManager/TaskManager pods, only lines newer than the last read
 * (sinceSeconds + timestamps, overlap dropped), the previous container after a restart, and at
 * most limitBytes per cycle with the rest read on the next cycles.
 */

const T0 = Date.parse('2026-11-11T00:10:00Z');
const NS = 'flink';
const stamp = (at: number): string =>
  new Date(at).toISOString().replace('T', ' ').replace('Z', '').replace('.', ',');
const flinkLine = (at: number, level: string, logger: string, msg: string): string =>
  `${stamp(at)} ${level.padEnd(5)} ${logger.padEnd(60)} [] - ${msg}`;
const KAFKA = (at: number): string =>
  flinkLine(
    at,
    'WARN',
    'org.apache.kafka.clients.NetworkClient',
    '[Consumer clientId=orders-0, groupId=orders] Connection to node -1 (kafka:9092/10.0.9.1:9092) could not be established. Broker may not be available.',
  );

let server: K8sApiServer;
let tmp: ReturnType<typeof tempDir>;
let source: KubernetesJobSource;
let clock: VirtualClock;

beforeEach(async () => {
  server = await startK8sApiServer();
  tmp = tempDir();
  clock = new VirtualClock(T0);
  server.now = () => clock.now();
});
afterEach(async () => {
  await source.close();
  await server.close();
  tmp.cleanup();
});

async function setup(bytesPerCycle = 256 * 1024) {
  const config = compileConfig({
    kubernetes: { enabled: true, kubeconfig: server.writeKubeconfig(tmp.dir), timeout: '2s' },
    logs: { kubernetes: { enabled: true, bytesPerCycle } },
  });
  source = new KubernetesJobSource({ settings: config.kubernetes, log: capturedLog().log });
  server.apply('FlinkDeployment', flinkDeployment('orders', { jobId: jobId(1) }));
  const [job] = await eventually(async () => {
    const jobs = await source.listJobs();
    return jobs.length === 1 ? jobs : undefined;
  });
  const lib = await loadLibrary(undefined);
  if (lib.classifier === undefined) throw new Error('no log patterns');
  const feeds = new LogFeeds(config, lib.classifier, capturedLog().log, clock);
  server.addPod(NS, 'orders-jm-0', { app: 'orders', component: 'jobmanager' });
  server.addPod(NS, 'orders-tm-1', { app: 'orders', component: 'taskmanager' });
  server.addPod(NS, 'other-tm-1', { app: 'other', component: 'taskmanager' });
  const read = async (advanceMs: number) => {
    await clock.advance(advanceMs);
    const signal = await feeds.read(job as JobRef, source, clock.now());
    if (signal === undefined) throw new Error('pod logs were not read');
    return { signal, count: (cls: string) => signal.counts.find(c => c.class === cls)?.count ?? 0 };
  };
  return { read, logRequests: () => server.requests.filter(r => r.path.endsWith('/log')) };
}

describe('Kubernetes pod logs (real client-node against a local API server)', () => {
  it('reads only new lines of the deployment’s JobManager and TaskManager pods, and the previous container after a restart', async () => {
    const { read, logRequests } = await setup();
    server.podLog(NS, 'orders-tm-1', KAFKA(T0 - 60_000), T0 - 60_000);
    const first = await read(0);
    // What was logged before the daemon started is not news.
    expect(first.signal.counts).toEqual([]);

    server.podLog(
      NS,
      'orders-jm-0',
      flinkLine(
        T0 + 5_000,
        'INFO',
        'org.apache.flink.runtime.resourcemanager.active.ActiveResourceManager',
        'Heartbeat of TaskManager with id orders-tm-1 timed out.',
      ),
      T0 + 5_000,
    );
    for (const ms of [6_000, 7_000, 8_000]) server.podLog(NS, 'orders-tm-1', KAFKA(T0 + ms), T0 + ms);
    for (const ms of [6_000, 7_000]) server.podLog(NS, 'other-tm-1', KAFKA(T0 + ms), T0 + ms);
    const second = await read(10_000);
    expect(second.count('tm-heartbeat-timeout')).toBe(1);
    expect(second.count('kafka-broker-unreachable')).toBe(3);
    const last = logRequests().at(-1);
    expect(last?.query).toMatchObject({ container: 'flink-main-container', timestamps: 'true' });
    expect(Number(last?.query.sinceSeconds)).toBeGreaterThan(0);
    expect(logRequests().every(r => !r.path.includes('other-tm-1'))).toBe(true);

    // The overlap of sinceSeconds is dropped by timestamp: nothing is counted twice.
    const third = await read(10_000);
    expect(third.signal.counts).toEqual([]);

    // The TaskManager container dies of an OOM and restarts: its last words are in the previous log.
    server.podLog(
      NS,
      'orders-tm-1',
      `${flinkLine(T0 + 22_000, 'ERROR', 'org.apache.flink.runtime.taskexecutor.TaskManagerRunner', 'Fatal error occurred while executing the TaskManager. Shutting it down...')}\njava.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3745)`,
      T0 + 22_000,
    );
    server.restartContainer(NS, 'orders-tm-1');
    server.podLog(
      NS,
      'orders-tm-1',
      flinkLine(
        T0 + 25_000,
        'INFO',
        'org.apache.flink.runtime.taskexecutor.TaskExecutor',
        'Starting TaskExecutor.',
      ),
      T0 + 25_000,
    );
    const fourth = await read(10_000);
    expect(fourth.count('heap-oom')).toBe(1);
    expect(logRequests().filter(r => r.query.previous === 'true')).toHaveLength(1);
    const fifth = await read(10_000);
    expect(fifth.signal.counts).toEqual([]);
    expect(logRequests().filter(r => r.query.previous === 'true')).toHaveLength(1);
  });

  it('reads at most limitBytes per cycle and catches up on the next cycles without duplicates', async () => {
    const budget = 8 * 1024;
    const { read, logRequests } = await setup(budget);
    await read(0);
    // 300 lines over a minute, 5 per second: 140 B lines, about 42 KiB.
    const lines = 300;
    for (let i = 0; i < lines; i++)
      server.podLog(NS, 'orders-tm-1', KAFKA(T0 + 1_000 + i * 200), T0 + 1_000 + i * 200);
    let counted = 0;
    const perCycle: number[] = [];
    for (let i = 0; i < 30 && counted < lines; i++) {
      const r = await read(10_000);
      perCycle.push(r.signal.bytes);
      counted += r.count('kafka-broker-unreachable');
    }
    console.info(
      `pod logs, ${budget} B per cycle: ${perCycle.join(', ')} B read; ${counted} of ${lines} lines counted once`,
    );
    expect(counted).toBe(lines);
    expect(perCycle.length).toBeGreaterThan(3);
    for (const b of perCycle) expect(b).toBeLessThanOrEqual(budget);
    expect(logRequests().every(r => Number(r.query.limitBytes) <= budget)).toBe(true);
  });
});
