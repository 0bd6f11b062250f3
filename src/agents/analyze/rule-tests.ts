import { z } from 'zod';
import {
  factDefinition,
  NUMERIC_OPERATORS,
  type Condition,
  type FactMap,
  type FactValue,
  type FindingRecord,
  type JobFacts,
  type Rule,
  type Scope,
  type SubjectFacts,
  tryParseDuration,
} from '../../domain/index.js';
import { analyze } from './analyze.js';
import type { RuleEvaluator } from './rule-evaluator.js';

/**
 * Rule fixture tests, like `promtool test rules`: `rules/tests/<rule-id>.test.json` holds cases;
 * a case is a series of fact samples over time and the findings expected after the last one.
 * The samples go through the real evaluator and `analyze()`, so `for`, `keepFiringFor` and
 * `requires` behave exactly as in the daemon.
 *
 * A sample lists the facts present at that moment per subject (`job`, `cluster`, and maps of
 * subject id → facts for `sources`, `vertices`, `taskmanagers`, `nodes`); every other fact is
 * absent. The file's `given` facts are part of every sample; a sample sets a fact to `null` to
 * make it absent. `until` repeats a sample every tick up to that time.
 */

export const TEST_JOB_KEY = 'test-job';
export const RULE_TEST_SUFFIX = '.test.json';
const BASE_TIME = Date.UTC(2025, 0, 1);
const RETENTION_MS = 30 * 60_000;

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = tryParseDuration(v);
  if (ms === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not a duration (use e.g. "0s", "30s", "5m")' });
    return z.NEVER;
  }
  return ms;
});
const factValue = z.union([z.number(), z.boolean(), z.string(), z.array(z.string()), z.null()], {
  error: 'a fact value is a number, boolean, string, array of strings, or null (absent)',
});
const factMap = z.record(z.string(), factValue);
const subjectMaps = {
  cluster: factMap.optional(),
  job: factMap.optional(),
  sources: z.record(z.string(), factMap).optional(),
  vertices: z.record(z.string(), factMap).optional(),
  taskmanagers: z.record(z.string(), factMap).optional(),
  nodes: z.record(z.string(), factMap).optional(),
};
const sampleSchema = z.strictObject({ at: duration, until: duration.optional(), ...subjectMaps });
const scalar = z.union([z.number(), z.string(), z.boolean()]);

export const EXPECTED_STATES = ['firing', 'resolved', 'unknown', 'none'] as const;
export type ExpectedState = (typeof EXPECTED_STATES)[number];
export const CASE_KINDS = ['at', 'below', 'above', 'absent', 'scenario'] as const;
export type CaseKind = (typeof CASE_KINDS)[number];

const caseSchema = z.strictObject({
  name: z.string().min(1),
  /** at / below / above the threshold, facts absent, or any other scenario. */
  kind: z.enum(CASE_KINDS).default('scenario'),
  overrides: z.record(z.string(), z.record(z.string(), z.union([scalar, z.array(scalar)]))).optional(),
  series: z.array(sampleSchema).min(1),
  expect: z
    .array(
      z.strictObject({
        rule: z.string(),
        /** Subject id; defaults to `job` / `cluster` for rules of those scopes. */
        subject: z.string().optional(),
        state: z.enum(EXPECTED_STATES),
      }),
    )
    .min(1),
});

export const RuleTestFileSchema = z.strictObject({
  $schema: z.string().optional(),
  description: z.string().optional(),
  tick: duration.default(30_000),
  given: z.strictObject(subjectMaps).optional(),
  cases: z.array(caseSchema).min(1),
});
export type RuleTestFile = z.infer<typeof RuleTestFileSchema>;
export type RuleTestCase = RuleTestFile['cases'][number];
type Sample = z.infer<typeof sampleSchema>;
type Facts = z.infer<typeof factMap>;

export interface RuleTestIssue {
  path: (string | number)[];
  message: string;
}

const GROUPS = [
  ['cluster', 'cluster'],
  ['job', 'job'],
  ['sources', 'source'],
  ['vertices', 'vertex'],
  ['taskmanagers', 'taskmanager'],
  ['nodes', 'node'],
] as const satisfies readonly (readonly [keyof typeof subjectMaps, Scope])[];
type Group = (typeof GROUPS)[number][0];
type Subjects = Partial<Record<Group, Facts | Record<string, Facts>>>;

