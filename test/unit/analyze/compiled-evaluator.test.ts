import { describe, expect, it } from 'vitest';
import { compileRules, RuleCompileError } from '../../../src/agents/analyze/compiled-evaluator.js';
import type {
  Condition,
  ConditionValue,
  FactMap,
  FactValue,
  JobFacts,
  Operator,
  Rule,
  Scope,
  SubjectFacts,
} from '../../../src/domain/index.js';
import { oracleTruth } from '../../support/jre-oracle.js';
import { Anchors, Random, randomJob } from './generators.js';

function rule(conditions: Condition, extra: Partial<Rule> = {}): Rule {
  return {
    id: 'r',
    version: 1,
    scope: 'vertex',
    category: 'backpressure',
    severity: 'medium',
    title: 't',
    conditions,
    forMs: 0,
    params: {},
    action: { kind: 'advice', text: 'x', params: {} },
    requires: [],
    optionalFacts: [],
    file: 'r.json',
    ...extra,
  };
}

function subject(kind: Scope, id: string, facts: FactMap = {}): SubjectFacts {
  return { subject: { kind, id, name: `${kind} ${id}` }, facts };
}

function job(
  parts: Partial<Record<'cluster' | 'job' | 'vertex' | 'source' | 'taskmanager' | 'node', FactMap>> = {},
): JobFacts {
  return {
    jobKey: 'rest:c/j',
    observedAt: 0,
    cluster: subject('cluster', 'c', parts.cluster),
    job: subject('job', 'j', parts.job),
    vertices: [subject('vertex', 'v', parts.vertex)],
    sources: [subject('source', 's', parts.source)],
    taskmanagers: [subject('taskmanager', 't', parts.taskmanager)],
    nodes: [subject('node', 'n', parts.node)],
  };
}

const BUSY = 'vertex.busyRatio.max';
const SKEW = 'vertex.busySkew';
const busy = (value: number): Condition => ({ fact: BUSY, operator: 'greaterThan', value });
const skew = (value: number): Condition => ({ fact: SKEW, operator: 'greaterThan', value });

function truth(
  r: Rule,
  facts: JobFacts,
  overrides?: Parameters<ReturnType<typeof compileRules>['evaluate']>[1],
): string[] {
  return compileRules([r])
    .evaluate(facts, overrides)
    .map(e => e.truth);
}

