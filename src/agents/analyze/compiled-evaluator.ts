import { READABLE_SCOPES, subjectsOfScope } from '../../domain/index.js';
import type {
  Condition,
  FactMap,
  FactValue,
  JobFacts,
  LeafCondition,
  Operator,
  ParamOverrides,
  ParamValue,
  Rule,
  Scope,
  Truth,
} from '../../domain/index.js';
import type { RuleEvaluation, RuleEvaluator } from './rule-evaluator.js';

/**
 * Rules compiled once into closures. A condition tree becomes a tree of functions over
 * (own facts, job facts, cluster facts, param overrides) that returns a three-valued truth:
 * evaluation walks no JSON and allocates nothing but the results.
 *
 * Semantics (ARCHITECTURE §3): a leaf whose fact, compared fact or param is absent is unknown,
 * or false when that fact is one of the rule's `optionalFacts`; `all` is false if any child is
 * false, else unknown if any is unknown; `any` is true if any child is true, else unknown if any
 * is unknown; `not(unknown)` is unknown. On present facts the operators are json-rules-engine's
 * default operators, differential-tested against it.
 */

const F = 0;
const T = 1;
const U = 2;
type Tri = typeof F | typeof T | typeof U;
const TRUTH: readonly [Truth, Truth, Truth] = ['false', 'true', 'unknown'];

type Overrides = Readonly<Record<string, ParamValue>> | undefined;
type Compiled = (own: FactMap, job: FactMap, cluster: FactMap, overrides: Overrides) => Tri;
type Getter = (own: FactMap, job: FactMap, cluster: FactMap) => FactValue | undefined;
type Operand = FactValue | ParamValue;

export class RuleCompileError extends Error {
  readonly code = 'RULE_COMPILE';
  constructor(
    message: string,
    readonly ruleId: string,
  ) {
    super(message);
    this.name = 'RuleCompileError';
  }
}

/** json-rules-engine's `numberValidator`: `Number.parseFloat(x).toString() !== 'NaN'`. */
function numberLike(x: Operand): boolean {
  return !Number.isNaN(typeof x === 'number' ? x : Number.parseFloat(String(x)));
}

/** `b.indexOf(a)` as json-rules-engine calls it; values without indexOf find nothing. */
function indexIn(list: Operand, item: Operand): number {
  if (Array.isArray(list)) return (list as readonly Operand[]).indexOf(item);
  return typeof list === 'string' ? list.indexOf(String(item)) : -1;
}

/**
 * json-rules-engine's numeric operators: the number validator on the fact, then JavaScript's own
 * relational operator on whatever the operands are.
 */
function relational(cmp: (a: number, b: number) => boolean): (fact: Operand, value: Operand) => boolean {
  return (a, b) => numberLike(a) && cmp(a as number, b as number);
}

const OPERATORS: Readonly<Record<Operator, (fact: Operand, value: Operand) => boolean>> = {
  equal: (a, b) => a === b,
  notEqual: (a, b) => a !== b,
  in: (a, b) => indexIn(b, a) > -1,
  notIn: (a, b) => indexIn(b, a) === -1,
  contains: (a, b) => Array.isArray(a) && indexIn(a, b) > -1,
  doesNotContain: (a, b) => Array.isArray(a) && indexIn(a, b) === -1,
  lessThan: relational((a, b) => a < b),
  lessThanInclusive: relational((a, b) => a <= b),
  greaterThan: relational((a, b) => a > b),
  greaterThanInclusive: relational((a, b) => a >= b),
};

/** Reads a fact in lookup order: the subject's own facts, then the job's, then the cluster's. */
function getter(scope: Scope, name: string): Getter {
  // READABLE_SCOPES lists the rule's own scope first, then [job, cluster], [cluster] or nothing.
  const outer = READABLE_SCOPES[scope].length - 1;
  if (outer === 2) return (o, j, c) => o[name] ?? j[name] ?? c[name];
  if (outer === 1) return (o, _j, c) => o[name] ?? c[name];
  return o => o[name];
}

interface RuleContext {
  rule: Rule;
  optional: ReadonlySet<string>;
  /** Every fact the rule reads, for the evidence. */
  reads: Map<string, Getter>;
}

