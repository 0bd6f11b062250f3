import { describe, expect, it } from 'vitest';
import {
  applyPolicyToTarget,
  globToRegExp,
  MODE_ANNOTATION,
  resolvePolicy,
  toCyclePolicy,
  withOptIn,
} from '../../../src/agents/select/policies/policy.js';
import { compileSelector } from '../../../src/agents/select/policies/selector.js';
import type { Selector } from '../../../src/config/safety-schema.js';
import { compileConfig } from '../../../src/config/load.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import type { JobRef } from '../../../src/domain/index.js';

function job(over: Partial<JobRef> = {}): JobRef {
  return {
    jobKey: 'k8s:shop/orders',
    incarnation: 'a1',
    origin: 'k8s',
    cluster: 'eu1',
    namespace: 'shop',
    name: 'orders-enrich',
    flinkJobId: 'a1',
    restUrl: 'http://jm:8081',
    labels: { team: 'checkout', tier: 'gold' },
    ...over,
  };
}

const cfg = (over: ConfigInput = {}) => compileConfig(over);

describe('selector matching', () => {
  const cases: [string, Selector, Partial<JobRef>, boolean, number][] = [
    ['empty matches all', {}, {}, true, 0],
    ['namespace', { namespace: 'shop' }, {}, true, 1],
    ['namespace list', { namespace: ['pay', 'shop'] }, {}, true, 1],
    ['other namespace', { namespace: 'pay' }, {}, false, 1],
    ['no namespace on a REST job', { namespace: 'shop' }, { namespace: undefined }, false, 1],
    ['cluster', { cluster: 'eu1' }, {}, true, 1],
    ['labels all must match', { labels: { team: 'checkout', tier: 'gold' } }, {}, true, 2],
    ['one label differs', { labels: { team: 'checkout', tier: 'silver' } }, {}, false, 2],
    ['glob', { name: 'orders-*' }, {}, true, 1],
    ['glob is whole-name', { name: 'orders' }, {}, false, 1],
    ['glob ?', { name: 'orders-enric?' }, {}, true, 1],
    ['glob dots are literal', { name: 'orders.enrich' }, {}, false, 1],
    ['regex anchored', { nameRegex: 'orders-(enrich|join)' }, {}, true, 1],
    ['regex not a substring search', { nameRegex: 'enrich' }, {}, false, 1],
    ['every term', { namespace: 'shop', labels: { tier: 'gold' }, name: '*-enrich' }, {}, true, 3],
  ];
  it.each(cases)('%s', (_title, selector, over, matches, specificity) => {
    const s = compileSelector(selector);
    expect(s.matches(job(over))).toBe(matches);
    expect(s.specificity).toBe(specificity);
  });

  it('globs escape regex characters', () => {
    expect(globToRegExp('a+b(*)').test('a+b(x)')).toBe(true);
    expect(globToRegExp('a+b(*)').test('aab(x)')).toBe(false);
  });
});

describe('resolvePolicy: merging', () => {
  const policies: ConfigInput['policies'] = [
    {
      id: 'shop',
      selector: { namespace: 'shop' },
      mode: 'approve',
      maxParallelism: 32,
      owner: 'shop-team',
      lagSlo: '2m',
    },
    {
      id: 'gold',
      selector: { namespace: 'shop', labels: { tier: 'gold' } },
      mode: 'auto',
      targetUtilization: 0.6,
      vertices: { sink: { max: 4 } },
      params: { 'lag-high': { thresholdSeconds: 120 } },
    },
    { id: 'all', selector: {}, mode: 'dry-run', owner: 'platform', excludedVertices: ['source'] },
    { id: 'orders-late', selector: { namespace: 'shop' }, owner: 'orders-team' },
  ];
  const config = cfg({
    mode: 'dry-run',
    rules: { disabled: ['noisy'], params: { 'lag-high': { thresholdSeconds: 60, minLag: 5 } } },
    policies,
  });

  const rows: [string, Partial<JobRef>, Record<string, unknown>][] = [
    [
      'gold shop job: most specific wins per field',
      {},
      {
        mode: 'auto',
        maxParallelism: 32,
        owner: 'orders-team',
        targetUtilization: 0.6,
        lagSloMs: 120_000,
        excludedVertices: ['source'],
        matched: ['all', 'shop', 'orders-late', 'gold'],
      },
    ],
    [
      'silver shop job: namespace policies only',
      { labels: { tier: 'silver' } },
      {
        mode: 'approve',
        owner: 'orders-team',
        targetUtilization: 0.7,
        matched: ['all', 'shop', 'orders-late'],
      },
    ],
    [
      'other namespace: the catch-all',
      { namespace: 'pay' },
      { mode: 'dry-run', owner: 'platform', lagSloMs: 60_000, maxParallelism: undefined, matched: ['all'] },
    ],
  ];
  it.each(rows)('%s', (_title, over, expected) => {
    const eff = resolvePolicy(job(over), config);
    for (const [field, value] of Object.entries(expected))
      expect(eff[field as keyof typeof eff]).toEqual(value);
  });

  it('records where every merged field came from', () => {
    const eff = resolvePolicy(job(), config);
    expect(eff.sources).toMatchObject({
      mode: 'policy:gold',
      maxParallelism: 'policy:shop',
      owner: 'policy:orders-late',
      targetUtilization: 'policy:gold',
      lagSlo: 'policy:shop',
      catchUp: 'config',
      excludedVertices: 'policy:all',
    });
  });

  it('merges rule params per param over the fleet-wide ones and keeps fleet-disabled rules', () => {
    const eff = resolvePolicy(job(), config);
    expect(eff.params).toEqual({ 'lag-high': { thresholdSeconds: 120, minLag: 5 } });
    expect(eff.disabledRules).toEqual(['noisy']);
    const cycle = toCyclePolicy(eff);
    expect(cycle.mode).toBe('auto');
    expect([...(cycle.disabledRules ?? [])]).toEqual(['noisy']);
  });

  it('breaks ties of equal specificity by config order: the later entry wins', () => {
    const c = cfg({
      policies: [
        { id: 'first', selector: { namespace: 'shop' }, mode: 'auto' },
        { id: 'second', selector: { cluster: 'eu1' }, mode: 'approve' },
      ],
    });
    expect(resolvePolicy(job(), c).mode).toBe('approve');
  });

  it('a more specific list replaces a less specific one; disabled rules add to the fleet list', () => {
    const c = cfg({
      rules: { disabled: ['fleet-off'] },
      policies: [
        { id: 'ns', selector: { namespace: 'shop' }, disabledRules: ['a', 'b'] },
        { id: 'job', selector: { namespace: 'shop', name: 'orders-*' }, disabledRules: ['c'] },
      ],
    });
    expect(resolvePolicy(job(), c).disabledRules).toEqual(['fleet-off', 'c']);
  });
});

