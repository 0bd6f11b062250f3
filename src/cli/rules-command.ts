import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { compileRules } from '../agents/analyze/compiled-evaluator.js';
import {
  checkRuleTestFile,
  coverageProblems,
  RULE_TEST_SUFFIX,
  RuleTestFileSchema,
  runRuleTestFile,
} from '../agents/analyze/rule-tests.js';
import type { RuleTestFile } from '../agents/analyze/rule-tests.js';
import { UNCLASSIFIED } from '../agents/detect/classify.js';
import {
  LOG_PATTERNS_FILE,
  loadLogPatterns,
  logPatternClasses,
  unknownLogClassErrors,
} from '../config/log-patterns.js';
import type { LogPatternsFile } from '../config/log-patterns.js';
import {
  defaultRulesDir,
  formatRuleFileError,
  jsonPath,
  loadRuleLibrary,
  parseJsonSource,
  zodErrors,
} from '../config/rule-files.js';
import type { RuleFileError, RuleSource } from '../config/rule-files.js';
import { rulesConfigMap } from './rules-configmap.js';
import {
  CATEGORIES,
  FACT_DICTIONARY,
  FACT_DICTIONARY_VERSION,
  FACT_TEMPLATES,
  LOG_CLASS_PLACEHOLDER,
  formatDuration,
  SCOPES,
} from '../domain/index.js';
import type { Condition, ConditionValue, Operator, ParamValue, Rule } from '../domain/index.js';

/**
 * `autopilot rules validate|test|docs`. The commands are plain functions returning an exit code
 * (testable without a process); `registerRulesCommands` wires them into commander.
 */

export interface CommandIo {
  out(text: string): void;
  err(text: string): void;
}

const processIo: CommandIo = {
  out: text => process.stdout.write(text),
  err: text => process.stderr.write(text),
};

/**
 * Validates the rules and `log-patterns.json`: exit 0 with `N rules, M log patterns OK (<dir>)`,
 * or 1 with one line per error on stderr.
 */
export async function rulesValidate(dir: string, io: CommandIo = processIo): Promise<number> {
  const rules = await validLibrary(dir, io);
  const patterns = await validLogPatterns(dir, io);
  if (rules === undefined || patterns === undefined) return 1;
  const unknown = unknownLogClassErrors(rules, patterns ?? undefined);
  if (unknown.length > 0) {
    io.err(unknown.map(e => `${formatRuleFileError(e)}\n`).join(''));
    return 1;
  }
  io.out(`${rules.length} rules, ${patterns?.patterns.length ?? 0} log patterns OK (${dir})\n`);
  return 0;
}

/** The log patterns of the directory (null when it has none), or undefined after printing errors. */
async function validLogPatterns(dir: string, io: CommandIo): Promise<LogPatternsFile | null | undefined> {
  let result;
  try {
    result = await loadLogPatterns(dir);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : 'unknown error';
    io.err(`cannot read ${join(dir, LOG_PATTERNS_FILE)} (${code})\n`);
    return undefined;
  }
  if (result.errors.length > 0) {
    io.err(result.errors.map(e => `${formatRuleFileError(e)}\n`).join(''));
    return undefined;
  }
  return result.patterns ?? null;
}

/** The rules of a valid library, or undefined after printing every error. */
async function validLibrary(dir: string, io: CommandIo): Promise<Rule[] | undefined> {
  let library;
  try {
    library = await loadRuleLibrary(dir);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? String(e.code) : 'unknown error';
    io.err(`cannot read the rules directory ${dir} (${code})\n`);
    return undefined;
  }
  if (library.errors.length === 0) return library.rules;
  io.err(library.errors.map(e => `${formatRuleFileError(e)}\n`).join(''));
  return undefined;
}

/**
 * Runs every fixture test of `<dir>/tests/` (see src/agents/analyze/rule-tests.ts). Prints one
 * line per failing case and per rule without a test file or without a boundary/absent case,
 * then `N cases, M rules, all passed`; exit 1 on any failure.
 */
