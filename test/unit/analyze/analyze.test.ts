import { describe, expect, it } from 'vitest';
import type { FindingRecord, JobFacts, Rule, Subject, Truth } from '../../../src/domain/index.js';
import { analyze, markUnknown } from '../../../src/agents/analyze/analyze.js';
import type { RuleEvaluation, RuleEvaluator } from '../../../src/agents/analyze/rule-evaluator.js';
import { healthScore } from '../../../src/agents/select/health-score.js';
import { testRule } from '../../support/rules.js';

const MIN = 60_000;
const JOB = 'rest:c1/orders';

function vertex(id: string): Subject {
  return { kind: 'vertex', id, name: `Map ${id}` };
}

function jobFacts(observedAt: number): JobFacts {
  return {
    jobKey: JOB,
    observedAt,
    cluster: { subject: { kind: 'cluster', id: 'c1', name: 'c1' }, facts: {} },
    job: { subject: { kind: 'job', id: JOB, name: 'orders' }, facts: {} },
    sources: [],
    vertices: [],
    taskmanagers: [],
    nodes: [],
  };
}

/**
 * A scripted evaluator: the test says what each rule's conditions are on each subject at each
 * time; analyze does the rest. (The real evaluator has its own differential tests.)
 */
function scripted(rules: Rule[], script: (rule: Rule, t: number) => [Subject, Truth][]): RuleEvaluator {
  return {
    rules,
    evaluate(facts): RuleEvaluation[] {
      return rules.flatMap(rule =>
        script(rule, facts.observedAt).map(([subject, truth]) => ({
          rule,
          subject,
          truth,
          evidence: { 'vertex.busyRatio.max': 0.95 },
        })),
      );
    },
  };
}

/** Runs analyze every tickMs from 0 to durationMs and returns the final records and findings. */
function simulate(evaluator: RuleEvaluator, tickMs: number, durationMs: number) {
  let records: Record<string, FindingRecord> = {};
  let last = analyze({
    jobKey: JOB,
    facts: jobFacts(0),
    evaluator,
    previous: records,
    now: 0,
    tickMs,
    retentionMs: 30 * MIN,
  });
  for (let t = 0; t <= durationMs; t += tickMs) {
    last = analyze({
      jobKey: JOB,
      facts: jobFacts(t),
      evaluator,
      previous: records,
      now: t,
      tickMs,
      retentionMs: 30 * MIN,
    });
    records = last.records;
  }
  return last;
}

