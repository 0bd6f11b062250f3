import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubernetesJobSource, toJobRef } from '../../../src/agent-manager/k8s-job-source.js';
import { compileConfig } from '../../../src/config/load.js';
import type { JobRef } from '../../../src/domain/index.js';
import { startK8sApiServer, type K8sApiServer } from '../../support/k8s-api-server.js';
import { capturedLog, eventually, flinkDeployment, jobId, k8sConfig, OPT_IN, tempDir } from './fixtures.js';

let server: K8sApiServer;
let tmp: ReturnType<typeof tempDir>;
const sources: KubernetesJobSource[] = [];

beforeEach(async () => {
  server = await startK8sApiServer();
  tmp = tempDir();
});
afterEach(async () => {
  await Promise.all(sources.splice(0).map(s => s.close()));
  await server.close();
  tmp.cleanup();
});

function source(over: Parameters<typeof k8sConfig>[2] = {}) {
  const { log, lines } = capturedLog();
  const s = new KubernetesJobSource({ settings: k8sConfig(server, tmp.dir, over).kubernetes, log });
  sources.push(s);
  return { source: s, lines };
}

async function jobsWhen(s: KubernetesJobSource, ok: (jobs: JobRef[]) => boolean): Promise<JobRef[]> {
  return eventually(async () => {
    const jobs = await s.listJobs();
    return ok(jobs) ? jobs : undefined;
  });
}

