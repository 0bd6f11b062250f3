import type { FactValue } from './facts.js';
import type { Scope } from './scope.js';
import type { Category, Severity } from './severity.js';

/**
 * Operators: exactly json-rules-engine's defaults, which define their meaning on present, typed
 * facts. The compiled evaluator is differential-tested against json-rules-engine.
 */
export const NUMERIC_OPERATORS = [
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
] as const;
export const OPERATORS = [
  'equal',
  'notEqual',
  ...NUMERIC_OPERATORS,
  'in',
  'notIn',
  'contains',
  'doesNotContain',
] as const;
export type Operator = (typeof OPERATORS)[number];

export type Scalar = number | string | boolean;
export type ParamValue = Scalar | readonly Scalar[];

/** A condition's right-hand side: a literal, another fact, or a rule param (overridable per job). */
export type ConditionValue = Scalar | readonly Scalar[] | { fact: string } | { param: string };

export interface LeafCondition {
  fact: string;
  operator: Operator;
  value: ConditionValue;
}
export type Condition = LeafCondition | { all: Condition[] } | { any: Condition[] } | { not: Condition };

export const ACTION_KINDS = ['advice', 'block-scaling', 'allow-scaling'] as const;
export type RuleActionKind = (typeof ACTION_KINDS)[number];

export interface RuleAction {
  kind: RuleActionKind;
  /** Text for a non-expert, with `{{subject.name}}`, `{{params.x}}` and `{{<fact name>}}` filled in. */
  text: string;
  params: Readonly<Record<string, ParamValue>>;
}

/** A validated rule. Durations are milliseconds. */
export interface Rule {
  id: string;
  version: number;
  scope: Scope;
  category: Category;
  severity: Severity;
  title: string;
  description?: string;
  conditions: Condition;
  /** How long the conditions must hold before the rule fires. */
  forMs: number;
  /** How long it keeps firing after the conditions stop holding; undefined = 2 ticks. */
  keepFiringForMs?: number;
  params: Readonly<Record<string, ParamValue>>;
  action: RuleAction;
  /** Two-stage rules: fire only while every listed rule fires (same subject, or any subject of another scope). */
  requires: readonly string[];
  /** Facts whose absence makes their condition false instead of unknown. */
  optionalFacts: readonly string[];
  /** Where the rule came from, for error messages. */
  file: string;
}

/** Three-valued truth of a condition over possibly absent facts. */
export type Truth = 'true' | 'false' | 'unknown';

/** Per-job rule param overrides: rule id → param → value. */
export type ParamOverrides = Readonly<Record<string, Readonly<Record<string, ParamValue>>>>;

export interface FactLookup {
  get(name: string): FactValue | undefined;
}