describe('three-valued logic over absent facts', () => {
  const present = job({ vertex: { [BUSY]: 0.95, [SKEW]: 0.1 } });
  const onlyBusy = job({ vertex: { [BUSY]: 0.95 } });
  const onlyIdle = job({ vertex: { [BUSY]: 0.1 } });

  it('a leaf on an absent fact is unknown', () => {
    expect(truth(rule({ all: [skew(0.5)] }), onlyBusy)).toEqual(['unknown']);
  });

  it.each([
    ['all: true + unknown', { all: [busy(0.9), skew(0.5)] }, onlyBusy, 'unknown'],
    ['all: false + unknown', { all: [skew(0.5), busy(0.99)] }, onlyBusy, 'false'],
    ['all: unknown + false (order does not matter)', { all: [busy(0.99), skew(0.5)] }, onlyBusy, 'false'],
    ['all: true + true', { all: [busy(0.9), skew(0.05)] }, present, 'true'],
    ['any: unknown + true', { any: [skew(0.5), busy(0.9)] }, onlyBusy, 'true'],
    ['any: true + unknown', { any: [busy(0.9), skew(0.5)] }, onlyBusy, 'true'],
    ['any: unknown + false', { any: [skew(0.5), busy(0.99)] }, onlyBusy, 'unknown'],
    ['any: false + false', { any: [skew(0.5), busy(0.99)] }, present, 'false'],
    ['not(unknown)', { not: skew(0.5) }, onlyBusy, 'unknown'],
    ['not(true)', { not: busy(0.5) }, onlyBusy, 'false'],
    ['not(false)', { not: busy(0.99) }, onlyBusy, 'true'],
    ['not(all(unknown))', { not: { all: [busy(0.5), skew(0.5)] } }, onlyBusy, 'unknown'],
    ['nested: any(all(unknown), false)', { any: [{ all: [skew(0.5)] }, busy(0.99)] }, onlyIdle, 'unknown'],
  ] as [string, Condition, JobFacts, string][])('%s → %s', (_name, conditions, facts, expected) => {
    expect(truth(rule(conditions), facts)).toEqual([expected]);
  });

  it('a compared fact that is absent makes the leaf unknown', () => {
    const r = rule({
      all: [{ fact: 'vertex.parallelism', operator: 'lessThan', value: { fact: 'vertex.maxParallelism' } }],
    });
    expect(truth(r, job({ vertex: { 'vertex.parallelism': 4 } }))).toEqual(['unknown']);
    expect(truth(r, job({ vertex: { 'vertex.maxParallelism': 4 } }))).toEqual(['unknown']);
    expect(truth(r, job({ vertex: { 'vertex.parallelism': 4, 'vertex.maxParallelism': 128 } }))).toEqual([
      'true',
    ]);
    expect(truth(r, job({ vertex: { 'vertex.parallelism': 128, 'vertex.maxParallelism': 128 } }))).toEqual([
      'false',
    ]);
  });

  it('a param leaf on an absent fact is unknown (false when the fact is optional)', () => {
    const r = rule(
      { all: [{ fact: SKEW, operator: 'lessThan', value: { param: 'max' } }] },
      { params: { max: 0.3 } },
    );
    expect(truth(r, onlyBusy)).toEqual(['unknown']);
    expect(truth({ ...r, optionalFacts: [SKEW] }, onlyBusy)).toEqual(['false']);
  });

  it('a param without a value is unknown', () => {
    const r = rule({ all: [{ fact: BUSY, operator: 'greaterThan', value: { param: 'missing' } }] });
    expect(truth(r, onlyBusy)).toEqual(['unknown']);
    expect(truth(r, onlyBusy, { r: { missing: 0.5 } })).toEqual(['true']);
  });

  it('an absent fact never counts as 0, false or empty', () => {
    const eq = (fact: string, operator: Operator, value: ConditionValue): Rule =>
      rule({ all: [{ fact, operator, value }] });
    const empty = job();
    expect(truth(eq(BUSY, 'equal', 0), empty)).toEqual(['unknown']);
    expect(truth(eq(BUSY, 'lessThan', 1), empty)).toEqual(['unknown']);
    expect(truth(eq('vertex.isSource', 'notEqual', true), empty)).toEqual(['unknown']);
    expect(truth(eq(BUSY, 'notIn', [1, 2]), empty)).toEqual(['unknown']);
  });
});

describe('optionalFacts', () => {
  it('an absent optional fact makes its leaf false instead of unknown', () => {
    const r = rule({ any: [skew(0.5), busy(0.99)] }, { optionalFacts: [SKEW] });
    expect(truth(r, job({ vertex: { [BUSY]: 0.5 } }))).toEqual(['false']);
    expect(truth(r, job({ vertex: { [BUSY]: 0.999 } }))).toEqual(['true']);
    // Under not, false becomes true: the optional fact's absence is a definite answer.
    expect(truth(rule({ not: skew(0.5) }, { optionalFacts: [SKEW] }), job())).toEqual(['true']);
  });

  it('only the listed fact is optional', () => {
    const r = rule({ all: [skew(0.5), busy(0.5)] }, { optionalFacts: [SKEW] });
    expect(truth(r, job({ vertex: { [SKEW]: 0.9 } }))).toEqual(['unknown']);
  });

  it('an absent optional compared fact makes the leaf false; a required one keeps it unknown', () => {
    const cmp: Condition = {
      all: [{ fact: 'vertex.parallelism', operator: 'lessThan', value: { fact: 'vertex.maxParallelism' } }],
    };
    const onlyP = job({ vertex: { 'vertex.parallelism': 4 } });
    const onlyMax = job({ vertex: { 'vertex.maxParallelism': 4 } });
    expect(truth(rule(cmp, { optionalFacts: ['vertex.maxParallelism'] }), onlyP)).toEqual(['false']);
    expect(truth(rule(cmp, { optionalFacts: ['vertex.maxParallelism'] }), onlyMax)).toEqual(['unknown']);
    expect(truth(rule(cmp, { optionalFacts: ['vertex.parallelism'] }), onlyMax)).toEqual(['false']);
    expect(truth(rule(cmp, { optionalFacts: ['vertex.parallelism'] }), onlyP)).toEqual(['unknown']);
  });
});

