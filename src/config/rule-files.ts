import type { Dirent } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { z } from 'zod';
import { actionTextPlaceholders } from '../domain/action-text.js';
import { packageRoot } from '../domain/package-root.js';
import {
  CATEGORIES,
  FACT_DICTIONARY,
  factDefinition,
  NUMERIC_OPERATORS,
  OPERATORS,
  READABLE_SCOPES,
  SCOPES,
  SEVERITIES,
  tryParseDuration,
} from '../domain/index.js';
import type {
  Category,
  Condition,
  ConditionValue,
  Operator,
  ParamValue,
  Rule,
  Scope,
  Severity,
} from '../domain/index.js';
import { RAW_CONDITION_NODE, RawRuleFileSchema } from './rule-schema.js';
import type { RawRuleFile } from './rule-schema.js';

/**
 * Loads and validates the rule library: `rules/**\/*.json`, one rule per file, except `tests/`,
 * `log-patterns.json` and `*.schema.json`. Every problem of every file is reported, each with
 * the file, the rule id and the JSON path, so one `autopilot rules validate` run shows them all.
 */

export interface RuleFileError {
  /** Path relative to the rules directory, with forward slashes. */
  file: string;
  ruleId?: string;
  /** JSON path of the offending value, e.g. `$.conditions.all[1].operator`. */
  path: string;
  message: string;
  /** JSON syntax errors only (1-based). */
  line?: number;
  column?: number;
}

export interface RuleSource {
  file: string;
  text: string;
}

export interface RuleLibrary {
  /** Every rule when the library is valid; empty when there is any error (never a partial library). */
  rules: Rule[];
  errors: RuleFileError[];
}

export class RuleLoadError extends Error {
  readonly code = 'RULES_INVALID';
  constructor(readonly errors: readonly RuleFileError[]) {
    super('the rule library has errors');
    this.name = 'RuleLoadError';
  }
}

export function formatRuleFileError(e: RuleFileError): string {
  if (e.line !== undefined) return `${e.file}:${e.line}:${e.column ?? 1}: ${e.message}`;
  return `${e.file}${e.ruleId === undefined ? '' : ` [${e.ruleId}]`} ${e.path}: ${e.message}`;
}

/** The `rules/` directory shipped with the package (works from `dist/` too). */
export function defaultRulesDir(): string {
  return join(packageRoot(), 'rules');
}

function isRuleFile(file: string): boolean {
  return (
    file.endsWith('.json') &&
    !file.endsWith('.schema.json') &&
    file !== 'log-patterns.json' &&
    !file.startsWith('tests/')
  );
}

/**
 * A file of the library: a regular file, or a symlink to one, outside any `..`-prefixed directory.
 * A Kubernetes ConfigMap volume is exactly that shape: `name.json -> ..data/name.json`, with the
 * real files in a hidden `..<timestamp>` directory that is swapped atomically on update.
 */
async function isLibraryFile(entry: Dirent, path: string): Promise<boolean> {
  if (path.split('/').some(segment => segment.startsWith('..'))) return false;
  if (entry.isFile()) return true;
  if (!entry.isSymbolicLink()) return false;
  return stat(join(entry.parentPath, entry.name)).then(
    s => s.isFile(),
    () => false,
  );
}

export async function readRuleSources(dir: string): Promise<RuleSource[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const candidates = entries.map(e => ({
    entry: e,
    file: relative(dir, join(e.parentPath, e.name)).split(sep).join('/'),
  }));
  const kept = await Promise.all(candidates.map(c => isLibraryFile(c.entry, c.file)));
  const files = candidates
    .filter((c, i) => kept[i] === true && isRuleFile(c.file))
    .map(c => c.file)
    .sort();
  return Promise.all(files.map(async file => ({ file, text: await readFile(join(dir, file), 'utf8') })));
}

/** Loads the library; returns its rules (when valid) and every error. */
export async function loadRuleLibrary(dir: string): Promise<RuleLibrary> {
  return validateRuleSources(await readRuleSources(dir));
}

/** Loads the library or throws a RuleLoadError listing every error. */
export async function loadRules(dir: string = defaultRulesDir()): Promise<Rule[]> {
  const { rules, errors } = await loadRuleLibrary(dir);
  if (errors.length > 0) throw new RuleLoadError(errors);
  return rules;
}

// ── JSON syntax ──────────────────────────────────────────────────────────────────────────────