function typeOf(v: FactValue): string {
  return Array.isArray(v) ? 'string[]' : typeof v;
}

/** Fact names, scopes and types of one group of a sample. */
function checkFacts(facts: Facts, scope: Scope, path: (string | number)[], out: RuleTestIssue[]): void {
  for (const [name, value] of Object.entries(facts)) {
    const def = factDefinition(name);
    if (def === undefined) out.push({ path: [...path, name], message: `unknown fact "${name}"` });
    else if (def.scope !== scope)
      out.push({
        path: [...path, name],
        message: `fact "${name}" belongs to scope ${def.scope}, not ${scope}`,
      });
    else if (value !== null && typeOf(value) !== def.type)
      out.push({ path: [...path, name], message: `fact "${name}" is a ${def.type}, got a ${typeOf(value)}` });
  }
}

function checkSubjects(subjects: Subjects, path: (string | number)[], out: RuleTestIssue[]): void {
  for (const [group, scope] of GROUPS) {
    const value = subjects[group];
    if (value === undefined) continue;
    if (group === 'cluster' || group === 'job') checkFacts(value as Facts, scope, [...path, group], out);
    else
      for (const [id, facts] of Object.entries(value as Record<string, Facts>))
        checkFacts(facts, scope, [...path, group, id], out);
  }
}

const DEFAULT_SUBJECT: Partial<Record<Scope, string>> = { job: 'job', cluster: 'cluster' };

/** Semantic checks of a schema-valid test file against the rule library. */
export function checkRuleTestFile(file: RuleTestFile, rules: readonly Rule[]): RuleTestIssue[] {
  const out: RuleTestIssue[] = [];
  const byId = new Map(rules.map(r => [r.id, r]));
  if (file.given) checkSubjects(file.given, ['given'], out);
  file.cases.forEach((c, i) => {
    const series = expandSeries(c.series, file.tick);
    if (series === undefined)
      out.push({ path: ['cases', i, 'series'], message: 'sample times must increase' });
    c.series.forEach((s, j) => checkSubjects(s, ['cases', i, 'series', j], out));
    c.expect.forEach((e, j) => {
      const rule = byId.get(e.rule);
      if (rule === undefined)
        out.push({ path: ['cases', i, 'expect', j, 'rule'], message: `no rule "${e.rule}"` });
      else if (e.subject === undefined && DEFAULT_SUBJECT[rule.scope] === undefined)
        out.push({
          path: ['cases', i, 'expect', j],
          message: `a ${rule.scope} rule needs the subject id`,
        });
    });
    for (const ruleId of Object.keys(c.overrides ?? {}))
      if (!byId.has(ruleId))
        out.push({ path: ['cases', i, 'overrides', ruleId], message: `no rule "${ruleId}"` });
  });
  return out;
}

/** Samples with `until` repeated every tick; undefined when the times do not increase. */
function expandSeries(
  series: readonly Sample[],
  tickMs: number,
): { at: number; sample: Sample }[] | undefined {
  const out: { at: number; sample: Sample }[] = [];
  for (const sample of series) {
    const until = sample.until ?? sample.at;
    for (let at = sample.at; at <= until; at += tickMs) {
      const last = out.at(-1);
      if (last !== undefined && at <= last.at) return undefined;
      out.push({ at, sample });
    }
  }
  return out;
}

function merge(base: Facts | undefined, own: Facts | undefined): FactMap {
  const out: FactMap = {};
  for (const [name, value] of Object.entries({ ...base, ...own })) if (value !== null) out[name] = value;
  return out;
}

function subjectsOf(
  group: Exclude<Group, 'cluster' | 'job'>,
  scope: Scope,
  given: Subjects | undefined,
  sample: Sample,
): SubjectFacts[] {
  const base = (given?.[group] ?? {}) as Record<string, Facts>;
  const own = sample[group] ?? {};
  const ids = [...new Set([...Object.keys(base), ...Object.keys(own)])];
  return ids.map(id => ({ subject: { kind: scope, id, name: id }, facts: merge(base[id], own[id]) }));
}

