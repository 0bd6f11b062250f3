import { Engine } from 'json-rules-engine';
import type { RuleProperties } from 'json-rules-engine';
import { READABLE_SCOPES, subjectsOfScope } from '../../src/domain/index.js';
import type {
  Condition,
  FactMap,
  FactValue,
  JobFacts,
  ParamValue,
  Rule,
  Scope,
} from '../../src/domain/index.js';

/**
 * The reference semantics: a Rule translated into a json-rules-engine rule (params substituted,
 * `{fact}` values as json-rules-engine fact references) and run by json-rules-engine itself on
 * one subject's facts. A fresh Engine per run: an Engine must never be shared between concurrent
 * runs (ts-stack.md §1.2). Only meaningful on present facts; absence is ours.
 */

type JreConditions = RuleProperties['conditions'];
type JreNode = JreConditions | { fact: string; operator: string; value: unknown };
type Params = Readonly<Record<string, ParamValue>>;

function translate(condition: Condition, params: Params): JreNode {
  if ('all' in condition) return { all: condition.all.map(c => translate(c, params)) };
  if ('any' in condition) return { any: condition.any.map(c => translate(c, params)) };
  if ('not' in condition) return { not: translate(condition.not, params) };
  const { fact, operator, value } = condition;
  if (typeof value === 'object' && 'param' in value) {
    const v = params[value.param];
    if (v === undefined) throw new Error(`oracle: param ${value.param} has no value`);
    return { fact, operator, value: Array.isArray(v) ? [...(v as ParamValue[])] : v };
  }
  if (typeof value === 'object' && 'fact' in value) return { fact, operator, value: { fact: value.fact } };
  return { fact, operator, value: Array.isArray(value) ? [...(value as ParamValue[])] : value };
}

/** json-rules-engine rule properties for a Rule; the event type is the rule id. */
export function toJreRule(rule: Rule, overrides: Params = {}): RuleProperties {
  const node = translate(rule.conditions, { ...rule.params, ...overrides });
  const conditions = 'fact' in node ? { all: [node] } : node;
  return { name: rule.id, conditions, event: { type: rule.id } };
}

/** The facts a subject of `scope` sees, merged in lookup order (own, then job, then cluster). */
export function visibleFacts(scope: Scope, own: FactMap, job: FactMap, cluster: FactMap): FactMap {
  const outer = READABLE_SCOPES[scope];
  return {
    ...(outer.includes('cluster') ? cluster : {}),
    ...(outer.includes('job') ? job : {}),
    ...own,
  };
}

/** Runs one rule on one subject's (present) facts with a fresh Engine. */
export async function oracleTruth(
  rule: Rule,
  facts: Readonly<Record<string, FactValue>>,
  overrides?: Params,
): Promise<boolean> {
  const engine = new Engine([toJreRule(rule, overrides)], { allowUndefinedFacts: false });
  const { events } = await engine.run({ ...facts });
  return events.length > 0;
}

export interface OracleResult {
  ruleId: string;
  subjectId: string;
  truth: boolean;
}

/**
 * One job-evaluation the json-rules-engine way: for each scope a fresh Engine holding the rules of
 * that scope, run once per subject, one run after the other.
 */
export async function oracleEvaluateJob(rules: readonly Rule[], facts: JobFacts): Promise<OracleResult[]> {
  const out: OracleResult[] = [];
  const byScope = new Map<Scope, Rule[]>();
  for (const r of rules) byScope.set(r.scope, [...(byScope.get(r.scope) ?? []), r]);
  for (const [scope, scoped] of byScope) {
    const engine = new Engine(
      scoped.map(r => toJreRule(r)),
      { allowUndefinedFacts: true },
    );
    for (const { subject, facts: own } of subjectsOfScope(facts, scope)) {
      const { events } = await engine.run(visibleFacts(scope, own, facts.job.facts, facts.cluster.facts));
      const fired = new Set(events.map(e => e.type));
      for (const r of scoped) out.push({ ruleId: r.id, subjectId: subject.id, truth: fired.has(r.id) });
    }
  }
  return out;
}
