import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultRulesDir } from '../../../src/config/rule-files.js';
import {
  FACT_DICTIONARY,
  factDefinition,
  OPERATORS,
  READABLE_SCOPES,
  SCOPES,
} from '../../../src/domain/index.js';
import type {
  Condition,
  ConditionValue,
  FactDefinition,
  FactMap,
  FactValue,
  JobFacts,
  LeafCondition,
  Operator,
  ParamValue,
  Rule,
  Scalar,
  Scope,
  SubjectFacts,
} from '../../../src/domain/index.js';

/** Seeded PRNG: the simulator's (same seed, same cases on every run). */
export { Rng as Random } from '../../../src/sim/random.js';
import type { Rng as Random } from '../../../src/sim/random.js';

/**
 * Log facts are per class (templates in the dictionary): the ones the shipped rules read, so the
 * random jobs carry them (all classes × templates would only slow json-rules-engine down).
 */
const LOG_FACTS: FactDefinition[] = [
  ...new Set(
    readdirSync(defaultRulesDir(), { recursive: true, encoding: 'utf8' })
      .filter(f => f.endsWith('.json') && !f.startsWith('tests'))
      .flatMap(
        f =>
          readFileSync(join(defaultRulesDir(), f), 'utf8').match(/job\.logs\.[a-z0-9-]+\.[A-Za-z]+/g) ?? [],
      ),
  ),
]
  .map(name => factDefinition(name))
  .filter((d): d is FactDefinition => d !== undefined);

export const FACTS_BY_SCOPE: ReadonlyMap<Scope, readonly FactDefinition[]> = new Map(
  SCOPES.map(s => [s, [...FACT_DICTIONARY.values(), ...LOG_FACTS].filter(d => d.scope === s)]),
);

function factsOf(scope: Scope): readonly FactDefinition[] {
  return FACTS_BY_SCOPE.get(scope) ?? [];
}

/** Values that conditions compare each fact with: thresholds for numbers, words for strings. */
export class Anchors {
  readonly numbers = new Map<string, number[]>();
  readonly strings = new Set<string>(['RUNNING', 'FAILED', 'oom', 'kafka-timeout']);

  addRule(rule: Rule, overrides: Readonly<Record<string, ParamValue>> = {}): this {
    const params = { ...rule.params, ...overrides };
    const visit = (c: Condition): void => {
      if ('all' in c) c.all.forEach(visit);
      else if ('any' in c) c.any.forEach(visit);
      else if ('not' in c) visit(c.not);
      else this.addValue(c.fact, resolve(c.value, params));
    };
    visit(rule.conditions);
    return this;
  }

  private addValue(fact: string, value: ParamValue | undefined): void {
    for (const v of Array.isArray(value) ? (value as readonly Scalar[]) : [value]) {
      if (typeof v === 'number') this.numbers.set(fact, [...(this.numbers.get(fact) ?? []), v]);
      if (typeof v === 'string') this.strings.add(v);
    }
  }
}

function resolve(
  value: ConditionValue,
  params: Readonly<Record<string, ParamValue>>,
): ParamValue | undefined {
  if (typeof value === 'object' && 'param' in value) return params[value.param];
  if (typeof value === 'object' && 'fact' in value) return undefined;
  return value;
}

/**
 * Sets, in every subject that carries it, each fact an `all` leaf of the rule compares with a
 * literal or param to a value that satisfies that leaf (numbers just past the threshold, booleans
 * and strings equal). A rule of many narrow conditions almost never fires on independent random
 * facts; the differential test uses this now and then so that every rule is seen firing.
 */
export function satisfyLeaves(
  condition: Condition,
  params: Readonly<Record<string, ParamValue>>,
  subjects: readonly FactMap[],
): void {
  if (!('all' in condition)) {
    if ('fact' in condition) satisfyLeaves({ all: [condition] }, params, subjects);
    return;
  }
  for (const c of condition.all) {
    if ('all' in c) {
      satisfyLeaves(c, params, subjects);
      continue;
    }
    if (!('fact' in c)) continue;
    const v = resolve(c.value, params);
    if (v === undefined) continue;
    let want: FactValue | undefined;
    if (typeof v === 'number') {
      const step = Math.max(Math.abs(v), 1) * 1e-3;
      if (c.operator === 'lessThan') want = v - step;
      else if (
        c.operator === 'lessThanInclusive' ||
        c.operator === 'equal' ||
        c.operator === 'greaterThanInclusive'
      )
        want = v;
      else if (c.operator === 'greaterThan') want = v + step;
    } else if (c.operator === 'equal' && (typeof v === 'string' || typeof v === 'boolean')) want = v;
    if (want === undefined) continue;
    for (const facts of subjects) if (c.fact in facts) facts[c.fact] = want;
  }
}

