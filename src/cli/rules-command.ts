import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { defaultRulesDir, formatRuleFileError, loadRuleLibrary } from '../config/rule-files.js';
import {
  CATEGORIES,
  FACT_DICTIONARY,
  FACT_DICTIONARY_VERSION,
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

/** Exit 0 with `N rules OK (<dir>)`, or 1 with one line per error on stderr. */
export async function rulesValidate(dir: string, io: CommandIo = processIo): Promise<number> {
  const rules = await validLibrary(dir, io);
  if (rules === undefined) return 1;
  io.out(`${rules.length} rules OK (${dir})\n`);
  return 0;
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

export const RULES_TEST_PENDING =
  'rules test: rule fixture tests arrive with the rule library (issue 5); nothing to run';

export function rulesTest(io: CommandIo = processIo): number {
  io.err(`${RULES_TEST_PENDING}\n`);
  return 2;
}

/** Writes the rule reference (Markdown) to `out`, or to stdout without it. Exit 1 on an invalid library. */
export async function rulesDocs(
  dir: string,
  out: string | undefined,
  io: CommandIo = processIo,
): Promise<number> {
  const rules = await validLibrary(dir, io);
  if (rules === undefined) return 1;
  const markdown = renderRulesMarkdown(rules);
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

export function renderRulesMarkdown(rules: readonly Rule[]): string {
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
    for (const d of FACT_DICTIONARY.values()) {
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
      'check every rule file (JSON syntax, shape, operators, facts, types, params, requires, placeholders); ' +
        'prints one line per error and exits 1, or "N rules OK" and exits 0',
    )
    .argument('[dir]', 'rules directory (default: the rules/ shipped with autopilot)')
    .action(async (dir: string | undefined) => {
      process.exitCode = await rulesValidate(dir ?? defaultRulesDir());
    });
  rules
    .command('test')
    .description('run the fixture tests of every rule (rules/tests/): facts in, expected findings out')
    .argument('[dir]', 'rules directory (default: the rules/ shipped with autopilot)')
    .action(() => {
      process.exitCode = rulesTest();
    });
  rules
    .command('docs')
    .description('write the rule reference and the fact dictionary as Markdown')
    .argument('[dir]', 'rules directory (default: the rules/ shipped with autopilot)')
    .option('-o, --out <file>', 'write to this file (e.g. docs/rules.md) instead of stdout')
    .action(async (dir: string | undefined, options: { out?: string }) => {
      process.exitCode = await rulesDocs(dir ?? defaultRulesDir(), options.out);
    });
}