/**
 * Finds the first JSON syntax error. JSON.parse says *that* a text is invalid, but not always
 * where (`Unexpected token ','` carries no position), so this small recursive-descent scanner
 * walks the grammar and returns the offset where it breaks.
 */
export function locateJsonError(text: string): { offset: number; message: string } | undefined {
  let i = 0;
  const fail = (message: string): never => {
    throw new JsonSyntax(i, message);
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const expect = (ch: string): void => {
    ws();
    if (text.charAt(i) !== ch) fail(i >= text.length ? 'unexpected end of input' : `expected '${ch}'`);
    i++;
  };
  const literal = (word: string): void => {
    if (!text.startsWith(word, i)) fail('unexpected character');
    i += word.length;
  };
  const string = (): void => {
    i++;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const ch = text.charCodeAt(i);
      if (ch === 0x22) break;
      if (ch < 0x20) fail('control character in string');
      if (ch === 0x5c) {
        i++;
        if (text.charAt(i) === 'u') {
          for (let k = 0; k < 4; k++) {
            i++;
            if (!/[0-9a-fA-F]/.test(text.charAt(i))) fail('bad unicode escape in string');
          }
        } else if (i >= text.length || !'"\\/bfnrt'.includes(text.charAt(i))) fail('bad escape in string');
      }
      i++;
    }
    i++;
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text.charAt(i))) fail(i >= text.length ? 'unexpected end of input' : 'bad number');
    while (/[0-9]/.test(text.charAt(i))) i++;
  };
  const number = (): void => {
    if (text.charAt(i) === '-') i++;
    if (text.charAt(i) === '0') {
      i++;
      if (/[0-9]/.test(text.charAt(i))) fail('bad number: leading zero');
    } else digits();
    if (text.charAt(i) === '.') {
      i++;
      digits();
    }
    if (/[eE]/.test(text.charAt(i))) {
      i++;
      if (/[+-]/.test(text.charAt(i))) i++;
      digits();
    }
  };
  const list = (close: string, item: () => void): void => {
    i++;
    ws();
    if (text.charAt(i) === close) {
      i++;
      return;
    }
    for (;;) {
      item();
      ws();
      const next = text.charAt(i);
      if (next === close) break;
      if (next !== ',') fail(i >= text.length ? 'unexpected end of input' : `expected ',' or '${close}'`);
      i++;
    }
    i++;
  };
  const value = (): void => {
    ws();
    const ch = text.charAt(i);
    if (ch === '{') {
      list('}', () => {
        ws();
        if (text.charAt(i) !== '"') fail('expected a double-quoted property name');
        string();
        expect(':');
        value();
      });
    } else if (ch === '[') list(']', value);
    else if (ch === '"') string();
    else if (ch === '-' || (ch >= '0' && ch <= '9')) number();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else fail(i >= text.length ? 'unexpected end of input' : 'unexpected character');
  };
  try {
    value();
    ws();
    if (i < text.length) fail('unexpected text after the JSON value');
    return undefined;
  } catch (e) {
    if (e instanceof JsonSyntax) return { offset: e.offset, message: e.message };
    throw e;
  }
}

class JsonSyntax extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset).split('\n');
  return { line: before.length, column: (before.at(-1)?.length ?? 0) + 1 };
}

/** Parses one JSON file of the library, or returns its syntax error with line and column. */
export function parseJsonSource({ file, text }: RuleSource): { json: unknown } | { error: RuleFileError } {
  try {
    return { json: JSON.parse(text) as unknown };
  } catch (e) {
    const located = locateJsonError(text) ?? {
      offset: 0,
      message: e instanceof Error ? e.message : 'invalid JSON',
    };
    return {
      error: {
        file,
        path: '$',
        ...lineColumn(text, located.offset),
        message: `JSON syntax error: ${located.message}`,
      },
    };
  }
}

/** One error per zod issue, each at its JSON path below `base`. */
export function zodErrors(
  file: string,
  error: z.ZodError,
  base: readonly PropertyKey[] = [],
  ruleId?: string,
): RuleFileError[] {
  const at = (path: readonly PropertyKey[], message: string): RuleFileError => ({
    file,
    ...(ruleId === undefined ? {} : { ruleId }),
    path: jsonPath(path),
    message,
  });
  return error.issues.flatMap(i =>
    i.code === 'unrecognized_keys'
      ? i.keys.map(k => at([...base, ...i.path, k], 'unknown property'))
      : [at([...base, ...i.path], i.message)],
  );
}