export async function rulesTest(dir: string, io: CommandIo = processIo): Promise<number> {
  const rules = await validLibrary(dir, io);
  if (rules === undefined) return 1;
  const evaluator = compileRules(rules);
  const byId = new Map(rules.map(r => [r.id, r]));
  const files = await readTestFiles(dir);
  const lines: string[] = [];
  const tested = new Set<string>();
  let cases = 0;
  let failed = 0;
  for (const source of files) {
    const ruleId = basename(source.file, RULE_TEST_SUFFIX);
    const parsed = parseTestFile(source, rules);
    if ('errors' in parsed) {
      lines.push(...parsed.errors.map(formatRuleFileError));
      failed += 1;
      continue;
    }
    const rule = byId.get(ruleId);
    if (rule === undefined) {
      lines.push(`${source.file}: no rule "${ruleId}" in the library`);
      failed += 1;
      continue;
    }
    tested.add(ruleId);
    for (const result of runRuleTestFile(evaluator, parsed.file)) {
      cases += 1;
      if (result.failures.length === 0) continue;
      failed += 1;
      lines.push(`${source.file}: case "${result.name}": ${result.failures.join('; ')}`);
    }
    for (const problem of coverageProblems(rule, parsed.file)) {
      failed += 1;
      lines.push(`${source.file}: ${ruleId}: ${problem}`);
    }
  }
  for (const r of rules)
    if (!tested.has(r.id) && !files.some(f => f.file === testFileOf(r.id))) {
      failed += 1;
      lines.push(`${r.id}: no test file (${testFileOf(r.id)})`);
    }
  io.err(lines.map(l => `${l}\n`).join(''));
  const summary = `${cases} cases, ${tested.size} rules, ${failed === 0 ? 'all passed' : `${failed} failed`}\n`;
  if (failed === 0) io.out(summary);
  else io.err(summary);
  return failed === 0 ? 0 : 1;
}

const testFileOf = (ruleId: string): string => `tests/${ruleId}${RULE_TEST_SUFFIX}`;

async function readTestFiles(dir: string): Promise<RuleSource[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, 'tests'));
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'code' in e && e.code === 'ENOENT') return [];
    throw e;
  }
  const files = names.filter(n => n.endsWith(RULE_TEST_SUFFIX)).sort();
  return Promise.all(
    files.map(async n => ({ file: `tests/${n}`, text: await readFile(join(dir, 'tests', n), 'utf8') })),
  );
}

/** A test file: JSON, then its zod shape, then the facts and rules it names. */
function parseTestFile(
  source: RuleSource,
  rules: readonly Rule[],
): { file: RuleTestFile } | { errors: RuleFileError[] } {
  const json = parseJsonSource(source);
  if ('error' in json) return { errors: [json.error] };
  const shape = RuleTestFileSchema.safeParse(json.json);
  if (!shape.success) return { errors: zodErrors(source.file, shape.error) };
  const issues = checkRuleTestFile(shape.data, rules);
  if (issues.length === 0) return { file: shape.data };
  return { errors: issues.map(i => ({ file: source.file, path: jsonPath(i.path), message: i.message })) };
}

/** Writes the rule reference (Markdown) to `out`, or to stdout without it. Exit 1 on an invalid library. */
export async function rulesDocs(
  dir: string,
  out: string | undefined,
  io: CommandIo = processIo,
): Promise<number> {
  const rules = await validLibrary(dir, io);
  const patterns = await validLogPatterns(dir, io);
  if (rules === undefined || patterns === undefined) return 1;
  const markdown = renderRulesMarkdown(rules, patterns ?? undefined);
  if (out === undefined) io.out(markdown);
  else {
    await mkdir(dirname(resolve(out)), { recursive: true });
    await writeFile(out, markdown);
    io.out(`wrote ${out} (${rules.length} rules, ${FACT_DICTIONARY.size} facts)\n`);
  }
  return 0;
}

// ── Markdown ─────────────────────────────────────────────────────────────────────────────────

