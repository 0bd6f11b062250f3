import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { KubeConfig } from '@kubernetes/client-node';
import { compileConfig } from '../../../src/config/load.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import {
  FlinkRestClient,
  getResourceRequirements,
  putResourceRequirements,
  withParallelism,
} from '../../../src/sources/flink-rest/index.js';
import { OVERRIDES_KEY, parseOverrides } from '../../../src/sources/kubernetes/index.js';
import { createLogger, type Logger } from '../../../src/telemetry/logger.js';
import type { K8sApiServer } from '../../support/k8s-api-server.js';

export const OPT_IN = 'autopilot.flink.apache.org/watch';

export function jobId(n: number): string {
  return n.toString(16).padStart(32, '0');
}

export interface FdOptions {
  namespace?: string;
  jobId?: string | undefined;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  optIn?: boolean;
  upgradeMode?: 'stateless' | 'savepoint' | 'last-state';
  flinkConfiguration?: Record<string, string>;
  lifecycleState?: string;
  jobState?: string;
  restUrl?: string;
  session?: boolean;
}

/** A FlinkDeployment as the operator leaves it once the job runs. */
export function flinkDeployment(name: string, o: FdOptions = {}): Record<string, unknown> {
  const annotations = {
    ...(o.optIn === false ? {} : { [OPT_IN]: 'true' }),
    ...(o.restUrl === undefined ? {} : { 'autopilot.flink.apache.org/rest-url': o.restUrl }),
    ...o.annotations,
  };
  return {
    metadata: { name, namespace: o.namespace ?? 'flink', labels: o.labels ?? {}, annotations },
    spec: {
      image: 'flink:1.20',
      flinkVersion: 'v1_20',
      flinkConfiguration: { 'taskmanager.numberOfTaskSlots': '4', ...o.flinkConfiguration },
      serviceAccount: 'flink',
      jobManager: { resource: { cpu: 1, memory: '2048m' } },
      taskManager: { resource: { cpu: 2, memory: '4096m' } },
      ...(o.session
        ? {}
        : {
            job: {
              jarURI: 'local:///opt/flink/usrlib/job.jar',
              parallelism: 4,
              upgradeMode: o.upgradeMode ?? 'savepoint',
              state: 'running',
            },
          }),
    },
    status: {
      lifecycleState: o.lifecycleState ?? 'STABLE',
      jobManagerDeploymentStatus: 'READY',
      ...(o.jobId === undefined ? {} : { jobStatus: { jobId: o.jobId, state: o.jobState ?? 'RUNNING' } }),
    },
  };
}

/** A captured logger: every line parsed. */
export function capturedLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk: Buffer, _e, cb) {
        for (const l of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(l) as Record<string, unknown>);
        cb();
      },
    }),
  });
  return { log, lines };
}

export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'autopilot-k8s-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The compiled `kubernetes` settings for a kubeconfig pointing at the test server. */
export function k8sConfig(server: K8sApiServer, dir: string, over: ConfigInput['kubernetes'] = {}) {
  return compileConfig({
    kubernetes: {
      enabled: true,
      kubeconfig: server.writeKubeconfig(dir),
      backoff: '100ms',
      maxBackoff: '400ms',
      timeout: '2s',
      ...over,
    },
  });
}

export function kubeConfigOf(file: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** Polls until `check` returns a value (not undefined) or the timeout passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise(r => setTimeout(r, 50));
  }
}

/**
 * Plays the Flink operator for the loop: when the overrides key is patched, rescales the job in
 * place through the simulator's adaptive-scheduler API and reports the generation as observed.
 */
export function emulateOperator(server: K8sApiServer, simUrl: string): void {
  const client = new FlinkRestClient({ baseUrl: simUrl });
  server.onPatch = async (plural, obj) => {
    const md = obj.metadata as { name: string; namespace: string; generation: number };
    const kind = plural === 'flinkdeployments' ? 'FlinkDeployment' : 'FlinkSessionJob';
    const spec = obj.spec as { flinkConfiguration?: Record<string, string> };
    const st = obj.status as { jobStatus?: { jobId?: string } } | null;
    const overrides = parseOverrides(spec.flinkConfiguration?.[OVERRIDES_KEY]);
    const jid = st?.jobStatus?.jobId;
    if (overrides && jid) {
      const current = await getResourceRequirements(client, jid);
      await putResourceRequirements(client, jid, withParallelism(current, overrides));
    }
    server.setStatus(kind, md.namespace, md.name, {
      observedGeneration: md.generation,
      lifecycleState: 'STABLE',
    });
  };
}