// ── names ────────────────────────────────────────────────────────────────────────────────────

/** Optimal string alignment distance (Levenshtein plus adjacent transpositions). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) (d[0] as number[])[j] = j;
  for (let i = 1; i <= a.length; i++) {
    const row = d[i] as number[];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min((d[i - 1]?.[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (d[i - 1]?.[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, (d[i - 2]?.[j - 2] ?? 0) + 1);
      }
      row[j] = best;
    }
  }
  return d[a.length]?.[b.length] ?? 0;
}

/**
 * Up to `limit` candidates within edit distance 3 (and a third of the name's length) of `name`.
 * A candidate's prefix of the same length also counts, one step further away, so that
 * `vertex.busyRatoi` finds `vertex.busyRatio.max`.
 */
export function nearestNames(name: string, candidates: Iterable<string>, limit = 3): string[] {
  const max = Math.min(3, Math.floor(name.length / 3));
  return [...candidates]
    .map(c => ({
      c,
      full: editDistance(name, c),
      score: Math.min(editDistance(name, c), editDistance(name, c.slice(0, name.length)) + 1),
    }))
    .filter(x => x.score <= max)
    .sort((x, y) => x.score - y.score || x.full - y.full || (x.c < y.c ? -1 : 1))
    .slice(0, limit)
    .map(x => x.c);
}

// ── one rule ─────────────────────────────────────────────────────────────────────────────────

type Segment = string | number;

/** `$.a.b[0]["odd key"]` for a list of property names and indexes. */
export function jsonPath(segments: readonly PropertyKey[]): string {
  return segments
    .map(s =>
      typeof s === 'number'
        ? `[${s}]`
        : /^[A-Za-z_$][\w$]*$/.test(String(s))
          ? `.${String(s)}`
          : `[${JSON.stringify(String(s))}]`,
    )
    .reduce((acc, s) => acc + s, '$');
}

type ValueType =
  'number' | 'string' | 'boolean' | 'number[]' | 'string[]' | 'boolean[]' | 'empty[]' | 'mixed[]';

function typeOfValue(v: ParamValue): ValueType {
  if (!Array.isArray(v)) return typeof v as 'number' | 'string' | 'boolean';
  const kinds = new Set(v.map(x => typeof x));
  if (kinds.size === 0) return 'empty[]';
  return kinds.size === 1 ? (`${[...kinds][0] as string}[]` as ValueType) : 'mixed[]';
}

const NUMERIC: ReadonlySet<string> = new Set(NUMERIC_OPERATORS);
const LIST_FACT_OPERATORS: ReadonlySet<string> = new Set(['contains', 'doesNotContain']);
const LIST_VALUE_OPERATORS: ReadonlySet<string> = new Set(['in', 'notIn']);

class RuleChecker {
  readonly issues: RuleFileError[] = [];
  /** Facts the conditions read (leaf facts and `{fact}` values). */
  readonly reads = new Set<string>();
  /** Set once the rule's scope is known to be valid. */
  scope: Scope | undefined;

  constructor(
    readonly file: string,
    readonly ruleId: string | undefined,
    readonly params: Readonly<Record<string, ParamValue>>,
  ) {}

  issue(path: readonly PropertyKey[], message: string): void {
    this.issues.push({
      file: this.file,
      ...(this.ruleId === undefined ? {} : { ruleId: this.ruleId }),
      path: jsonPath(path),
      message,
    });
  }

  zodIssues(error: z.ZodError, base: readonly Segment[]): void {
    this.issues.push(...zodErrors(this.file, error, base, this.ruleId));
  }

  /** A known fact that a rule of this scope may read, or an error. Returns its type. */
  fact(name: string, path: readonly Segment[]): ValueType | undefined {
    const def = factDefinition(name);
    if (def === undefined) {
      const near = nearestNames(name, FACT_DICTIONARY.keys());
      this.issue(path, `unknown fact "${name}"${near.length > 0 ? ` (nearest: ${near.join(', ')})` : ''}`);
      return undefined;
    }
    this.reads.add(name);
    if (this.scope !== undefined && !READABLE_SCOPES[this.scope].includes(def.scope)) {
      this.issue(
        path,
        `fact "${name}" belongs to scope ${def.scope}; a ${this.scope} rule reads only ${READABLE_SCOPES[this.scope].join(', ')} facts`,
      );
      return undefined;
    }
    return def.type;
  }