/** A getter for the fact, recorded as read (once per name: the map keeps the last). */
function read(ctx: RuleContext, name: string): Getter {
  const get = getter(ctx.rule.scope, name);
  ctx.reads.set(name, get);
  return get;
}

function compileLeaf(ctx: RuleContext, leaf: LeafCondition): Compiled {
  const op = Object.hasOwn(OPERATORS, leaf.operator) ? OPERATORS[leaf.operator] : undefined;
  if (op === undefined) throw new RuleCompileError(`unknown operator "${leaf.operator}"`, ctx.rule.id);
  const fact = read(ctx, leaf.fact);
  const factAbsent: Tri = ctx.optional.has(leaf.fact) ? F : U;
  const value = leaf.value;
  if (typeof value === 'object' && 'fact' in value) {
    const other = read(ctx, value.fact);
    const otherAbsent: Tri = ctx.optional.has(value.fact) ? F : U;
    return (o, j, c) => {
      const a = fact(o, j, c);
      if (a === undefined) return factAbsent;
      const b = other(o, j, c);
      if (b === undefined) return otherAbsent;
      return op(a, b) ? T : F;
    };
  }
  if (typeof value === 'object' && 'param' in value) {
    const name = value.param;
    const params = ctx.rule.params;
    const fallback = Object.hasOwn(params, name) ? params[name] : undefined;
    return (o, j, c, overrides) => {
      const a = fact(o, j, c);
      if (a === undefined) return factAbsent;
      const b = overrides !== undefined && Object.hasOwn(overrides, name) ? overrides[name] : fallback;
      if (b === undefined) return U;
      return op(a, b) ? T : F;
    };
  }
  return (o, j, c) => {
    const a = fact(o, j, c);
    if (a === undefined) return factAbsent;
    return op(a, value) ? T : F;
  };
}

function compileCondition(ctx: RuleContext, condition: Condition): Compiled {
  if ('all' in condition) {
    const children = condition.all.map(c => compileCondition(ctx, c));
    return (o, j, c, p) => {
      let result: Tri = T;
      for (const child of children) {
        const t = child(o, j, c, p);
        if (t === F) return F;
        if (t === U) result = U;
      }
      return result;
    };
  }
  if ('any' in condition) {
    const children = condition.any.map(c => compileCondition(ctx, c));
    return (o, j, c, p) => {
      let result: Tri = F;
      for (const child of children) {
        const t = child(o, j, c, p);
        if (t === T) return T;
        if (t === U) result = U;
      }
      return result;
    };
  }
  if ('not' in condition) {
    const child = compileCondition(ctx, condition.not);
    return (o, j, c, p) => {
      const t = child(o, j, c, p);
      return t === U ? U : t === T ? F : T;
    };
  }
  return compileLeaf(ctx, condition);
}

interface CompiledRule {
  rule: Rule;
  truth: Compiled;
  reads: readonly (readonly [string, Getter])[];
}

function compileRule(rule: Rule): CompiledRule {
  const ctx: RuleContext = { rule, optional: new Set(rule.optionalFacts), reads: new Map() };
  const truth = compileCondition(ctx, rule.conditions);
  return { rule, truth, reads: [...ctx.reads] };
}

/** Compiles validated rules (see src/config/rule-files.ts) into a RuleEvaluator. */
export function compileRules(rules: readonly Rule[]): RuleEvaluator {
  const compiled = rules.map(compileRule);
  return {
    rules: [...rules],
    evaluate(facts: JobFacts, overrides?: ParamOverrides): RuleEvaluation[] {
      const job = facts.job.facts;
      const cluster = facts.cluster.facts;
      const out: RuleEvaluation[] = [];
      for (const { rule, truth, reads } of compiled) {
        const ruleOverrides =
          overrides !== undefined && Object.hasOwn(overrides, rule.id) ? overrides[rule.id] : undefined;
        for (const { subject, facts: own } of subjectsOfScope(facts, rule.scope)) {
          const evidence: Record<string, FactValue> = {};
          for (const [name, get] of reads) {
            const v = get(own, job, cluster);
            if (v !== undefined) evidence[name] = v;
          }
          out.push({ rule, subject, truth: TRUTH[truth(own, job, cluster, ruleOverrides)], evidence });
        }
      }
      return out;
    },
  };
}
