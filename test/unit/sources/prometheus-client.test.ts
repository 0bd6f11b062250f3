import { describe, expect, it } from 'vitest';
import type { Dispatcher } from '../../../src/sources/flink-rest/transport.js';
import {
  aggOfValues,
  parseSampleValue,
  PrometheusClient,
  PrometheusError,
  taskFamilyQuery,
  TASK_FAMILIES,
} from '../../../src/sources/prometheus/index.js';

const answer =
  (status: number, body: unknown): Dispatcher =>
  () =>
    Promise.resolve({ status, text: typeof body === 'string' ? body : JSON.stringify(body) });

const vector = (result: unknown[]): unknown => ({
  status: 'success',
  data: { resultType: 'vector', result },
});

describe('Prometheus client', () => {
  it('reads an instant vector, keeping NaN and ±Inf as numbers', async () => {
    const seen: { body?: string; contentType?: string }[] = [];
    const client = new PrometheusClient({
      baseUrl: 'http://prom:9090/',
      dispatcher: req => {
        seen.push({
          ...(req.body === undefined ? {} : { body: req.body }),
          ...(req.contentType === undefined ? {} : { contentType: req.contentType }),
        });
        return answer(
          200,
          vector([
            { metric: { job_id: 'a' }, value: [1, '12.5'] },
            { metric: { job_id: 'b' }, value: [1, 'NaN'] },
            { metric: { job_id: 'c' }, value: [1, '+Inf'] },
            { metric: { job_id: 'd' }, value: [1, '-Inf'] },
          ]),
        )(req);
      },
    });
    const samples = await client.query('max by (job_id) (x{job_id=~"a|b"})', 1_700_000_000_000);
    expect(samples.map(s => s.value)).toEqual([
      12.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      Number.NEGATIVE_INFINITY,
    ]);
    expect(seen[0]?.contentType).toBe('application/x-www-form-urlencoded');
    const form = new URLSearchParams(seen[0]?.body);
    expect(form.get('query')).toBe('max by (job_id) (x{job_id=~"a|b"})');
    expect(form.get('time')).toBe('1700000000.000');
    expect(client.stats.queries).toBe(1);
  });

  it('names endpoint and query in every failure', async () => {
    const cases: [Dispatcher, PrometheusError['code'], RegExp][] = [
      [answer(200, '{"status":"succ'), 'malformed', /response is not JSON/],
      [answer(200, { status: 'success', data: { resultType: 'matrix', result: [] } }), 'malformed', /schema/],
      [answer(200, vector([{ metric: {}, value: [1, 'twelve'] }])), 'malformed', /"twelve" is not a number/],
      [
        answer(400, { status: 'error', errorType: 'bad_data', error: '1:5: parse error' }),
        'query',
        /bad_data: 1:5: parse error/,
      ],
      [answer(503, 'Service Unavailable'), 'http', /HTTP 503/],
      [() => Promise.reject(new Error('ECONNREFUSED')), 'unreachable', /cannot reach Prometheus/],
      [
        req =>
          new Promise((_r, reject) =>
            req.signal.addEventListener('abort', () => reject(new Error('aborted'))),
          ),
        'timeout',
        /no answer within 50 ms/,
      ],
    ];
    for (const [dispatcher, code, message] of cases) {
      const client = new PrometheusClient({ baseUrl: 'http://prom:9090', dispatcher, timeoutMs: 50 });
      const err = await client.query('up{job="x"}').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PrometheusError);
      expect((err as PrometheusError).code).toBe(code);
      expect((err as PrometheusError).message).toMatch(message);
      expect((err as PrometheusError).message).toContain('http://prom:9090/api/v1/query');
      expect((err as PrometheusError).message).toContain('up{job=\\"x\\"}');
      expect(client.stats.failures).toBe(1);
    }
  });

  it('parses Prometheus float text and aggregates subtasks as Flink REST does', () => {
    expect(parseSampleValue('1e3')).toBe(1000);
    expect(parseSampleValue('')).toBeUndefined();
    expect(aggOfValues([100, 300, Number.NaN])).toEqual({ min: 100, max: 300, avg: 200, sum: 400, skew: 50 });
    expect(aggOfValues([Number.NaN])).toBeUndefined();
  });

  it('sends one server-side aggregated query per family, per subtask where several aggregates are needed', () => {
    const q = (name: string): string =>
      taskFamilyQuery(
        TASK_FAMILIES.find(f => f.name === name) ?? (TASK_FAMILIES[0] as never),
        'job_id=~"a|b"',
      );
    expect(q('busy')).toBe(
      'max by (job_id, task_id, subtask_index, tm_id) (flink_taskmanager_job_task_busyTimeMsPerSecond{job_id=~"a|b"})',
    );
    expect(q('pendingRecords')).toBe(
      'sum by (job_id, task_id) (flink_taskmanager_job_task_operator_pendingRecords{job_id=~"a|b"})',
    );
    expect(q('inputWatermark')).toBe(
      'min by (job_id, task_id) (flink_taskmanager_job_task_currentInputWatermark{job_id=~"a|b"})',
    );
  });
});