const OPERATOR_TEXT: Readonly<Record<Operator, string>> = {
  equal: '=',
  notEqual: '≠',
  lessThan: '<',
  lessThanInclusive: '≤',
  greaterThan: '>',
  greaterThanInclusive: '≥',
  in: 'in',
  notIn: 'not in',
  contains: 'contains',
  doesNotContain: 'does not contain',
};

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function valueText(value: ConditionValue, params: Readonly<Record<string, ParamValue>>): string {
  if (typeof value === 'object' && 'fact' in value) return `\`${value.fact}\``;
  if (typeof value === 'object' && 'param' in value) {
    return `\`params.${value.param}\` (${JSON.stringify(params[value.param])})`;
  }
  return JSON.stringify(value);
}

/** A condition tree as one readable line: `a > 0.9 and (b or not c)`. */
export function conditionText(
  c: Condition,
  params: Readonly<Record<string, ParamValue>>,
  nested = false,
): string {
  const group = (parts: Condition[], joiner: string): string => {
    const text = parts.map(p => conditionText(p, params, true)).join(joiner);
    return nested && parts.length > 1 ? `(${text})` : text;
  };
  if ('all' in c) return group(c.all, ' and ');
  if ('any' in c) return group(c.any, ' or ');
  if ('not' in c) return `not (${conditionText(c.not, params)})`;
  return `\`${c.fact}\` ${OPERATOR_TEXT[c.operator]} ${valueText(c.value, params)}`;
}

function ruleSection(r: Rule): string[] {
  const facts: [string, string][] = [
    ['scope', r.scope],
    ['severity', r.severity],
    ['fires after', r.forMs === 0 ? 'first evaluation' : formatDuration(r.forMs)],
    ['keeps firing for', r.keepFiringForMs === undefined ? '2 ticks' : formatDuration(r.keepFiringForMs)],
    ['action', r.action.kind],
  ];
  if (r.requires.length > 0) facts.push(['requires', r.requires.map(id => `\`${id}\``).join(', ')]);
  if (r.optionalFacts.length > 0)
    facts.push(['optional facts', r.optionalFacts.map(f => `\`${f}\``).join(', ')]);
  const params = Object.entries(r.params);
  return [
    `#### \`${r.id}\` — ${r.title}`,
    '',
    ...(r.description === undefined ? [] : [r.description, '']),
    facts.map(([k, v]) => `${k}: ${v}`).join(' · '),
    '',
    `**When:** ${conditionText(r.conditions, r.params)}`,
    '',
    ...(params.length === 0
      ? []
      : [
          `**Params** (overridable per job): ${params.map(([k, v]) => `\`${k}\` = ${JSON.stringify(v)}`).join(', ')}`,
          '',
        ]),
    `**Action:** ${r.action.text}`,
    '',
    `Source: \`rules/${r.file}\``,
    '',
  ];
}

/** The exception classes of log-patterns.json: what `job.exceptions.*` facts can contain. */
function logPatternLines(file: LogPatternsFile): string[] {
  const regex = (r: string | undefined): string => (r === undefined ? '' : `\`${cell(r)}\``);
  return [
    `## Exception classes (${logPatternClasses(file).length})`,
    '',
    'From `rules/log-patterns.json`. Exceptions are classified root cause first: the deepest link of ' +
      'the `Caused by` chain that a pattern matches decides; among patterns matching that link the ' +
      `highest priority wins. A trace nothing matches is \`${UNCLASSIFIED}\`. The classes appear in ` +
      '`job.exceptions.latestClass`, `job.exceptions.classesMedium` and `job.exceptions.classesLong`; ' +
      `log events (JobManager and TaskManager logs) of each class are counted in \`job.logs.${LOG_CLASS_PLACEHOLDER}.*\`.`,
    '',
    '| class | category | exception class | message | unless the chain matches | priority | description |',
    '|---|---|---|---|---|---|---|',
    ...file.patterns.map(
      p =>
        `| \`${p.class}\` | ${p.category} | ${regex(p.exception)} | ${regex(p.message)} | ${regex(p.unlessChain)} | ${p.priority} | ${cell(p.description)} |`,
    ),
    '',
    'Wrappers, never classified themselves:',
    '',
    ...file.wrappers.map(w => `- \`${w}\``),
    '',
  ];
}