function jobFacts(given: Subjects | undefined, sample: Sample, at: number): JobFacts {
  return {
    jobKey: TEST_JOB_KEY,
    observedAt: at,
    cluster: {
      subject: { kind: 'cluster', id: 'cluster', name: 'cluster' },
      facts: merge(given?.cluster as Facts | undefined, sample.cluster),
    },
    job: {
      subject: { kind: 'job', id: 'job', name: TEST_JOB_KEY },
      facts: merge(given?.job as Facts | undefined, sample.job),
    },
    sources: subjectsOf('sources', 'source', given, sample),
    vertices: subjectsOf('vertices', 'vertex', given, sample),
    taskmanagers: subjectsOf('taskmanagers', 'taskmanager', given, sample),
    nodes: subjectsOf('nodes', 'node', given, sample),
  };
}

export interface CaseResult {
  name: string;
  kind: CaseKind;
  /** One line per unmet expectation; empty when the case passed. */
  failures: string[];
}

/** Runs one case of a checked file through the evaluator and `analyze()`. */
export function runRuleTestCase(evaluator: RuleEvaluator, file: RuleTestFile, c: RuleTestCase): CaseResult {
  const series = expandSeries(c.series, file.tick) ?? [];
  let records: Record<string, FindingRecord> = {};
  let states = new Map<string, ExpectedState>();
  for (const { at, sample } of series) {
    const now = BASE_TIME + at;
    const result = analyze({
      jobKey: TEST_JOB_KEY,
      facts: jobFacts(file.given, sample, now),
      evaluator,
      previous: records,
      now,
      tickMs: file.tick,
      retentionMs: RETENTION_MS,
      ...(c.overrides === undefined ? {} : { overrides: c.overrides }),
    });
    records = result.records;
    states = new Map(result.findings.map(f => [`${f.rule} ${f.subject.id}`, f.state]));
  }
  const scopes = new Map(evaluator.rules.map(r => [r.id, r.scope]));
  const failures = c.expect.flatMap(e => {
    const scope = scopes.get(e.rule);
    const subject = e.subject ?? (scope === undefined ? '' : (DEFAULT_SUBJECT[scope] ?? ''));
    const got = states.get(`${e.rule} ${subject}`) ?? 'none';
    return got === e.state ? [] : [`expected ${e.rule} on ${subject} to be ${e.state}, got ${got}`];
  });
  return { name: c.name, kind: c.kind, failures };
}

export function runRuleTestFile(evaluator: RuleEvaluator, file: RuleTestFile): CaseResult[] {
  return file.cases.map(c => runRuleTestCase(evaluator, file, c));
}

function hasNumericThreshold(c: Condition): boolean {
  if ('all' in c) return c.all.some(hasNumericThreshold);
  if ('any' in c) return c.any.some(hasNumericThreshold);
  if ('not' in c) return hasNumericThreshold(c.not);
  return (NUMERIC_OPERATORS as readonly string[]).includes(c.operator);
}

const FIRES: ReadonlySet<ExpectedState> = new Set(['firing']);
const BOUNDARY: ReadonlySet<CaseKind> = new Set(['at', 'below', 'above']);

/**
 * What a rule's test file lacks: every rule needs a case with its facts absent (expecting no
 * finding or unknown) and firing and non-firing cases at its boundary. A rule with a numeric
 * threshold needs `at`, `below` and `above` cases; the others need any firing and non-firing case.
 */
export function coverageProblems(rule: Rule, file: RuleTestFile): string[] {
  const problems: string[] = [];
  const own = (c: RuleTestCase): ExpectedState[] =>
    c.expect.filter(e => e.rule === rule.id).map(e => e.state);
  const kinds = new Set(file.cases.map(c => c.kind));
  const numeric = hasNumericThreshold(rule.conditions);
  const required: CaseKind[] = numeric ? ['at', 'below', 'above', 'absent'] : ['absent'];
  for (const k of required) if (!kinds.has(k)) problems.push(`no "${k}" case`);
  for (const c of file.cases) {
    if (c.kind !== 'scenario' && own(c).length === 0)
      problems.push(`case "${c.name}" expects nothing of ${rule.id}`);
    if (c.kind === 'absent' && own(c).some(s => s !== 'none' && s !== 'unknown'))
      problems.push(`"absent" case "${c.name}" must expect none or unknown`);
  }
  const boundary = file.cases.filter(c => (numeric ? BOUNDARY.has(c.kind) : c.kind !== 'absent'));
  if (!boundary.some(c => own(c).some(s => FIRES.has(s)))) problems.push('no firing case');
  if (!boundary.some(c => own(c).some(s => !FIRES.has(s) && s !== 'unknown')))
    problems.push('no non-firing case');
  return problems;
}
