import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pipelineScenario, startHarness, at, type SimHarness } from '../../support/sim-fixtures.js';
import { referenceSpec, REFERENCE_DIR, type OpenApi } from '../../support/sim-openapi.js';

/**
 * The simulator's responses against Flink's own OpenAPI spec (shared/reference), with the known
 * wire differences applied (see test/support/sim-openapi.ts). The reference folder is always
 * present in CI; elsewhere these tests are skipped with the reason printed.
 */

const SPECS = [
  { spec: 'flink-1.20', versions: ['1.18', '1.20'] },
  { spec: 'flink-2.3', versions: ['2.3'] },
] as const;

function endpoints(
  job: string,
  vertex: string,
  source: string,
  tm: string,
  rescale: string | undefined,
  v23: boolean,
): [string, string][] {
  const list: [string, string][] = [
    ['/config', '/config'],
    ['/overview', '/overview'],
    ['/jobs', '/jobs'],
    ['/jobs/overview', '/jobs/overview'],
    ['/jobs/{jobid}', `/jobs/${job}`],
    ['/jobs/{jobid}/status', `/jobs/${job}/status`],
    ['/jobs/{jobid}/plan', `/jobs/${job}/plan`],
    ['/jobs/{jobid}/config', `/jobs/${job}/config`],
    ['/jobs/{jobid}/jobmanager/config', `/jobs/${job}/jobmanager/config`],
    ['/jobs/{jobid}/exceptions', `/jobs/${job}/exceptions?maxExceptions=5`],
    ['/jobs/{jobid}/checkpoints', `/jobs/${job}/checkpoints`],
    ['/jobs/{jobid}/checkpoints/config', `/jobs/${job}/checkpoints/config`],
    ['/jobs/{jobid}/metrics', `/jobs/${job}/metrics?get=numRestarts,lastCheckpointDuration`],
    ['/jobs/metrics', `/jobs/metrics?get=numRestarts&agg=max`],
    ['/jobs/{jobid}/resource-requirements', `/jobs/${job}/resource-requirements`],
    ['/jobs/{jobid}/vertices/{vertexid}', `/jobs/${job}/vertices/${vertex}`],
    ['/jobs/{jobid}/vertices/{vertexid}/backpressure', `/jobs/${job}/vertices/${vertex}/backpressure`],
    ['/jobs/{jobid}/vertices/{vertexid}/watermarks', `/jobs/${job}/vertices/${vertex}/watermarks`],
    [
      '/jobs/{jobid}/vertices/{vertexid}/metrics',
      `/jobs/${job}/vertices/${vertex}/metrics?get=0.busyTimeMsPerSecond`,
    ],
    [
      '/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics',
      `/jobs/${job}/vertices/${source}/subtasks/metrics`,
    ],
    [
      '/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics',
      `/jobs/${job}/vertices/${source}/subtasks/metrics?get=busyTimeMsPerSecond,Source__Kafka.pendingRecords&agg=min,max,avg,sum`,
    ],
    [
      '/jobs/{jobid}/vertices/{vertexid}/subtasks/{subtaskindex}/metrics',
      `/jobs/${job}/vertices/${vertex}/subtasks/0/metrics?get=busyTimeMsPerSecond`,
    ],
    ['/jobmanager/config', '/jobmanager/config'],
    ['/jobmanager/metrics', '/jobmanager/metrics?get=taskSlotsTotal,taskSlotsAvailable'],
    ['/jobmanager/logs', '/jobmanager/logs'],
    ['/taskmanagers', '/taskmanagers'],
    ['/taskmanagers/metrics', '/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Used&agg=max'],
    ['/taskmanagers/{taskmanagerid}', `/taskmanagers/${tm}`],
    ['/taskmanagers/{taskmanagerid}/metrics', `/taskmanagers/${tm}/metrics?get=Status.JVM.CPU.Load`],
  ];
  if (v23) {
    list.push(
      ['/jobs/{jobid}/rescales/config', `/jobs/${job}/rescales/config`],
      ['/jobs/{jobid}/rescales/overview', `/jobs/${job}/rescales/overview`],
      ['/jobs/{jobid}/rescales/summary', `/jobs/${job}/rescales/summary`],
      ['/jobs/{jobid}/rescales/history', `/jobs/${job}/rescales/history`],
    );
    if (rescale !== undefined)
      list.push(['/jobs/{jobid}/rescales/details/{rescaleuuid}', `/jobs/${job}/rescales/details/${rescale}`]);
  }
  return list;
}