/** A number near one of the fact's thresholds (so both outcomes occur), sometimes anywhere. */
function numberNear(rng: Random, def: FactDefinition, anchors: Anchors): number {
  const thresholds = anchors.numbers.get(def.name) ?? [];
  const integral = def.unit === 'count';
  if (thresholds.length === 0 || rng.chance(0.1)) {
    const scale = def.unit === 'ratio' ? 1 : rng.pick([1, 10, 1000]);
    const v = rng.next() * scale * (rng.chance(0.05) ? -1 : 1);
    return integral ? Math.round(v) : v;
  }
  const t = rng.pick(thresholds);
  switch (rng.int(5)) {
    case 0:
      return t;
    case 1:
      return integral ? t + 1 : t + Math.max(Math.abs(t), 1) * 1e-9;
    case 2:
      return integral ? t - 1 : t - Math.max(Math.abs(t), 1) * 1e-9;
    default: {
      const v = t + (rng.next() - 0.5) * Math.max(Math.abs(t), 1) * 0.5;
      return integral ? Math.round(v) : v;
    }
  }
}

export function factValue(rng: Random, def: FactDefinition, anchors: Anchors): FactValue {
  switch (def.type) {
    case 'number':
      return numberNear(rng, def, anchors);
    case 'boolean':
      return rng.chance(0.5);
    case 'string':
      return rng.pick([...anchors.strings]);
    case 'string[]':
      return [...anchors.strings].filter(() => rng.chance(0.4));
  }
}

/** Every dictionary fact of the scope, present and correctly typed. */
export function fullFacts(rng: Random, scope: Scope, anchors: Anchors): FactMap {
  return Object.fromEntries(factsOf(scope).map(d => [d.name, factValue(rng, d, anchors)]));
}

/** Makes `{fact}` comparisons interesting: copies the compared fact's value now and then. */
export function alignFactRefs(rng: Random, condition: Condition, facts: FactMap): void {
  const visit = (c: Condition): void => {
    if ('all' in c) c.all.forEach(visit);
    else if ('any' in c) c.any.forEach(visit);
    else if ('not' in c) visit(c.not);
    else if (typeof c.value === 'object' && 'fact' in c.value) {
      const other = facts[c.value.fact];
      const mine = facts[c.fact];
      if (other !== undefined && mine !== undefined && typeof mine === typeof other && rng.chance(0.4)) {
        facts[c.fact] = typeof other === 'number' && rng.chance(0.5) ? other + rng.pick([-1, 1]) : other;
      }
    }
  };
  visit(condition);
}

function subject(scope: Scope, i: number, facts: FactMap): SubjectFacts {
  return { subject: { kind: scope, id: `${scope}-${i}`, name: `${scope} ${i}` }, facts };
}

export interface JobShape {
  vertices: number;
  sources: number;
  taskmanagers: number;
  nodes: number;
}

/** A whole job with every dictionary fact present. */
export function randomJob(rng: Random, anchors: Anchors, shape: JobShape): JobFacts {
  const many = (scope: Scope, n: number): SubjectFacts[] =>
    Array.from({ length: n }, (_, i) => subject(scope, i, fullFacts(rng, scope, anchors)));
  return {
    jobKey: 'rest:test/job',
    observedAt: 0,
    cluster: subject('cluster', 0, fullFacts(rng, 'cluster', anchors)),
    job: subject('job', 0, fullFacts(rng, 'job', anchors)),
    sources: many('source', shape.sources),
    vertices: many('vertex', shape.vertices),
    taskmanagers: many('taskmanager', shape.taskmanagers),
    nodes: many('node', shape.nodes),
  };
}