describe('params and per-job overrides', () => {
  const r = rule(
    { all: [{ fact: BUSY, operator: 'greaterThan', value: { param: 'busy' } }] },
    { params: { busy: 0.9 } },
  );
  const facts = job({ vertex: { [BUSY]: 0.8 } });

  it('uses the default param', () => {
    expect(truth(r, facts)).toEqual(['false']);
    expect(truth(r, facts, {})).toEqual(['false']);
  });

  it('an override of this rule replaces the default', () => {
    expect(truth(r, facts, { r: { busy: 0.7 } })).toEqual(['true']);
  });

  it('overrides of other rules or other params change nothing', () => {
    expect(truth(r, facts, { other: { busy: 0.1 } })).toEqual(['false']);
    expect(truth(r, facts, { r: { other: 0.1 } })).toEqual(['false']);
  });

  it('inherited object properties are not overrides', () => {
    const proto = Object.create({ r: { busy: 0.1 } }) as Record<string, Record<string, number>>;
    expect(truth(r, facts, proto)).toEqual(['false']);
    const inner = { r: Object.create({ busy: 0.1 }) as Record<string, number> };
    expect(truth(r, facts, inner)).toEqual(['false']);
  });

  it('one compiled evaluator serves jobs with different overrides', () => {
    const ev = compileRules([r]);
    expect(ev.evaluate(facts, { r: { busy: 0.5 } })[0]?.truth).toBe('true');
    expect(ev.evaluate(facts)[0]?.truth).toBe('false');
    expect(ev.evaluate(facts, { r: { busy: 0.5 } })[0]?.truth).toBe('true');
  });

  it('array params work with in', () => {
    const states = rule(
      { all: [{ fact: 'job.state', operator: 'in', value: { param: 'states' } }] },
      { scope: 'job', params: { states: ['FAILING', 'RESTARTING'] } },
    );
    expect(truth(states, job({ job: { 'job.state': 'RESTARTING' } }))).toEqual(['true']);
    expect(truth(states, job({ job: { 'job.state': 'RUNNING' } }))).toEqual(['false']);
    expect(truth(states, job({ job: { 'job.state': 'RUNNING' } }), { r: { states: ['RUNNING'] } })).toEqual([
      'true',
    ]);
  });
});

describe('lookup order and subjects', () => {
  const reads = (fact: string, scope: Scope): Rule =>
    rule({ all: [{ fact, operator: 'equal', value: 'own' }] }, { scope });

  it.each([
    ['vertex', ['own', 'job', 'cluster']],
    ['source', ['own', 'job', 'cluster']],
    ['job', ['own', 'cluster']],
    ['taskmanager', ['own', 'cluster']],
    ['cluster', ['own']],
    ['node', ['own']],
  ] as [Scope, string[]][])('a %s rule reads %j in that order', (scope, chain) => {
    const fact = 'x.shared';
    const everywhere = (own: string, jobV: string, clusterV: string): JobFacts => {
      const f = job({ cluster: { [fact]: clusterV }, job: { [fact]: jobV } });
      const mine = { [fact]: own };
      if (scope === 'cluster') f.cluster.facts = mine;
      else if (scope === 'job') f.job.facts = mine;
      else {
        const key = (
          { vertex: 'vertices', source: 'sources', taskmanager: 'taskmanagers', node: 'nodes' } as const
        )[scope];
        f[key] = [subject(scope, 'x', mine)];
      }
      return f;
    };
    // The own value wins.
    expect(truth(reads(fact, scope), everywhere('own', 'no', 'no'))).toEqual(['true']);
    // Without an own value, the next scope in the chain answers (or nothing does).
    const withoutOwn = everywhere('own', 'own', 'own');
    const s = subjectsOf(withoutOwn, scope);
    delete s.facts[fact];
    if (scope === 'job') withoutOwn.job.facts = {};
    if (scope === 'cluster') withoutOwn.cluster.facts = {};
    const second = chain[1];
    expect(truth(reads(fact, scope), withoutOwn)).toEqual([second === undefined ? 'unknown' : 'true']);
    if (chain.includes('job') && chain.includes('cluster')) {
      // Job before cluster.
      const jobWins = everywhere('x', 'own', 'no');
      delete subjectsOf(jobWins, scope).facts[fact];
      expect(truth(reads(fact, scope), jobWins)).toEqual(['true']);
      const clusterLast = everywhere('x', 'x', 'own');
      delete subjectsOf(clusterLast, scope).facts[fact];
      delete clusterLast.job.facts[fact];
      expect(truth(reads(fact, scope), clusterLast)).toEqual(['true']);
    }
    if (!chain.includes('job')) {
      // A job value is invisible to rules that do not read job facts.
      const onlyJob = everywhere('x', 'own', 'x');
      delete subjectsOf(onlyJob, scope).facts[fact];
      if (scope !== 'cluster') delete onlyJob.cluster.facts[fact];
      else onlyJob.cluster.facts = {};
      expect(truth(reads(fact, scope), onlyJob)).toEqual(['unknown']);
    }
  });

  it('evaluates every subject of the rule scope, in order, and no others', () => {
    const f = job();
    f.vertices = [
      subject('vertex', 'a', { [BUSY]: 0.95 }),
      subject('vertex', 'b', { [BUSY]: 0.2 }),
      subject('vertex', 'c'),
    ];
    const out = compileRules([rule({ all: [busy(0.9)] })]).evaluate(f);
    expect(out.map(e => [e.subject.id, e.truth])).toEqual([
      ['a', 'true'],
      ['b', 'false'],
      ['c', 'unknown'],
    ]);
    expect(out.every(e => e.rule.id === 'r')).toBe(true);
  });

  it('returns rules in order and one evaluation per rule and subject', () => {
    const f = job({ job: { 'job.uptime': 5 } });
    f.nodes = [subject('node', 'n1'), subject('node', 'n2')];
    const a = rule(
      { all: [{ fact: 'job.uptime', operator: 'greaterThan', value: 1 }] },
      { id: 'a', scope: 'job' },
    );
    const b = rule(
      { all: [{ fact: 'node.diskFreeRatio', operator: 'lessThan', value: 0.1 }] },
      { id: 'b', scope: 'node' },
    );
    const ev = compileRules([a, b]);
    expect(ev.rules.map(r => r.id)).toEqual(['a', 'b']);
    expect(ev.evaluate(f).map(e => `${e.rule.id}/${e.subject.id}/${e.truth}`)).toEqual([
      'a/j/true',
      'b/n1/unknown',
      'b/n2/unknown',
    ]);
  });
});