for (const { spec: specName, versions } of SPECS) {
  const spec: OpenApi | undefined = referenceSpec(specName);
  const suite = spec === undefined ? describe.skip : describe;
  if (spec === undefined)
    console.warn(
      `contract tests for ${specName} skipped: ${REFERENCE_DIR}/${specName}/rest_v1_dispatcher.yml is not present (it is in CI)`,
    );
  for (const version of versions) {
    suite(`REST contract: simulator ${version} against the ${specName} OpenAPI spec`, () => {
      let h: SimHarness;
      beforeAll(async () => {
        // Faults give the responses content: exceptions (heap OOM restarts), failed checkpoints, a rescale.
        const base = pipelineScenario({
          faults: [
            { kind: 'heap-oom', job: 'orders', from: '1m', to: '5m' },
            { kind: 'checkpoint-timeout', job: 'orders', from: '6m', to: '9m' },
          ],
        });
        const scenario = {
          ...base,
          cluster: { ...base.cluster, flinkVersion: version },
          jobs: base.jobs.map(j => ({
            ...j,
            checkpoint: { ...j.checkpoint, tolerableFailed: 5, timeout: 30_000 },
          })),
        };
        h = await startHarness(scenario);
        await at(h, 600);
        const req = await h.client.getResourceRequirements(h.job.flinkJobId);
        const first = Object.keys(req)[0] ?? '';
        await h.client.putResourceRequirements(h.job.flinkJobId, {
          ...req,
          [first]: { parallelism: { lowerBound: 1, upperBound: 3 } },
        });
        await at(h, 700);
      });
      afterAll(async () => h.close());

      it('serves every endpoint in the spec shape (with the known wire differences)', async () => {
        const details = (await (await fetch(`${h.sim.url}/jobs/${h.job.flinkJobId}`)).json()) as {
          vertices: { id: string }[];
        };
        const tms = (await (await fetch(`${h.sim.url}/taskmanagers`)).json()) as {
          taskmanagers: { id: string }[];
        };
        const history =
          version === '2.3'
            ? ((await (await fetch(`${h.sim.url}/jobs/${h.job.flinkJobId}/rescales/history`)).json()) as {
                rescaleUuid: string;
              }[])
            : [];
        const list = endpoints(
          h.job.flinkJobId,
          details.vertices[1]?.id ?? '',
          details.vertices[0]?.id ?? '',
          encodeURIComponent(tms.taskmanagers[0]?.id ?? ''),
          history[0]?.rescaleUuid,
          version === '2.3',
        );
        const problems: string[] = [];
        for (const [specPath, path] of list) {
          const schema = spec?.responseSchema('GET', specPath);
          expect(schema, `${specPath} in ${specName}`).toBeDefined();
          for (const prefix of ['', '/v1']) {
            const res = await fetch(`${h.sim.url}${prefix}${path}`);
            expect(res.status, `${prefix}${path}`).toBe(200);
            const body: unknown = await res.json();
            if (schema !== undefined)
              problems.push(...spec!.check(body, schema).map(p => `${specPath}: ${p}`));
          }
        }
        console.log(
          `${version} vs ${specName}: ${list.length} endpoints checked, ${problems.length} problems`,
        );
        expect(problems).toEqual([]);
      });

      it('has content worth checking: exceptions, failed checkpoints, version-dependent fields', async () => {
        const ex = (await (await fetch(`${h.sim.url}/jobs/${h.job.flinkJobId}/exceptions`)).json()) as Record<
          string,
          unknown
        > & { exceptionHistory: { entries: { exceptionName: string }[] } };
        expect(ex.exceptionHistory.entries[0]?.exceptionName).toBe('java.lang.OutOfMemoryError');
        expect('root-exception' in ex).toBe(version.startsWith('1.'));
        const cps = (await (await fetch(`${h.sim.url}/jobs/${h.job.flinkJobId}/checkpoints`)).json()) as {
          counts: { failed: number };
          latest: { failed: { failure_message: string } | null };
        };
        expect(cps.counts.failed).toBeGreaterThan(0);
        expect(cps.latest.failed?.failure_message).toBe('Checkpoint expired before completing.');
        expect((await fetch(`${h.sim.url}/jobs/${h.job.flinkJobId}/rescales/config`)).status).toBe(
          version === '2.3' ? 200 : 404,
        );
        const body = (await (await fetch(`${h.sim.url}/jobs/${h.job.flinkJobId}`)).json()) as Record<
          string,
          unknown
        >;
        expect('job-type' in body).toBe(version !== '1.18');
        expect('schedulerType' in body).toBe(version === '2.3');
      });

      it('answers errors as {"errors":[...]} with Flink status codes', async () => {
        const res = await fetch(`${h.sim.url}/jobs/${'a'.repeat(32)}`);
        expect(res.status).toBe(404);
        const body = (await res.json()) as { errors: unknown[] };
        expect(body.errors).toHaveLength(1);
        expect(typeof body.errors[0]).toBe('string');
      });
    });
  }
}