describe('resolvePolicy: opt-in', () => {
  const opts: [string, ConfigInput, Record<string, string> | undefined, string, string][] = [
    ['default is dry-run', {}, undefined, 'dry-run', 'config'],
    ['config mode is the fleet default', { mode: 'approve' }, undefined, 'approve', 'config'],
    [
      'config selector opts in',
      { policies: [{ id: 'in', selector: { labels: { team: 'checkout' } }, mode: 'auto' }] },
      undefined,
      'auto',
      'policy:in',
    ],
    ['annotation opts in', {}, { [MODE_ANNOTATION]: 'auto' }, 'auto', 'annotation'],
    [
      'annotation opts out over a policy',
      { policies: [{ id: 'in', mode: 'auto' }] },
      { [MODE_ANNOTATION]: 'off' },
      'off',
      'annotation',
    ],
    [
      'unknown annotation value is ignored',
      { mode: 'approve' },
      { [MODE_ANNOTATION]: 'yes' },
      'approve',
      'config',
    ],
  ];
  it.each(opts)('%s', (_title, input, annotations, mode, source) => {
    const eff = resolvePolicy(job(annotations ? { annotations } : {}), cfg(input));
    expect(eff.mode).toBe(mode);
    expect(eff.sources.mode).toBe(source);
  });

  it('reports an ignored annotation', () => {
    const eff = resolvePolicy(job({ annotations: { [MODE_ANNOTATION]: 'yes' } }), cfg());
    expect(eff.problems).toEqual([expect.stringContaining('ignored autopilot.flink.apache.org/mode="yes"')]);
  });

  it('off runs the cycle as dry-run and plans nothing', async () => {
    const eff = resolvePolicy(job({ annotations: { [MODE_ANNOTATION]: 'off' } }), cfg());
    expect(toCyclePolicy(eff).mode).toBe('dry-run');
    let called = 0;
    const planner = withOptIn({ plan: () => (called++, Promise.resolve([])) }, () => eff);
    await planner.plan({ job: job() } as Parameters<typeof planner.plan>[0]);
    expect(called).toBe(0);
  });
});

describe('applyPolicyToTarget', () => {
  const config = cfg({
    policies: [
      {
        id: 'p',
        minParallelism: 2,
        maxParallelism: 16,
        vertices: { sink: { max: 4 }, v3: { min: 8 } },
        excludedVertices: ['src'],
      },
    ],
  });
  const eff = resolvePolicy(job(), config);
  const rows: [string, number, number, number][] = [
    // vertex, basis, planned, expected
    ['src', 3, 10, 3],
    ['sink', 2, 9, 4],
    ['v3', 4, 5, 8],
    ['map', 4, 40, 16],
    ['filter', 4, 1, 2],
  ];
  it.each(rows)('%s: %i → planned %i → %i', (vertex, basis, planned, expected) => {
    const ids: Record<string, string> = {
      src: 'id-src',
      sink: 'id-sink',
      v3: 'v3',
      map: 'id-map',
      filter: 'id-filter',
    };
    const id = ids[vertex] ?? vertex;
    const names = { [id]: vertex };
    expect(applyPolicyToTarget(eff, { [id]: basis }, { [id]: planned }, names)[id]).toBe(expected);
  });
});