describe('analyze', () => {
  it('one medium rule firing on 6 vertices for 30 min → 91', () => {
    const rule = testRule({ id: 'busy', severity: 'medium', forMs: 5 * MIN });
    const subjects = [1, 2, 3, 4, 5, 6].map(i => vertex(`v${i}`));
    const ev = scripted([rule], () => subjects.map(s => [s, 'true']));
    const result = simulate(ev, 10_000, 30 * MIN);
    expect(result.findings.filter(f => f.state === 'firing')).toHaveLength(6);
    expect(healthScore(Object.values(result.records), 30 * MIN, 30 * MIN).score).toBe(91);
  });

  it('the same incident at a 1 s and a 60 s tick gives the same score', () => {
    // Incident: two rules, one fires minutes 5–12 (high), one fires from minute 20 on (low).
    const high = testRule({ id: 'restart-loop', severity: 'high', scope: 'job', forMs: MIN });
    const low = testRule({ id: 'idle', severity: 'low', forMs: 2 * MIN });
    const jobSubject: Subject = { kind: 'job', id: JOB, name: 'orders' };
    const script = (rule: Rule, t: number): [Subject, Truth][] =>
      rule.id === 'restart-loop'
        ? [[jobSubject, t >= 5 * MIN && t < 12 * MIN ? 'true' : 'false']]
        : [[vertex('v1'), t >= 20 * MIN ? 'true' : 'false']];
    const scores = [1000, 10_000, 60_000].map(tick => {
      const r = simulate(scripted([high, low], script), tick, 30 * MIN);
      return healthScore(Object.values(r.records), 30 * MIN, 30 * MIN).score;
    });
    expect(scores).toEqual([94, 94, 94]);
  });

  it('a two-stage rule fires only while the rule it requires fires', () => {
    const symptom = testRule({ id: 'backpressure', severity: 'low' });
    const diagnosis = testRule({ id: 'under-provisioned', severity: 'medium', requires: ['backpressure'] });
    const v = vertex('v1');
    let symptomTruth: Truth = 'false';
    const ev = scripted([diagnosis, symptom], rule => [
      [v, rule.id === 'backpressure' ? symptomTruth : 'true'],
    ]);
    let r = analyze({
      jobKey: JOB,
      facts: jobFacts(0),
      evaluator: ev,
      previous: {},
      now: 0,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
    });
    expect(r.findings).toHaveLength(0);
    symptomTruth = 'true';
    r = analyze({
      jobKey: JOB,
      facts: jobFacts(10_000),
      evaluator: ev,
      previous: r.records,
      now: 10_000,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
    });
    expect(r.findings.map(f => [f.rule, f.diagnosis]).sort()).toEqual([
      ['backpressure', false],
      ['under-provisioned', true],
    ]);
    symptomTruth = 'unknown';
    r = analyze({
      jobKey: JOB,
      facts: jobFacts(20_000),
      evaluator: ev,
      previous: r.records,
      now: 20_000,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
    });
    expect(r.findings.every(f => f.state === 'unknown')).toBe(true);
  });

  it('a requirement of another scope is met by any of its subjects in the job', () => {
    const jobRule = testRule({ id: 'lag-growing', scope: 'job' });
    const vertexRule = testRule({ id: 'bottleneck', requires: ['lag-growing'] });
    const ev = scripted([jobRule, vertexRule], rule =>
      rule.scope === 'job'
        ? [[{ kind: 'job', id: JOB, name: 'orders' }, 'true']]
        : [
            [vertex('v1'), 'true'],
            [vertex('v2'), 'false'],
          ],
    );
    const r = analyze({
      jobKey: JOB,
      facts: jobFacts(0),
      evaluator: ev,
      previous: {},
      now: 0,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
    });
    expect(r.findings.map(f => `${f.rule}:${f.subject.id}`).sort()).toEqual([
      `bottleneck:v1`,
      `lag-growing:${JOB}`,
    ]);
  });

  it('renders the action text and fills evidence', () => {
    const rule = testRule({
      id: 'busy',
      action: { kind: 'advice', text: 'raise the parallelism of {{subject.name}}', params: {} },
    });
    const ev = scripted([rule], () => [[vertex('v1'), 'true']]);
    const r = analyze({
      jobKey: JOB,
      facts: jobFacts(0),
      evaluator: ev,
      previous: {},
      now: 0,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
    });
    expect(r.findings[0]?.action.text).toBe('raise the parallelism of Map v1');
    expect(r.findings[0]?.evidence).toEqual({ 'vertex.busyRatio.max': 0.95 });
    expect(r.findings[0]?.fingerprint).toBe(`${JOB}|busy|vertex|v1`);
  });

  it('a subject that disappeared resolves after keepFiringFor', () => {
    const rule = testRule({ id: 'busy' });
    let present = true;
    const ev = scripted([rule], () => (present ? [[vertex('v1'), 'true']] : []));
    let r = analyze({
      jobKey: JOB,
      facts: jobFacts(0),
      evaluator: ev,
      previous: {},
      now: 0,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
    });
    present = false;
    for (const t of [10_000, 20_000, 30_000]) {
      r = analyze({
        jobKey: JOB,
        facts: jobFacts(t),
        evaluator: ev,
        previous: r.records,
        now: t,
        tickMs: 10_000,
        retentionMs: 30 * MIN,
      });
    }
    expect(r.findings.map(f => f.state)).toEqual(['resolved']);
  });

  it('disabled rules are not evaluated', () => {
    const rule = testRule({ id: 'busy' });
    const ev = scripted([rule], () => [[vertex('v1'), 'true']]);
    const r = analyze({
      jobKey: JOB,
      facts: jobFacts(0),
      evaluator: ev,
      previous: {},
      now: 0,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
      disabledRules: new Set(['busy']),
    });
    expect(r.findings).toHaveLength(0);
  });

  it('markUnknown turns firing findings unknown without resolving them', () => {
    const rule = testRule({ id: 'busy' });
    const ev = scripted([rule], () => [[vertex('v1'), 'true']]);
    const r = analyze({
      jobKey: JOB,
      facts: jobFacts(0),
      evaluator: ev,
      previous: {},
      now: 0,
      tickMs: 10_000,
      retentionMs: 30 * MIN,
    });
    const u = markUnknown(r.records, 10 * MIN, 30 * MIN);
    expect(u.findings.map(f => f.state)).toEqual(['unknown']);
    expect(Object.values(u.records)[0]?.firing).toBe(true);
  });
});
