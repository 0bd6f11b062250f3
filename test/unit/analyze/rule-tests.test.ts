import { describe, expect, it } from 'vitest';
import { compileRules } from '../../../src/agents/analyze/compiled-evaluator.js';
import {
  checkRuleTestFile,
  coverageProblems,
  RuleTestFileSchema,
  runRuleTestFile,
} from '../../../src/agents/analyze/rule-tests.js';
import { rulesTest } from '../../../src/cli/rules-command.js';
import { defaultRulesDir, validateRuleSources } from '../../../src/config/rule-files.js';
import type { Rule } from '../../../src/domain/index.js';

function library(...rules: object[]): Rule[] {
  const { rules: out, errors } = validateRuleSources(
    rules.map((r, i) => ({ file: `r${i}.json`, text: JSON.stringify(r) })),
  );
  expect(errors).toEqual([]);
  return out;
}

const symptom = {
  id: 'hot',
  version: 1,
  scope: 'job',
  category: 'backpressure',
  severity: 'medium',
  title: 'Hot',
  conditions: { all: [{ fact: 'job.maxBusyRatio', operator: 'greaterThan', value: 0.9 }] },
  for: '1m',
  keepFiringFor: '2m',
  action: { kind: 'advice', text: 'x' },
};
const diagnosis = {
  ...symptom,
  id: 'hot-vertex',
  scope: 'vertex',
  conditions: { all: [{ fact: 'vertex.isBottleneck', operator: 'equal', value: true }] },
  for: 0,
  keepFiringFor: undefined,
  requires: ['hot'],
};

function run(rules: Rule[], body: unknown): { name: string; failures: string[] }[] {
  const file = RuleTestFileSchema.parse(body);
  expect(checkRuleTestFile(file, rules)).toEqual([]);
  return runRuleTestFile(compileRules(rules), file).map(({ name, failures }) => ({ name, failures }));
}

describe('rule test runner', () => {
  const rules = library(symptom, diagnosis);
  const busy = (at: string, v: number | null, until?: string): object => ({
    at,
    ...(until === undefined ? {} : { until }),
    job: { 'job.maxBusyRatio': v },
    vertices: { v1: { 'vertex.isBottleneck': true }, v2: { 'vertex.isBottleneck': false } },
  });

  it('runs for, keepFiringFor, unknown and requires through analyze()', () => {
    const results = run(rules, {
      tick: '30s',
      cases: [
        {
          name: 'pending before for',
          series: [busy('0s', 0.95, '30s')],
          expect: [{ rule: 'hot', state: 'none' }],
        },
        {
          name: 'fires after for; the diagnosis follows on the bottleneck only',
          series: [busy('0s', 0.95, '1m')],
          expect: [
            { rule: 'hot', state: 'firing' },
            { rule: 'hot-vertex', subject: 'v1', state: 'firing' },
            { rule: 'hot-vertex', subject: 'v2', state: 'none' },
          ],
        },
        {
          name: 'keeps firing within keepFiringFor, resolves after',
          series: [busy('0s', 0.95, '1m'), busy('1m30s', 0.5, '3m')],
          expect: [{ rule: 'hot', state: 'firing' }],
        },
        {
          name: 'resolved after keepFiringFor',
          series: [busy('0s', 0.95, '1m'), busy('1m30s', 0.5, '3m30s')],
          expect: [{ rule: 'hot', state: 'resolved' }],
        },
        {
          name: 'absent after firing: unknown, and the diagnosis too',
          series: [busy('0s', 0.95, '1m'), busy('1m30s', null, '10m')],
          expect: [
            { rule: 'hot', state: 'unknown' },
            { rule: 'hot-vertex', subject: 'v1', state: 'unknown' },
          ],
        },
        {
          name: 'a wrong expectation is reported',
          series: [busy('0s', 0.5)],
          expect: [{ rule: 'hot', state: 'firing' }],
        },
      ],
    });
    expect(results).toEqual([
      { name: 'pending before for', failures: [] },
      { name: 'fires after for; the diagnosis follows on the bottleneck only', failures: [] },
      { name: 'keeps firing within keepFiringFor, resolves after', failures: [] },
      { name: 'resolved after keepFiringFor', failures: [] },
      { name: 'absent after firing: unknown, and the diagnosis too', failures: [] },
      { name: 'a wrong expectation is reported', failures: ['expected hot on job to be firing, got none'] },
    ]);
  });

  it('merges given facts into every sample; null makes a given fact absent; overrides apply', () => {
    const results = run(rules, {
      given: { job: { 'job.maxBusyRatio': 0.95 } },
      cases: [
        { name: 'given', series: [{ at: '0s', until: '1m' }], expect: [{ rule: 'hot', state: 'firing' }] },
        {
          name: 'removed',
          series: [{ at: '0s', until: '1m', job: { 'job.maxBusyRatio': null } }],
          expect: [{ rule: 'hot', state: 'none' }],
        },
      ],
    });
    expect(results.flatMap(r => r.failures)).toEqual([]);
  });

  it('checks subjects and sample order', () => {
    const file = RuleTestFileSchema.parse({
      cases: [
        {
          name: 'x',
          overrides: { nope: { a: 1 } },
          series: [{ at: '1m' }, { at: '30s', until: '2m' }],
          expect: [{ rule: 'hot-vertex', state: 'firing' }],
        },
      ],
    });
    expect(checkRuleTestFile(file, rules)).toEqual([
      { path: ['cases', 0, 'series'], message: 'sample times must increase' },
      { path: ['cases', 0, 'expect', 0], message: 'a vertex rule needs the subject id' },
      { path: ['cases', 0, 'overrides', 'nope'], message: 'no rule "nope"' },
    ]);
  });
});

describe('coverage', () => {
  const [numeric, boolean] = library(symptom, { ...diagnosis, requires: [], id: 'flag' });
  const c = (kind: string, state: string, rule = 'hot'): object => ({
    name: kind,
    kind,
    series: [{ at: '0s' }],
    expect: [{ rule, subject: 'v1', state }],
  });

  it('a numeric rule needs at, below, above and absent cases, firing and not', () => {
    const file = RuleTestFileSchema.parse({ cases: [c('above', 'none'), c('absent', 'firing')] });
    expect(coverageProblems(numeric as Rule, file)).toEqual([
      'no "at" case',
      'no "below" case',
      '"absent" case "absent" must expect none or unknown',
      'no firing case',
    ]);
  });

  it('a rule without a numeric threshold needs an absent case and firing and non-firing cases', () => {
    const ok = RuleTestFileSchema.parse({
      cases: [
        c('scenario', 'firing', 'flag'),
        c('scenario', 'resolved', 'flag'),
        c('absent', 'unknown', 'flag'),
      ],
    });
    expect(coverageProblems(boolean as Rule, ok)).toEqual([]);
    const lacking = RuleTestFileSchema.parse({ cases: [c('below', 'none', 'hot')] });
    expect(coverageProblems(boolean as Rule, lacking)).toEqual([
      'no "absent" case',
      'case "below" expects nothing of flag',
      'no firing case',
      'no non-firing case',
    ]);
  });
});

describe('the shipped rule library', () => {
  it('passes every fixture test, with boundary and absent cases for every rule', async () => {
    let out = '';
    let err = '';
    const code = await rulesTest(defaultRulesDir(), { out: t => void (out += t), err: t => void (err += t) });
    expect(err).toBe('');
    expect(out).toMatch(/^\d+ cases, \d+ rules, all passed\n$/);
    expect(code).toBe(0);
  });
});