export function renderRulesMarkdown(rules: readonly Rule[], logPatterns?: LogPatternsFile): string {
  const lines = [
    '# Rule reference',
    '',
    'Generated by `autopilot rules docs`; do not edit by hand.',
    '',
    `## Rules (${rules.length})`,
    '',
  ];
  for (const category of CATEGORIES) {
    const inCategory = rules.filter(r => r.category === category).sort((a, b) => (a.id < b.id ? -1 : 1));
    if (inCategory.length === 0) continue;
    lines.push(`### ${category}`, '', ...inCategory.flatMap(ruleSection));
  }
  if (logPatterns !== undefined) lines.push(...logPatternLines(logPatterns));
  lines.push(
    `## Fact dictionary (version ${FACT_DICTIONARY_VERSION})`,
    '',
    'Units: ratios 0–1, durations in seconds, rates per second, sizes in bytes. A fact the source did not deliver is absent, never 0.',
    '',
  );
  for (const scope of SCOPES) {
    lines.push(
      `### ${scope}`,
      '',
      '| fact | type | unit | aggregation | window | description |',
      '|---|---|---|---|---|---|',
    );
    for (const d of [...FACT_DICTIONARY.values(), ...FACT_TEMPLATES]) {
      if (d.scope !== scope) continue;
      lines.push(
        `| \`${d.name}\` | ${d.type} | ${d.unit} | ${d.aggregation} | ${d.window} | ${cell(d.description)} |`,
      );
    }
    lines.push('');
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

// ── commander ────────────────────────────────────────────────────────────────────────────────

export function registerRulesCommands(program: Command): void {
  const rules = program.command('rules').description('validate, test and document the rule library');
  rules
    .command('validate')
    .description(
      'check every rule file (JSON syntax, shape, operators, facts, types, params, requires, placeholders) ' +
        'and log-patterns.json; prints one line per error and exits 1, or "N rules, M log patterns OK" and exits 0',
    )
    .argument('[dir]', 'rules directory (default: the rules/ shipped with autopilot)')
    .action(async (dir: string | undefined) => {
      process.exitCode = await rulesValidate(dir ?? defaultRulesDir());
    });
  rules
    .command('test')
    .description(
      'run the fixture tests of every rule (rules/tests/<rule-id>.test.json): fact samples over time in, ' +
        'expected findings out; exits 1 on a failing case or a rule without boundary and absent cases',
    )
    .argument('[dir]', 'rules directory (default: the rules/ shipped with autopilot)')
    .action(async (dir: string | undefined) => {
      process.exitCode = await rulesTest(dir ?? defaultRulesDir());
    });
  rules
    .command('docs')
    .description('write the rule reference and the fact dictionary as Markdown')
    .argument('[dir]', 'rules directory (default: the rules/ shipped with autopilot)')
    .option('-o, --out <file>', 'write to this file (e.g. docs/rules.md) instead of stdout')
    .action(async (dir: string | undefined, options: { out?: string }) => {
      process.exitCode = await rulesDocs(dir ?? defaultRulesDir(), options.out);
    });
  rules
    .command('configmap')
    .description('print the rule library as a Kubernetes ConfigMap (validated first), for docker/k8s/')
    .argument('[dir]', 'rules directory (default: the rules/ shipped with autopilot)')
    .option('--name <name>', 'ConfigMap name', 'flink-autopilot-rules')
    .option('--namespace <ns>', 'namespace', 'flink-autopilot')
    .action(async (dir: string | undefined, options: { name: string; namespace: string }) => {
      try {
        process.stdout.write(await rulesConfigMap(dir ?? defaultRulesDir(), options));
      } catch (err) {
        console.error(err instanceof Error ? err.message : String(err));
        process.exitCode = 1;
      }
    });
}
