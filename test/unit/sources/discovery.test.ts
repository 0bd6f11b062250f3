import { describe, expect, it } from 'vitest';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { listJobs } from '../../../src/sources/flink-rest/discovery.js';

const tasks = {
  total: 1,
  created: 0,
  scheduled: 0,
  deploying: 0,
  running: 1,
  finished: 0,
  canceling: 0,
  canceled: 0,
  failed: 0,
  reconciling: 0,
  initializing: 0,
};
const job = (jid: string, name: string, state: string, start: number) => ({
  jid: jid.padEnd(32, '0'),
  name,
  state,
  'start-time': start,
  'end-time': -1,
  duration: 1,
  'last-modification': start,
  tasks,
});

/** A JobManager that answers /jobs/overview with these jobs. */
function client(jobs: unknown[]): FlinkRestClient {
  return new FlinkRestClient({
    baseUrl: 'http://jm:8081',
    retries: 0,
    dispatcher: req =>
      Promise.resolve(
        new URL(req.url).pathname === '/jobs/overview'
          ? { status: 200, text: JSON.stringify({ jobs }) }
          : { status: 404, text: '{"errors":["not found"]}' },
      ),
  });
}

describe('job discovery', () => {
  it('keeps failed jobs (their failure is the finding), drops cancelled and finished ones', async () => {
    const refs = await listJobs(
      client([
        job('a1', 'orders', 'RUNNING', 1),
        job('b1', 'payments', 'FAILED', 1),
        job('c1', 'backfill', 'FINISHED', 1),
        job('d1', 'old', 'CANCELED', 1),
      ]),
      { clusterLabel: 'prod' },
    );
    expect(refs.map(r => r.jobKey)).toEqual(['rest:prod/orders', 'rest:prod/payments']);
  });

  it('a newer run of the same name replaces the failed one and keeps the job key', async () => {
    const refs = await listJobs(
      client([job('b1', 'payments', 'FAILED', 1), job('b2', 'payments', 'RUNNING', 2)]),
      { clusterLabel: 'prod' },
    );
    expect(refs.map(r => [r.jobKey, r.flinkJobId.slice(0, 2)])).toEqual([['rest:prod/payments', 'b2']]);
  });

  it('includeTerminal keeps every job', async () => {
    const refs = await listJobs(client([job('c1', 'backfill', 'FINISHED', 1)]), {
      clusterLabel: 'prod',
      includeTerminal: true,
    });
    expect(refs).toHaveLength(1);
  });
});
