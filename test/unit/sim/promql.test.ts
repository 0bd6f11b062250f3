import { describe, expect, it } from 'vitest';
import {
  evaluate,
  parsePromQL,
  PromQLParseError,
  queryApi,
  type Series,
  type SeriesSource,
} from '../../../src/sim/promql.js';

const SERIES: Record<string, Series[]> = {
  busy: [
    { labels: { job_id: 'a', task_id: 'v1', subtask_index: '0', tm_id: 't1' }, value: 100 },
    { labels: { job_id: 'a', task_id: 'v1', subtask_index: '1', tm_id: 't2' }, value: 300 },
    { labels: { job_id: 'a', task_id: 'v2', subtask_index: '0', tm_id: 't1' }, value: Number.NaN },
    { labels: { job_id: 'b', task_id: 'v3', subtask_index: '0', tm_id: 't3' }, value: 50 },
  ],
  restarts: [{ labels: { job_id: 'a' }, value: 2 }],
};

const hints: ReadonlyMap<string, ReadonlySet<string>>[] = [];
const source: SeriesSource = {
  series(name, _at, hint) {
    hints.push(hint);
    return SERIES[name] ?? [];
  },
};

const run = (q: string): Series[] =>
  evaluate(parsePromQL(q), source, 0).sort((x, y) =>
    JSON.stringify(x.labels).localeCompare(JSON.stringify(y.labels)),
  );

describe('simulator PromQL subset', () => {
  it('aggregates by labels with sum, max, min, avg, count', () => {
    expect(run('sum by (job_id) (busy)').map(s => s.value)).toEqual([Number.NaN, 50]);
    expect(run('max by (job_id, task_id) (busy{job_id="a"})')).toEqual([
      { labels: { job_id: 'a', task_id: 'v1' }, value: 300 },
      { labels: { job_id: 'a', task_id: 'v2' }, value: Number.NaN },
    ]);
    expect(run('min by (task_id) (busy{task_id="v1"})')).toEqual([{ labels: { task_id: 'v1' }, value: 100 }]);
    expect(run('avg(busy{task_id=~"v1|v3"}) by (task_id)').map(s => s.value)).toEqual([200, 50]);
    expect(run('count(busy)')).toEqual([{ labels: {}, value: 4 }]);
  });

  it('selects raw series with = != =~ !~ and __name__ alternatives, keeping __name__', () => {
    expect(run('busy{job_id!="a"}')).toEqual([
      {
        labels: { __name__: 'busy', job_id: 'b', task_id: 'v3', subtask_index: '0', tm_id: 't3' },
        value: 50,
      },
    ]);
    expect(run('busy{tm_id!~"t1|t2"}').length).toBe(1);
    expect(run('{__name__=~"busy|restarts", job_id="a"}').length).toBe(4);
    // Regexes are anchored: "v" does not match "v1".
    expect(run('busy{task_id=~"v"}')).toEqual([]);
  });

  it('passes literal values of = and =~ matchers as index hints', () => {
    hints.length = 0;
    run('busy{job_id=~"a|b", task_id="v1", tm_id=~"t.*"}');
    expect([...(hints[0]?.get('job_id') ?? [])]).toEqual(['a', 'b']);
    expect([...(hints[0]?.get('task_id') ?? [])]).toEqual(['v1']);
    expect(hints[0]?.has('tm_id')).toBe(false);
  });

  it('rejects what it does not implement with a positioned parse error', () => {
    for (const q of [
      'sum by (job_id (busy)',
      'rate(busy[5m])',
      'busy offset 5m',
      'busy{job_id~"a"}',
      '{job_id="a"}',
      'sum(max(busy))',
      'busy{job_id=~"("}',
    ])
      expect(() => parsePromQL(q), q).toThrow(PromQLParseError);
  });

  it('answers /api/v1/query like Prometheus: vector JSON, NaN as a string, 400 bad_data on errors', () => {
    const ok = queryApi(
      'POST',
      '/api/v1/query',
      new URLSearchParams(),
      'query=max+by+(job_id)+(busy)&time=1700000000.5',
      source,
      0,
    );
    expect(ok?.status).toBe(200);
    expect(ok?.body).toEqual({
      status: 'success',
      data: {
        resultType: 'vector',
        result: expect.arrayContaining([
          { metric: { job_id: 'a' }, value: [1700000000.5, '300'] },
          { metric: { job_id: 'b' }, value: [1700000000.5, '50'] },
        ]) as unknown,
      },
    });
    const nan = queryApi(
      'GET',
      '/api/v1/query',
      new URLSearchParams({ query: 'busy{task_id="v2"}' }),
      '',
      source,
      5000,
    );
    expect((nan?.body as { data: { result: { value: unknown[] }[] } }).data.result[0]?.value).toEqual([
      5,
      'NaN',
    ]);
    const bad = queryApi('GET', '/api/v1/query', new URLSearchParams({ query: 'sum(' }), '', source, 0);
    expect(bad?.status).toBe(400);
    expect(bad?.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect((bad?.body as { error: string }).error).toMatch(/^invalid parameter "query": 1:5: parse error/);
    const badTime = queryApi(
      'GET',
      '/api/v1/query',
      new URLSearchParams({ query: 'busy', time: 'x' }),
      '',
      source,
      0,
    );
    expect(badTime?.status).toBe(400);
    expect(queryApi('GET', '/api/v1/labels', new URLSearchParams(), '', source, 0)).toBeUndefined();
  });
});
