import { describe, expect, it } from 'vitest';
import { compileRules } from '../../../src/agents/analyze/compiled-evaluator.js';
import { loadRules, validateRuleSources } from '../../../src/config/rule-files.js';
import { READABLE_SCOPES } from '../../../src/domain/index.js';
import type { FactMap, JobFacts, ParamValue, Rule, SubjectFacts } from '../../../src/domain/index.js';
import { oracleTruth, visibleFacts } from '../../support/jre-oracle.js';
import {
  alignFactRefs,
  Anchors,
  fullFacts,
  Random,
  randomJob,
  randomRule,
  satisfyLeaves,
  toRuleFile,
} from './generators.js';

/**
 * The compiled evaluator must agree with json-rules-engine on present, correctly typed facts
 * (ARCHITECTURE §3 "Reference semantics"). Values cluster around the rules' thresholds so that
 * both outcomes, and the equal-to-threshold edge, occur often.
 */

const SHIPPED_CASES = 10_000;
const RANDOM_TREE_CASES = 10_000;

interface Tally {
  cases: number;
  true: number;
  false: number;
}

/** Compares compiled and oracle truth for every (rule, subject) of a job; returns the count. */
async function compareJob(
  rules: readonly Rule[],
  job: JobFacts,
  tally: Tally,
  overrides: Readonly<Record<string, Readonly<Record<string, ParamValue>>>> = {},
): Promise<void> {
  const evaluations = compileRules(rules).evaluate(job, overrides);
  for (const e of evaluations) {
    const own = subjectFacts(job, e.subject.kind, e.subject.id);
    const visible = visibleFacts(e.rule.scope, own, job.job.facts, job.cluster.facts);
    const expected = await oracleTruth(e.rule, visible, overrides[e.rule.id]);
    if (e.truth !== String(expected)) {
      throw new Error(
        `mismatch on ${e.rule.id}/${e.subject.id}: compiled ${e.truth}, json-rules-engine ${expected}\n` +
          JSON.stringify({
            conditions: e.rule.conditions,
            params: e.rule.params,
            overrides,
            evidence: e.evidence,
          }),
      );
    }
    tally.cases++;
    tally[expected ? 'true' : 'false']++;
  }
}

function subjectFacts(job: JobFacts, kind: string, id: string): FactMap {
  const all: SubjectFacts[] = [
    job.cluster,
    job.job,
    ...job.sources,
    ...job.vertices,
    ...job.taskmanagers,
    ...job.nodes,
  ];
  const found = all.find(s => s.subject.kind === kind && s.subject.id === id);
  if (found === undefined) throw new Error(`no subject ${kind}/${id}`);
  return found.facts;
}

const ONE_OF_EACH = { vertices: 1, sources: 1, taskmanagers: 1, nodes: 1 };