  condition(raw: unknown, path: readonly Segment[]): Condition | undefined {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      this.issue(
        path,
        Array.isArray(raw) ? 'a condition is one object, not an array' : 'a condition is an object',
      );
      return undefined;
    }
    if ('condition' in raw) {
      this.issue(
        [...path, 'condition'],
        'named condition references are not supported; write the condition inline',
      );
      return undefined;
    }
    if ('path' in raw) {
      this.issue([...path, 'path'], '"path" is not supported; facts are flat values, name the fact itself');
      return undefined;
    }
    const kind = (['all', 'any', 'not'] as const).find(k => k in raw) ?? 'leaf';
    switch (kind) {
      case 'all':
      case 'any': {
        const parsed = RAW_CONDITION_NODE[kind].safeParse(raw);
        if (!parsed.success) return void this.zodIssues(parsed.error, path);
        const list = 'all' in parsed.data ? parsed.data.all : parsed.data.any;
        const children = list.map((c, i) => this.condition(c, [...path, kind, i]));
        if (!children.every(c => c !== undefined)) return undefined;
        return kind === 'all' ? { all: children } : { any: children };
      }
      case 'not': {
        const parsed = RAW_CONDITION_NODE.not.safeParse(raw);
        if (!parsed.success) return void this.zodIssues(parsed.error, path);
        const child = this.condition(parsed.data.not, [...path, 'not']);
        return child === undefined ? undefined : { not: child };
      }
      case 'leaf': {
        const parsed = RAW_CONDITION_NODE.leaf.safeParse(raw);
        if (!parsed.success) return void this.zodIssues(parsed.error, path);
        return this.leaf(parsed.data.fact, parsed.data.operator, parsed.data.value, path);
      }
    }
  }

  private leaf(
    fact: string,
    operator: string,
    value: ConditionValue,
    path: readonly Segment[],
  ): Condition | undefined {
    const before = this.issues.length;
    if (!(OPERATORS as readonly string[]).includes(operator)) {
      const closest = [...OPERATORS].sort((a, b) => editDistance(operator, a) - editDistance(operator, b))[0];
      this.issue(
        [...path, 'operator'],
        `unknown operator "${operator}" (did you mean "${closest ?? 'equal'}"?)`,
      );
    }
    const factType = this.fact(fact, [...path, 'fact']);
    const valueType = this.valueType(value, [...path, 'value']);
    if (factType !== undefined && valueType !== undefined && this.issues.length === before) {
      const problem = typeProblem(fact, factType, operator, valueType);
      if (problem !== undefined) this.issue([...path, 'value'], problem);
    }
    return this.issues.length === before ? { fact, operator: operator as Operator, value } : undefined;
  }

  private valueType(value: ConditionValue, path: readonly Segment[]): ValueType | undefined {
    if (typeof value === 'object' && 'fact' in value) return this.fact(value.fact, [...path, 'fact']);
    if (typeof value !== 'object' || !('param' in value)) {
      const t = typeOfValue(value);
      if (t === 'mixed[]') this.issue(path, 'all values of a list must have the same type');
      return t;
    }
    const param = this.params[value.param];
    if (!Object.hasOwn(this.params, value.param) || param === undefined) {
      const near = nearestNames(value.param, Object.keys(this.params));
      this.issue(
        [...path, 'param'],
        `param "${value.param}" is not defined in params${near.length > 0 ? ` (did you mean "${near[0]}"?)` : ''}`,
      );
      return undefined;
    }
    return typeOfValue(param);
  }
}

