import type { FactValue, JobFacts, ParamOverrides, Rule, Subject, Truth } from '../../domain/index.js';

/** The outcome of one rule's conditions on one subject, before `requires`, `for` and `keepFiringFor`. */
export interface RuleEvaluation {
  rule: Rule;
  subject: Subject;
  truth: Truth;
  /** Values of the facts the conditions read, where present. */
  evidence: Record<string, FactValue>;
}

/**
 * Evaluates every rule's conditions over every subject of the rule's scope, with three-valued
 * logic over absent facts (ARCHITECTURE §3). Implementations are pure and safe to call
 * concurrently from many cycles (json-rules-engine's Engine is not: one per run in tests).
 */
export interface RuleEvaluator {
  readonly rules: readonly Rule[];
  evaluate(facts: JobFacts, overrides?: ParamOverrides): RuleEvaluation[];
}
