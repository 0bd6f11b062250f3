import { describe, expect, it } from 'vitest';
import { RequestBudget } from '../../../src/sources/flink-rest/budget.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { FlinkRestError } from '../../../src/sources/flink-rest/errors.js';
import { withParallelism } from '../../../src/sources/flink-rest/resource-requirements.js';
import { selectMetricIds, stableTaskManagerId } from '../../../src/sources/flink-rest/snapshot.js';
import type { Dispatcher } from '../../../src/sources/flink-rest/transport.js';
import { featuresFor } from '../../../src/sources/flink-rest/version.js';

const JID = 'a'.repeat(32);

function scripted(...answers: (number | Error | [number, string])[]): {
  dispatcher: Dispatcher;
  calls: string[];
} {
  const calls: string[] = [];
  const dispatcher: Dispatcher = req => {
    calls.push(`${req.method} ${req.url}`);
    const a = answers.shift() ?? 200;
    if (a instanceof Error) return Promise.reject(a);
    const [status, text] = Array.isArray(a) ? a : [a, '{"status":"RUNNING"}'];
    return Promise.resolve({ status, text });
  };
  return { dispatcher, calls };
}

const schema = { safeParse: (x: unknown) => ({ success: true as const, data: x }) };

describe('FlinkRestClient error classification and retries', () => {
  const client = (d: Dispatcher, retries = 2) =>
    new FlinkRestClient({
      baseUrl: 'http://jm:8081/',
      dispatcher: d,
      retries,
      backoffMs: 1,
      sleep: () => Promise.resolve(),
    });

  it('retries unreachable and 5xx GETs with backoff, then succeeds', async () => {
    const waits: number[] = [];
    const { dispatcher, calls } = scripted(
      new Error('ECONNREFUSED'),
      [503, '{"errors":["leader election"]}'],
      200,
    );
    const c = new FlinkRestClient({
      baseUrl: 'http://jm:8081',
      dispatcher,
      retries: 2,
      backoffMs: 100,
      sleep: ms => (waits.push(ms), Promise.resolve()),
    });
    await expect(c.get(`/jobs/${JID}/status`, schema as never)).resolves.toEqual({ status: 'RUNNING' });
    expect(calls).toHaveLength(3);
    expect(waits).toEqual([100, 200]);
    expect(c.stats.retries).toBe(2);
  });

  it('classifies: job-gone (404 on a job), http (with Flink errors), malformed, unreachable', async () => {
    await expect(
      client(scripted([404, '{"errors":["Job not found"]}']).dispatcher).get(`/jobs/${JID}`, schema as never),
    ).rejects.toMatchObject({ code: 'job-gone', details: { status: 404, errors: ['Job not found'] } });
    await expect(
      client(scripted([404, '{"errors":["x"]}']).dispatcher).get('/taskmanagers/tm1', schema as never),
    ).rejects.toMatchObject({ code: 'http', details: { status: 404 } });
    await expect(
      client(scripted([200, '{"a":']).dispatcher).get('/overview', schema as never),
    ).rejects.toMatchObject({ code: 'malformed' });
    const { dispatcher, calls } = scripted(new Error('reset'), new Error('reset'), new Error('reset'));
    await expect(client(dispatcher).get('/overview', schema as never)).rejects.toMatchObject({
      code: 'unreachable',
    });
    expect(calls).toHaveLength(3); // 1 + 2 retries, bounded
  });

  it('never re-sends a PUT', async () => {
    const { dispatcher, calls } = scripted([409, '{"errors":["in progress"]}']);
    await expect(client(dispatcher).putResourceRequirements(JID, {})).rejects.toMatchObject({
      code: 'http',
      details: { status: 409 },
    });
    expect(calls).toEqual([`PUT http://jm:8081/jobs/${JID}/resource-requirements`]);
  });

  it('a wire body that does not match the schema is malformed', async () => {
    const { dispatcher } = scripted([200, '{"taskmanagers":"many"}']);
    await expect(client(dispatcher).overview()).rejects.toBeInstanceOf(FlinkRestError);
  });
});

describe('RequestBudget', () => {
  it('caps requests in flight and refuses beyond the queue', async () => {
    const b = new RequestBudget({ maxInFlight: 2, maxQueued: 1, maxWaitMs: 1000 });
    let running = 0;
    let peak = 0;
    const release: (() => void)[] = [];
    const task = () =>
      b.run(
        () =>
          new Promise<void>(resolve => {
            running++;
            peak = Math.max(peak, running);
            release.push(() => {
              running--;
              resolve();
            });
          }),
      );
    const all = [task(), task(), task()];
    const fourth = task().then(
      () => 'ok',
      (e: FlinkRestError) => e.code,
    );
    await new Promise(r => setImmediate(r));
    const settled = await Promise.race([fourth, new Promise(r => setTimeout(() => r('pending'), 10))]);
    expect(settled).toBe('budget');
    while (release.length > 0 || running > 0) {
      release.shift()?.();
      await new Promise(r => setImmediate(r));
    }
    await Promise.all(all);
    expect(peak).toBe(2);
    expect([b.granted, b.refused]).toEqual([3, 1]);
  });
});

describe('snapshot helpers', () => {
  it('picks the source operator metrics from the id list', () => {
    const ids = [
      'busyTimeMsPerSecond',
      'numRecordsInPerSecond',
      'Source__Kafka.pendingRecords',
      'Source__Kafka.numRecordsInPerSecond',
      'Source__Kafka.currentEmitEventTimeLag',
      'Map.numRecordsInPerSecond',
    ];
    expect(selectMetricIds(ids)).toEqual({
      ids: [
        'busyTimeMsPerSecond',
        'numRecordsInPerSecond',
        'Source__Kafka.pendingRecords',
        'Source__Kafka.currentEmitEventTimeLag',
        'Source__Kafka.numRecordsInPerSecond',
      ],
      sourceOp: 'Source__Kafka',
    });
    expect(selectMetricIds(['busyTimeMsPerSecond'])).toEqual({ ids: ['busyTimeMsPerSecond'] });
  });
  it('stable TaskManager ids drop the restart suffix; pod names stay', () => {
    expect(stableTaskManagerId('10.0.0.5:39421-a1b2c3')).toBe('10.0.0.5:39421');
    expect(stableTaskManagerId('flink-taskmanager-1-3')).toBe('flink-taskmanager-1-3');
  });
  it('withParallelism sets every upper bound and keeps lower bounds at or below', () => {
    const cur = {
      a: { parallelism: { lowerBound: 3, upperBound: 4 } },
      b: { parallelism: { lowerBound: 1, upperBound: 2 } },
    };
    expect(withParallelism(cur, { a: 2 })).toEqual({
      a: { parallelism: { lowerBound: 2, upperBound: 2 } },
      b: { parallelism: { lowerBound: 1, upperBound: 2 } },
    });
  });
  it('degrades features per version', () => {
    expect(featuresFor('1.18.1')).toMatchObject({
      aggSkew: false,
      gcAllMetrics: false,
      resourceRequirements: true,
    });
    expect(featuresFor('1.20.0')).toMatchObject({ aggSkew: true, gcAllMetrics: true, rescalesApi: false });
    expect(featuresFor('2.3.0').rescalesApi).toBe(true);
  });
});