/** Why `fact <operator> value` is ill-typed, or undefined when it is fine. */
function typeProblem(
  fact: string,
  factType: ValueType,
  operator: string,
  valueType: ValueType,
): string | undefined {
  if (NUMERIC.has(operator)) {
    if (factType !== 'number')
      return `operator "${operator}" compares numbers, but fact "${fact}" is a ${factType}`;
    if (valueType !== 'number') return `operator "${operator}" needs a number value, got a ${valueType}`;
    return undefined;
  }
  if (LIST_FACT_OPERATORS.has(operator)) {
    if (factType !== 'string[]')
      return `operator "${operator}" needs a list fact, but fact "${fact}" is a ${factType}`;
    if (valueType !== 'string')
      return `operator "${operator}" looks for one string in the list, got a ${valueType}`;
    return undefined;
  }
  if (factType === 'string[]')
    return `operator "${operator}" cannot compare the list fact "${fact}"; use contains or doesNotContain`;
  if (LIST_VALUE_OPERATORS.has(operator)) {
    if (!valueType.endsWith('[]')) return `operator "${operator}" needs an array value, got a ${valueType}`;
    if (valueType !== 'empty[]' && valueType !== `${factType}[]`) {
      return `fact "${fact}" is a ${factType}, but the "${operator}" list holds ${valueType.slice(0, -2)}s`;
    }
    return undefined;
  }
  if (valueType !== factType)
    return `fact "${fact}" is a ${factType} but is compared with ${operator} to a ${valueType}`;
  return undefined;
}

function checkPlaceholders(c: RuleChecker, raw: RawRuleFile): void {
  for (const name of actionTextPlaceholders(raw.action.text)) {
    const path = ['action', 'text'];
    if (name === 'subject.name' || name === 'subject.id') continue;
    if (name.startsWith('params.')) {
      const key = name.slice('params.'.length);
      if (!Object.hasOwn(raw.params, key) && !Object.hasOwn(raw.action.params, key)) {
        c.issue(path, `placeholder {{${name}}} names no param of this rule`);
      }
      continue;
    }
    if (factDefinition(name) !== undefined) {
      c.fact(name, path);
      continue;
    }
    const near = nearestNames(name, ['subject.name', 'subject.id', ...FACT_DICTIONARY.keys()]);
    c.issue(
      path,
      `placeholder {{${name}}} does not resolve${near.length > 0 ? ` (nearest: ${near.join(', ')})` : ''}; use subject.name, subject.id, params.<name> or a fact name`,
    );
  }
}

function checkEnum<T extends string>(
  c: RuleChecker,
  value: string,
  allowed: readonly T[],
  key: string,
): T | undefined {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  const near = allowed.find(a => editDistance(value, a) <= Math.min(2, value.length / 3));
  c.issue(
    [key],
    `unknown ${key} "${value}"${near === undefined ? '' : ` (did you mean "${near}"?)`}; one of: ${allowed.join(', ')}`,
  );
  return undefined;
}

function checkDuration(c: RuleChecker, value: string | number | undefined, key: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = tryParseDuration(value);
  if (ms === undefined)
    c.issue([key], `not a duration: ${JSON.stringify(value)} (use e.g. "30s", "5m", "1h")`);
  return ms;
}

interface Parsed {
  rule?: Rule;
  /** The rule id and requires, when the shape was readable, for the library-wide checks. */
  id?: string;
  requires: readonly string[];
  errors: RuleFileError[];
}

function parseRuleSource(source: RuleSource): Parsed {
  const { file } = source;
  const parsedJson = parseJsonSource(source);
  if ('error' in parsedJson) return { requires: [], errors: [parsedJson.error] };
  const json = parsedJson.json;
  const shape = RawRuleFileSchema.safeParse(json);
  if (!shape.success) {
    const id =
      typeof json === 'object' && json !== null && 'id' in json && typeof json.id === 'string'
        ? json.id
        : undefined;
    const c = new RuleChecker(file, id, {});
    c.zodIssues(shape.error, []);
    return { ...(id === undefined ? {} : { id }), requires: [], errors: c.issues };
  }
  const raw = shape.data;
  const c = new RuleChecker(file, raw.id, raw.params);
  const scope = checkEnum<Scope>(c, raw.scope, SCOPES, 'scope');
  c.scope = scope;
  const category = checkEnum<Category>(c, raw.category, CATEGORIES, 'category');
  const severity = checkEnum<Severity>(c, raw.severity, SEVERITIES, 'severity');
  const forMs = checkDuration(c, raw.for ?? 0, 'for');
  const keepFiringForMs = checkDuration(c, raw.keepFiringFor, 'keepFiringFor');
  let conditions: Condition | undefined;
  if (typeof raw.conditions === 'object' && raw.conditions !== null && !('fact' in raw.conditions)) {
    conditions = c.condition(raw.conditions, ['conditions']);
  } else {
    c.issue(['conditions'], 'conditions must be an object with "all", "any" or "not" at the top');
  }
  raw.optionalFacts.forEach((name, i) => {
    if (!c.reads.has(name))
      c.issue(['optionalFacts', i], `optional fact "${name}" is not read by the conditions`);
  });
  checkPlaceholders(c, raw);
  const base = { id: raw.id, requires: raw.requires, errors: c.issues };
  if (c.issues.length > 0 || scope === undefined || category === undefined || severity === undefined)
    return base;
  if (conditions === undefined || forMs === undefined) return base;
  const rule: Rule = {
    id: raw.id,
    version: raw.version,
    scope,
    category,
    severity,
    title: raw.title,
    ...(raw.description === undefined ? {} : { description: raw.description }),
    conditions,
    forMs,
    ...(keepFiringForMs === undefined ? {} : { keepFiringForMs }),
    params: raw.params,
    action: { kind: raw.action.kind, text: raw.action.text, params: raw.action.params },
    requires: raw.requires,
    optionalFacts: raw.optionalFacts,
    file,
  };
  return { ...base, rule };
}