// ── random condition trees ──────────────────────────────────────────────────────────────────

const OPERATORS_FOR: Readonly<Record<FactDefinition['type'], readonly Operator[]>> = {
  number: [
    'equal',
    'notEqual',
    'lessThan',
    'lessThanInclusive',
    'greaterThan',
    'greaterThanInclusive',
    'in',
    'notIn',
  ],
  boolean: ['equal', 'notEqual', 'in', 'notIn'],
  string: ['equal', 'notEqual', 'in', 'notIn'],
  'string[]': ['contains', 'doesNotContain'],
};
// Every operator is reachable from some fact type.
if (new Set(Object.values(OPERATORS_FOR).flat()).size !== OPERATORS.length)
  throw new Error('operator missing');

const WORDS = ['RUNNING', 'FAILED', 'oom', 'kafka-timeout', 'x'];

function literal(rng: Random, type: 'number' | 'boolean' | 'string'): Scalar {
  if (type === 'number')
    return rng.pick([0, 1, 3, 0.5, 0.8, 0.9, 60, 600, Math.round(rng.next() * 1000) / 100]);
  if (type === 'boolean') return rng.chance(0.5);
  return rng.pick(WORDS);
}

interface TreeContext {
  rng: Random;
  readable: readonly FactDefinition[];
  params: Record<string, ParamValue>;
}

function randomLeaf(ctx: TreeContext): LeafCondition {
  const { rng } = ctx;
  const def = rng.pick(ctx.readable);
  const operator = rng.pick(OPERATORS_FOR[def.type]);
  const listValue = operator === 'in' || operator === 'notIn';
  const elementType = def.type === 'string[]' ? 'string' : def.type;
  let value: ConditionValue;
  const sameType = ctx.readable.filter(
    d => d.type === (listValue ? 'string[]' : elementType) && d.name !== def.name,
  );
  if (rng.chance(0.2) && sameType.length > 0 && (!listValue || elementType === 'string')) {
    value = { fact: rng.pick(sameType).name };
  } else {
    const v: ParamValue = listValue
      ? Array.from({ length: 1 + rng.int(3) }, () => literal(rng, elementType))
      : literal(rng, elementType);
    if (rng.chance(0.3)) {
      const name = `p${Object.keys(ctx.params).length}`;
      ctx.params[name] = v;
      value = { param: name };
    } else value = v;
  }
  return { fact: def.name, operator, value };
}

function randomCondition(ctx: TreeContext, depth: number): Condition {
  const { rng } = ctx;
  if (depth === 0 || rng.chance(0.3)) return randomLeaf(ctx);
  const children = (): Condition[] =>
    Array.from({ length: 1 + rng.int(3) }, () => randomCondition(ctx, depth - 1));
  switch (rng.int(3)) {
    case 0:
      return { all: children() };
    case 1:
      return { any: children() };
    default:
      return { not: randomCondition(ctx, depth - 1) };
  }
}

/** A random, well-typed rule over dictionary facts readable from a random scope. */
export function randomRule(rng: Random, n: number): Rule {
  const scope = rng.pick(SCOPES);
  const readable = READABLE_SCOPES[scope].flatMap(s => factsOf(s));
  const ctx: TreeContext = { rng, readable, params: {} };
  const root = randomCondition(ctx, 3);
  const conditions: Condition = 'fact' in root ? { all: [root] } : root;
  return {
    id: `random-${n}`,
    version: 1,
    scope,
    category: 'config',
    severity: 'low',
    title: 'random',
    conditions,
    forMs: 0,
    params: ctx.params,
    action: { kind: 'advice', text: 'random', params: {} },
    requires: [],
    optionalFacts: [],
    file: `random-${n}.json`,
  };
}

/** The rule as a rule file would spell it, for the validator. */
export function toRuleFile(rule: Rule): string {
  return JSON.stringify({
    id: rule.id,
    version: rule.version,
    scope: rule.scope,
    category: rule.category,
    severity: rule.severity,
    title: rule.title,
    conditions: rule.conditions,
    for: rule.forMs,
    params: rule.params,
    action: rule.action,
    requires: rule.requires,
    optionalFacts: rule.optionalFacts,
  });
}