describe('compiled evaluator vs json-rules-engine', () => {
  it('agrees on the shipped rules over hand-made fixtures', async () => {
    const rules = await loadRules();
    const anchors = new Anchors();
    for (const r of rules) anchors.addRule(r);
    const tally: Tally = { cases: 0, true: 0, false: 0 };
    // A calm job and a job at every threshold.
    const calm = randomJob(new Random(1), new Anchors(), {
      vertices: 3,
      sources: 2,
      taskmanagers: 2,
      nodes: 2,
    });
    await compareJob(rules, calm, tally);
    const edgy = randomJob(new Random(2), anchors, { vertices: 6, sources: 2, taskmanagers: 3, nodes: 2 });
    await compareJob(rules, edgy, tally);
    expect(tally.cases).toBe(
      rules.reduce(
        (n, r) => n + ({ vertex: 9, source: 4, taskmanager: 5, node: 4 }[r.scope as string] ?? 2),
        0,
      ),
    );
  });

  it(`agrees on the shipped rules over ${SHIPPED_CASES} randomized cases`, async () => {
    const rules = await loadRules();
    const rng = new Random(20_260_101);
    const tally: Tally = { cases: 0, true: 0, false: 0 };
    const perRule = new Map<string, { true: number; false: number }>(
      rules.map(r => [r.id, { true: 0, false: 0 }]),
    );
    // At least SHIPPED_CASES, and on until every rule was seen both firing and not firing: a rule
    // with many conditions fires rarely on random facts, and which draw it gets is luck.
    const unseen = (): boolean => [...perRule.values()].some(v => v.true === 0 || v.false === 0);
    while (tally.cases < SHIPPED_CASES || (unseen() && tally.cases < 10 * SHIPPED_CASES)) {
      const rule = rng.pick(rules);
      // Now and then a per-job override moves a threshold.
      const overrides: Record<string, ParamValue> = {};
      for (const [name, v] of Object.entries(rule.params)) {
        if (typeof v === 'number' && rng.chance(0.3)) overrides[name] = v * (0.5 + rng.next());
      }
      const anchors = new Anchors().addRule(rule, overrides);
      const job = randomJob(rng, anchors, ONE_OF_EACH);
      for (const s of [
        job.cluster,
        job.job,
        ...job.sources,
        ...job.vertices,
        ...job.taskmanagers,
        ...job.nodes,
      ]) {
        alignFactRefs(rng, rule.conditions, s.facts);
      }
      // A rule not yet seen firing gets, now and then, facts that satisfy its `all` leaves.
      if ((perRule.get(rule.id)?.true ?? 0) === 0 && rng.chance(0.2))
        satisfyLeaves(
          rule.conditions,
          { ...rule.params, ...overrides },
          [job.cluster, job.job, ...job.sources, ...job.vertices, ...job.taskmanagers, ...job.nodes].map(
            x => x.facts,
          ),
        );
      const before = { ...tally };
      await compareJob([rule], job, tally, { [rule.id]: overrides });
      const seen = perRule.get(rule.id);
      if (seen !== undefined) {
        seen.true += tally.true - before.true;
        seen.false += tally.false - before.false;
      }
    }
    expect(tally.cases).toBeGreaterThanOrEqual(SHIPPED_CASES);
    // Every shipped rule was seen both firing and not firing.
    for (const [id, seen] of perRule) {
      expect({ id, fired: seen.true > 0, held: seen.false > 0 }).toEqual({ id, fired: true, held: true });
    }
    // A deadline for a loaded machine, not a speed claim (the rules bench measures speed).
  }, 180_000);

  it(`agrees on ${RANDOM_TREE_CASES} random condition trees over all operators`, async () => {
    const rng = new Random(7_919);
    const tally: Tally = { cases: 0, true: 0, false: 0 };
    const operators = new Set<string>();
    for (let n = 0; tally.cases < RANDOM_TREE_CASES; n++) {
      const rule = randomRule(rng, n);
      // The generated rule is one the loader accepts.
      const { errors } = validateRuleSources([{ file: rule.file, text: toRuleFile(rule) }]);
      expect(errors).toEqual([]);
      const anchors = new Anchors().addRule(rule);
      const own = fullFacts(rng, rule.scope, anchors);
      const job = READABLE_SCOPES[rule.scope].includes('job') ? fullFacts(rng, 'job', anchors) : {};
      const cluster = READABLE_SCOPES[rule.scope].includes('cluster')
        ? fullFacts(rng, 'cluster', anchors)
        : {};
      alignFactRefs(rng, rule.conditions, own);
      const visible = visibleFacts(rule.scope, own, job, cluster);
      const [evaluation] = compileRules([rule]).evaluate(jobWith(rule, own, job, cluster));
      const expected = await oracleTruth(rule, visible);
      if (evaluation?.truth !== String(expected)) {
        throw new Error(
          `mismatch: compiled ${evaluation?.truth}, json-rules-engine ${expected}\n${toRuleFile(rule)}\n${JSON.stringify(visible)}`,
        );
      }
      collectOperators(rule, operators);
      tally.cases++;
      tally[expected ? 'true' : 'false']++;
    }
    expect(operators.size).toBe(10);
    expect(tally.true).toBeGreaterThan(RANDOM_TREE_CASES / 5);
    expect(tally.false).toBeGreaterThan(RANDOM_TREE_CASES / 5);
  });
});

function jobWith(rule: Rule, own: FactMap, job: FactMap, cluster: FactMap): JobFacts {
  const s = (facts: FactMap, kind = rule.scope): SubjectFacts => ({
    subject: { kind, id: kind, name: kind },
    facts,
  });
  const mine = s(own);
  return {
    jobKey: 'rest:test/job',
    observedAt: 0,
    cluster: rule.scope === 'cluster' ? mine : s(cluster, 'cluster'),
    job: rule.scope === 'job' ? mine : s(job, 'job'),
    sources: rule.scope === 'source' ? [mine] : [],
    vertices: rule.scope === 'vertex' ? [mine] : [],
    taskmanagers: rule.scope === 'taskmanager' ? [mine] : [],
    nodes: rule.scope === 'node' ? [mine] : [],
  };
}

function collectOperators(rule: Rule, into: Set<string>): void {
  const visit = (c: Rule['conditions']): void => {
    if ('all' in c) c.all.forEach(visit);
    else if ('any' in c) c.any.forEach(visit);
    else if ('not' in c) visit(c.not);
    else into.add(c.operator);
  };
  visit(rule.conditions);
}