describe('Kubernetes discovery (real client-node against a local API server)', () => {
  it('follows a FlinkDeployment through the watch: appears, upgrade keeps the jobKey with a new incarnation, disappears', async () => {
    server.apply('FlinkDeployment', flinkDeployment('orders', { jobId: jobId(1) }));
    const { source: s } = source();
    let changes = 0;
    s.subscribe(() => (changes += 1));
    const [first] = await s.listJobs();
    expect(first).toMatchObject({
      jobKey: 'k8s:flink/orders',
      incarnation: `${jobId(1)}@1`,
      origin: 'k8s',
      cluster: 'kubernetes',
      namespace: 'flink',
      name: 'orders',
      flinkJobId: jobId(1),
      restUrl: 'http://orders-rest.flink:8081',
      resource: { kind: 'FlinkDeployment', namespace: 'flink', name: 'orders' },
    });
    await eventually(() => (server.openWatches > 0 ? true : undefined));

    // An upgrade: the spec changes (generation 2), then the operator reports the new job id.
    const upgraded = flinkDeployment('orders', { jobId: jobId(1) });
    (upgraded.spec as { image: string }).image = 'flink:1.20.1';
    server.apply('FlinkDeployment', upgraded);
    server.setStatus('FlinkDeployment', 'flink', 'orders', {
      jobStatus: { jobId: jobId(2), state: 'RUNNING' },
    });
    const [second] = await jobsWhen(s, j => j[0]?.flinkJobId === jobId(2));
    expect(second?.jobKey).toBe('k8s:flink/orders');
    expect(second?.incarnation).toBe(`${jobId(2)}@2`);

    // A status-only update that changes no JobRef (the operator does this all the time) is not
    // announced; the next real change is, exactly once (both arrive in order on one watch).
    await eventually(() => (changes >= 2 ? true : undefined));
    const before = changes;
    server.setStatus('FlinkDeployment', 'flink', 'orders', {
      jobStatus: { updateTime: '2026-11-23T00:00:00Z' },
    });
    server.apply('FlinkDeployment', flinkDeployment('payments', { jobId: jobId(3) }));
    await jobsWhen(s, j => j.length === 2);
    await eventually(() => (changes > before ? true : undefined));
    expect(changes).toBe(before + 1);
    server.delete('FlinkDeployment', 'flink', 'orders');
    const left = await jobsWhen(s, j => j.length === 1);
    expect(left.map(j => j.jobKey)).toEqual(['k8s:flink/payments']);
    expect(changes).toBeGreaterThanOrEqual(4);
    // Everything after the first list came through the watch.
    expect(s.stats().find(x => x.kind === 'FlinkDeployment')?.lists).toBe(1);
  });

  it('restarts a failed watch with backoff and relists; 410 Gone (status or event) relists at once', async () => {
    server.apply('FlinkDeployment', flinkDeployment('orders', { jobId: jobId(1) }));
    const { source: s, lines } = source({ sessionJobs: false });
    await s.listJobs();
    await eventually(() => (server.openWatches > 0 ? true : undefined));

    // Two watch attempts fail with 500, and a resource is deleted while disconnected.
    server.fail('GET', /flinkdeployments\?.*watch=true/, { status: 500, times: 2 });
    server.dropWatches();
    server.delete('FlinkDeployment', 'flink', 'orders');
    server.apply('FlinkDeployment', flinkDeployment('payments', { jobId: jobId(2) }));
    const jobs = await jobsWhen(s, j => j.length === 1 && j[0]?.name === 'payments');
    expect(jobs[0]?.jobKey).toBe('k8s:flink/payments');
    const stats = s.stats()[0];
    expect(stats?.errors).toBeGreaterThanOrEqual(1);
    expect(stats?.lists).toBeGreaterThanOrEqual(2);
    const retries = lines.filter(l => l.msg === 'kubernetes list/watch failed; retrying with backoff');
    expect(retries.length).toBeGreaterThanOrEqual(1);
    expect(retries[0]).toMatchObject({ path: '/apis/flink.apache.org/v1beta1/flinkdeployments' });

    // 410 as an ERROR event in a watch stream: relist without counting an error.
    await eventually(() => (server.openWatches > 0 ? true : undefined));
    const errorsBefore = s.stats()[0]?.errors ?? 0;
    server.fail('GET', /watch=true/, { goneEvent: true });
    server.endWatches();
    await eventually(() => ((s.stats()[0]?.gone ?? 0) >= 1 ? true : undefined));
    // 410 as the HTTP status of the watch request.
    await eventually(() => (server.openWatches > 0 ? true : undefined));
    server.fail('GET', /watch=true/, { status: 410 });
    server.endWatches();
    await eventually(() => ((s.stats()[0]?.gone ?? 0) >= 2 ? true : undefined));
    expect(s.stats()[0]?.errors).toBe(errorsBefore);
    server.apply('FlinkDeployment', flinkDeployment('billing', { jobId: jobId(4) }));
    await jobsWhen(s, j => j.length === 2);
  });

  it('a list that times out is retried; before the first list succeeds, listJobs fails with the reason', async () => {
    server.apply('FlinkDeployment', flinkDeployment('orders', { jobId: jobId(1) }));
    server.fail('GET', /flinkdeployments$/, { hang: true });
    const { source: s } = source({ sessionJobs: false, timeout: '300ms' });
    await expect(s.listJobs()).rejects.toThrow(/not listed yet|timed out/);
    const jobs = await jobsWhen(s, j => j.length === 1);
    expect(jobs[0]?.name).toBe('orders');
    expect(s.stats()[0]?.errors).toBeGreaterThanOrEqual(1);
  });

  it('applies namespaces, the label selector (server side) and the opt-in annotation; maps session jobs', async () => {
    server.apply(
      'FlinkDeployment',
      flinkDeployment('a', { namespace: 'team-a', jobId: jobId(1), labels: { tier: 'prod' } }),
    );
    server.apply(
      'FlinkDeployment',
      flinkDeployment('dev', { namespace: 'team-a', jobId: jobId(2), labels: { tier: 'dev' } }),
    );
    server.apply(
      'FlinkDeployment',
      flinkDeployment('b', { namespace: 'team-b', jobId: jobId(3), labels: { tier: 'prod' } }),
    );
    server.apply(
      'FlinkDeployment',
      flinkDeployment('shy', {
        namespace: 'team-a',
        jobId: jobId(4),
        labels: { tier: 'prod' },
        optIn: false,
      }),
    );
    server.apply(
      'FlinkDeployment',
      flinkDeployment('session', { namespace: 'team-a', labels: { tier: 'prod' }, session: true }),
    );
    server.apply(
      'FlinkDeployment',
      flinkDeployment('starting', { namespace: 'team-a', labels: { tier: 'prod' } }),
    );
    server.apply('FlinkSessionJob', {
      metadata: {
        name: 'adhoc',
        namespace: 'team-a',
        labels: { tier: 'prod' },
        annotations: { [OPT_IN]: 'true' },
      },
      spec: {
        deploymentName: 'session',
        job: { jarURI: 'local:///j.jar', parallelism: 2, upgradeMode: 'savepoint' },
      },
      status: { jobStatus: { jobId: jobId(5), state: 'RUNNING' }, lifecycleState: 'STABLE' },
    });
    const { source: s } = source({ namespaces: ['team-a'], labelSelector: 'tier=prod' });
    const jobs = await s.listJobs();
    expect(jobs.map(j => [j.jobKey, j.restUrl, j.resource?.kind])).toEqual([
      ['k8s:team-a/a', 'http://a-rest.team-a:8081', 'FlinkDeployment'],
      ['k8s:team-a/adhoc', 'http://session-rest.team-a:8081', 'FlinkSessionJob'],
    ]);
    const paths = server.requests
      .filter(r => r.query.watch !== 'true')
      .map(r => [r.path, r.query.labelSelector]);
    expect(paths).toContainEqual([
      '/apis/flink.apache.org/v1beta1/namespaces/team-a/flinkdeployments',
      'tier=prod',
    ]);
    expect(paths).toContainEqual([
      '/apis/flink.apache.org/v1beta1/namespaces/team-a/flinksessionjobs',
      'tier=prod',
    ]);
    expect(server.requests.some(r => r.path.includes('team-b'))).toBe(false);

    // Without the opt-in requirement the annotated-less one is watched too.
    const all = await source({
      namespaces: ['team-a'],
      labelSelector: 'tier=prod',
      requireOptIn: false,
    }).source.listJobs();
    expect(all.map(j => j.name)).toEqual(['a', 'adhoc', 'shy']);
  });

  it('skips a malformed resource with an error naming the resource and the field, and keeps the others', async () => {
    server.apply('FlinkDeployment', flinkDeployment('good', { jobId: jobId(1) }));
    server.apply('FlinkDeployment', flinkDeployment('bad-id', { jobId: 'not-a-job-id' }));
    const bad = flinkDeployment('bad-mode', { jobId: jobId(2) });
    (bad.spec as { job: { parallelism: unknown } }).job.parallelism = 'four';
    server.apply('FlinkDeployment', bad);
    server.apply('FlinkDeployment', flinkDeployment('bad-url', { jobId: jobId(3), restUrl: 'not a url' }));
    const { source: s, lines } = source({ sessionJobs: false });
    const jobs = await s.listJobs();
    await s.listJobs(); // logged once per resource version, not per discovery
    expect(jobs.map(j => j.name)).toEqual(['good']);
    const errors = lines.filter(l => l.msg === 'invalid Flink resource skipped');
    expect(errors.map(e => [e.resource, e.field]).sort()).toEqual([
      ['FlinkDeployment flink/bad-id', 'status.jobStatus.jobId'],
      ['FlinkDeployment flink/bad-mode', 'spec.job.parallelism'],
      ['FlinkDeployment flink/bad-url', 'metadata.annotations.autopilot.flink.apache.org/rest-url'],
    ]);
  });
});

describe('toJobRef', () => {
  const settings = compileConfig({
    kubernetes: { restUrlTemplate: 'https://flink.example.com/{namespace}/{name}/' },
  }).kubernetes;
  it('fills the REST URL template and reads nested flinkConfiguration', () => {
    const fd = flinkDeployment('orders', { jobId: jobId(7).toUpperCase() });
    (fd.spec as { flinkConfiguration: unknown }).flinkConfiguration = {
      pipeline: { 'max-parallelism': 128 },
    };
    const ref = toJobRef(
      'FlinkDeployment',
      { ...fd, metadata: { ...(fd.metadata as object), resourceVersion: '5', generation: 3 } },
      settings,
    );
    expect(ref).toMatchObject({
      restUrl: 'https://flink.example.com/flink/orders/',
      flinkJobId: jobId(7),
      incarnation: `${jobId(7)}@3`,
    });
  });
});