// ── the library ──────────────────────────────────────────────────────────────────────────────

interface Node {
  id: string;
  file: string;
  requires: readonly string[];
}

function duplicateErrors(nodes: readonly Node[]): RuleFileError[] {
  const first = new Map<string, string>();
  const errors: RuleFileError[] = [];
  for (const n of nodes) {
    const earlier = first.get(n.id);
    if (earlier === undefined) first.set(n.id, n.file);
    else
      errors.push({
        file: n.file,
        ruleId: n.id,
        path: '$.id',
        message: `duplicate rule id "${n.id}", also defined in ${earlier}`,
      });
  }
  return errors;
}

function requiresErrors(nodes: readonly Node[]): RuleFileError[] {
  const byId = new Map<string, Node>();
  for (const n of nodes) if (!byId.has(n.id)) byId.set(n.id, n);
  const errors: RuleFileError[] = [];
  for (const n of byId.values()) {
    n.requires.forEach((dep, i) => {
      if (!byId.has(dep)) {
        const near = nearestNames(dep, byId.keys(), 1);
        errors.push({
          file: n.file,
          ruleId: n.id,
          path: `$.requires[${i}]`,
          message: `requires unknown rule "${dep}"${near.length > 0 ? ` (did you mean "${near[0]}"?)` : ''}`,
        });
      }
    });
  }
  // Depth-first search; a back edge closes a cycle, reported once at its smallest rule id.
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string): void => {
    state.set(id, 'active');
    stack.push(id);
    for (const dep of byId.get(id)?.requires ?? []) {
      if (!byId.has(dep)) continue;
      if (state.get(dep) === 'active') {
        const cycle = stack.slice(stack.indexOf(dep));
        const start = cycle.indexOf([...cycle].sort()[0] ?? dep);
        const ordered = [...cycle.slice(start), ...cycle.slice(0, start)];
        const key = [...ordered].sort().join(' ');
        if (seen.has(key)) continue;
        seen.add(key);
        const owner = byId.get(ordered[0] ?? dep) as Node;
        const next = ordered[1] ?? ordered[0] ?? dep;
        errors.push({
          file: owner.file,
          ruleId: owner.id,
          path: `$.requires[${owner.requires.indexOf(next)}]`,
          message: `requires cycle: ${[...ordered, ordered[0]].join(' → ')}`,
        });
      } else if (state.get(dep) === undefined) visit(dep);
    }
    stack.pop();
    state.set(id, 'done');
  };
  for (const id of [...byId.keys()].sort()) if (state.get(id) === undefined) visit(id);
  return errors;
}

/** Validates rule file texts (pure; the loader's core). A library with any error yields no rules. */
export function validateRuleSources(sources: readonly RuleSource[]): RuleLibrary {
  const parsed = sources.map(parseRuleSource);
  const nodes = parsed.flatMap((p, i) =>
    p.id === undefined ? [] : [{ id: p.id, file: sources[i]?.file ?? '', requires: p.requires }],
  );
  const errors = [...parsed.flatMap(p => p.errors), ...duplicateErrors(nodes), ...requiresErrors(nodes)];
  const order = new Map(sources.map((s, i) => [s.file, i]));
  errors.sort((a, b) => (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0));
  const rules = errors.length > 0 ? [] : parsed.flatMap(p => (p.rule === undefined ? [] : [p.rule]));
  return { rules, errors };
}