describe('evidence', () => {
  it('holds the present values of every fact the rule reads, and nothing else', () => {
    const r = rule({
      any: [
        busy(0.5),
        { not: skew(0.5) },
        { fact: 'vertex.parallelism', operator: 'lessThan', value: { fact: 'job.parallelism.total' } },
      ],
    });
    const f = job({
      vertex: { [BUSY]: 0.9, 'vertex.parallelism': 4, 'vertex.isSink': true },
      job: { 'job.parallelism.total': 12, 'job.uptime': 3 },
    });
    const [e] = compileRules([r]).evaluate(f);
    // busy short-circuits the any; evidence still lists everything read that is present.
    expect(e?.truth).toBe('true');
    expect(e?.evidence).toStrictEqual({ [BUSY]: 0.9, 'vertex.parallelism': 4, 'job.parallelism.total': 12 });
  });

  it('is a fresh object per evaluation', () => {
    const ev = compileRules([rule({ all: [busy(0.5)] })]);
    const f = job({ vertex: { [BUSY]: 0.9 } });
    const first = ev.evaluate(f)[0];
    const second = ev.evaluate(f)[0];
    expect(first?.evidence).not.toBe(second?.evidence);
    expect(first?.evidence).toEqual(second?.evidence);
  });
});

describe('operators on present facts mean what json-rules-engine means', () => {
  // Off the validated domain too (wrong types reach the evaluator only through a detect bug):
  // the answers must still be json-rules-engine's, and nothing may throw.
  const cases: [Operator, FactValue, unknown][] = [
    ['greaterThan', '5', 1],
    ['greaterThan', 'abc', 1],
    ['greaterThan', '', -1],
    ['lessThan', Number.NaN, 1],
    ['greaterThanInclusive', Number.NaN, Number.NaN],
    ['lessThanInclusive', Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
    ['greaterThan', ['5'], 1],
    ['greaterThan', [], -1],
    ['lessThan', true, 2],
    ['lessThanInclusive', '0.5x', 0.5],
    ['greaterThanInclusive', ' 7', 7],
    ['lessThan', 'Infinity', 1],
    ['equal', 1, '1'],
    ['equal', ['a'], ['a']],
    ['notEqual', 0, false],
    ['notEqual', 'a', 'a'],
    ['in', 'b', 'abc'],
    ['in', 'd', 'abc'],
    ['in', 1, [1, 2]],
    ['in', 1, ['1']],
    ['notIn', 'b', 'abc'],
    ['notIn', 3, [1, 2]],
    ['notIn', 1, [1, 2]],
    ['contains', 'a', 'a'],
    ['contains', ['a', 'b'], 'b'],
    ['contains', ['a', 'b'], 'c'],
    ['doesNotContain', 'abc', 'x'],
    ['doesNotContain', ['a'], 'a'],
    ['doesNotContain', ['a'], 'b'],
    ['doesNotContain', [], 'b'],
    ['equal', Number.NaN, Number.NaN],
    ['in', Number.NaN, [Number.NaN]],
    ['contains', ['1'], 1],
  ];

  it.each(cases)('%s(%j, %j)', async (operator, fact, value) => {
    const r = rule({ all: [{ fact: 'x.fact', operator, value: value as number }] });
    const [e] = compileRules([r]).evaluate(job({ vertex: { 'x.fact': fact } }));
    const expected = await oracleTruth(r, { 'x.fact': fact });
    expect(e?.truth).toBe(String(expected));
  });

  it('values that have no indexOf find nothing with in / notIn (json-rules-engine would throw)', () => {
    const r = (operator: Operator): Rule => rule({ all: [{ fact: BUSY, operator, value: 5 }] });
    const f = job({ vertex: { [BUSY]: 5 } });
    expect(truth(r('in'), f)).toEqual(['false']);
    expect(truth(r('notIn'), f)).toEqual(['true']);
  });

  it('rejects an unknown operator at compile time, with the rule id', () => {
    const bad = rule({ all: [{ fact: BUSY, operator: 'greaterThen' as Operator, value: 1 }] }, { id: 'bad' });
    expect(() => compileRules([bad])).toThrow(RuleCompileError);
    expect(() => compileRules([bad])).toThrow(/unknown operator "greaterThen"/);
    try {
      compileRules([bad]);
    } catch (e) {
      expect(e).toMatchObject({ code: 'RULE_COMPILE', ruleId: 'bad', name: 'RuleCompileError' });
    }
    const inherited = rule({ all: [{ fact: BUSY, operator: 'toString' as Operator, value: 1 }] });
    expect(() => compileRules([inherited])).toThrow(RuleCompileError);
  });
});

describe('concurrency', () => {
  it('many evaluations interleaved with await give the same results as sequential ones', async () => {
    const rules: Rule[] = [
      rule({ all: [busy(0.5), { not: skew(0.3) }] }, { id: 'a' }),
      rule(
        { any: [{ fact: 'job.uptime', operator: 'lessThan', value: { param: 'u' } }] },
        { id: 'b', scope: 'job', params: { u: 60 } },
      ),
      rule(
        { all: [{ fact: 'node.diskFreeRatio', operator: 'lessThan', value: 0.1 }] },
        { id: 'c', scope: 'node' },
      ),
    ];
    const ev = compileRules(rules);
    const rng = new Random(42);
    const anchors = new Anchors();
    for (const r of rules) anchors.addRule(r);
    const jobs = Array.from({ length: 200 }, () =>
      randomJob(rng, anchors, { vertices: 3, sources: 1, taskmanagers: 1, nodes: 2 }),
    );
    const overrides = jobs.map((_, i) => ({ b: { u: i % 120 } }));
    const sequential = jobs.map((j, i) => JSON.stringify(ev.evaluate(j, overrides[i])));
    const interleaved = await Promise.all(
      jobs.map(async (j, i) => {
        await new Promise(r => setTimeout(r, (i * 7) % 5));
        const first = ev.evaluate(j, overrides[i]);
        await Promise.resolve();
        const second = ev.evaluate(j, overrides[i]);
        expect(second).toEqual(first);
        return JSON.stringify(first);
      }),
    );
    expect(interleaved).toEqual(sequential);
    expect(new Set(sequential).size).toBeGreaterThan(1);
  });
});

function subjectsOf(f: JobFacts, scope: Scope): SubjectFacts {
  const list = {
    cluster: [f.cluster],
    job: [f.job],
    vertex: f.vertices,
    source: f.sources,
    taskmanager: f.taskmanagers,
    node: f.nodes,
  }[scope];
  const s = list[0];
  if (s === undefined) throw new Error('no subject');
  return s;
}
