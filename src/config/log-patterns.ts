import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { CATEGORIES, logClassOfFact } from '../domain/index.js';
import type { Category, Condition, Rule } from '../domain/index.js';
import { jsonPath, parseJsonSource, zodErrors } from './rule-files.js';
import type { RuleFileError } from './rule-files.js';

/**
 * `rules/log-patterns.json`: how exceptions are classified (the classes rules see in
 * `job.exceptions.*`). Each pattern names a class and a category and matches one link of a
 * `Caused by` chain by a regex on the exception class and/or one on its message; the classifier
 * (src/agents/detect/classify.ts) walks the chain root cause first. `wrappers` are links that
 * are never classified themselves ("Could not forward element to next operator", ...).
 */

export const LOG_PATTERNS_FILE = 'log-patterns.json';

const regex = z.string().min(1);
const LogPatternSchema = z
  .strictObject({
    class: z
      .string()
      .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a class is kebab-case: lower-case letters, digits, dashes'),
    category: z.enum(CATEGORIES, { error: `one of: ${CATEGORIES.join(', ')}` }),
    /** Regex on the fully qualified exception class name. */
    exception: regex.optional(),
    /** Regex on the message (all of its lines). */
    message: regex.optional(),
    /** Regex on the whole chain (every link's `class: message`): when it matches, this pattern does not apply. */
    unlessChain: regex.optional(),
    ignoreCase: z.boolean().default(false),
    /** Among patterns matching the same link, the highest priority wins. */
    priority: z.number().int().min(0).max(1000),
    /** Catalog reference and a word on what it means. */
    description: z.string().min(1),
  })
  .refine(p => p.exception !== undefined || p.message !== undefined, {
    error: 'a pattern needs "exception", "message" or both',
  });

export const LogPatternsFileSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  wrappers: z.array(regex).default([]),
  patterns: z.array(LogPatternSchema).min(1),
});
export type LogPatternsFile = z.infer<typeof LogPatternsFileSchema>;
export type LogPattern = LogPatternsFile['patterns'][number];

export interface LogPatternsResult {
  /** The patterns when the file is valid (undefined on any error or when there is no file). */
  patterns?: LogPatternsFile;
  errors: RuleFileError[];
}

function regexErrors(file: string, source: string, path: readonly PropertyKey[]): RuleFileError[] {
  try {
    new RegExp(source);
    return [];
  } catch {
    return [{ file, path: jsonPath(path), message: 'not a valid regular expression' }];
  }
}

/** Validates the text of log-patterns.json (pure). */
export function validateLogPatterns(text: string, file = LOG_PATTERNS_FILE): LogPatternsResult {
  const parsed = parseJsonSource({ file, text });
  if ('error' in parsed) return { errors: [parsed.error] };
  const shape = LogPatternsFileSchema.safeParse(parsed.json);
  if (!shape.success) return { errors: zodErrors(file, shape.error) };
  const data = shape.data;
  const errors: RuleFileError[] = [];
  data.wrappers.forEach((w, i) => errors.push(...regexErrors(file, w, ['wrappers', i])));
  const categoryOf = new Map<string, Category>();
  data.patterns.forEach((p, i) => {
    for (const key of ['exception', 'message', 'unlessChain'] as const) {
      const source = p[key];
      if (source !== undefined) errors.push(...regexErrors(file, source, ['patterns', i, key]));
    }
    const earlier = categoryOf.get(p.class);
    if (earlier !== undefined && earlier !== p.category)
      errors.push({
        file,
        path: jsonPath(['patterns', i, 'category']),
        message: `class "${p.class}" is in category ${earlier} in an earlier pattern`,
      });
    else categoryOf.set(p.class, p.category);
  });
  return errors.length > 0 ? { errors } : { patterns: data, errors };
}

/** Reads `<dir>/log-patterns.json`; a directory without one has no patterns and no errors. */
export async function loadLogPatterns(dir: string): Promise<LogPatternsResult> {
  let text: string;
  try {
    text = await readFile(join(dir, LOG_PATTERNS_FILE), 'utf8');
  } catch (e) {
    if (typeof e === 'object' && e !== null && 'code' in e && e.code === 'ENOENT') return { errors: [] };
    throw e;
  }
  return validateLogPatterns(text);
}

/** The classes defined by the patterns, each with its category, in file order. */
export function logPatternClasses(file: LogPatternsFile): { class: string; category: Category }[] {
  const seen = new Map<string, Category>();
  for (const p of file.patterns) if (!seen.has(p.class)) seen.set(p.class, p.category);
  return [...seen].map(([cls, category]) => ({ class: cls, category }));
}

function factNames(c: Condition, out: Set<string>): Set<string> {
  if ('all' in c) c.all.forEach(x => factNames(x, out));
  else if ('any' in c) c.any.forEach(x => factNames(x, out));
  else if ('not' in c) factNames(c.not, out);
  else {
    out.add(c.fact);
    if (typeof c.value === 'object' && c.value !== null && 'fact' in c.value) out.add(c.value.fact);
  }
  return out;
}

/**
 * Rules reading `job.logs.<class>.*` facts of a class the patterns do not define (a typo would
 * leave such a rule silent forever): one error per rule and class.
 */
export function unknownLogClassErrors(
  rules: readonly Rule[],
  file: LogPatternsFile | undefined,
): RuleFileError[] {
  const known = new Set(file === undefined ? [] : logPatternClasses(file).map(c => c.class));
  const errors: RuleFileError[] = [];
  for (const rule of rules) {
    const classes = new Set(
      [...factNames(rule.conditions, new Set())]
        .map(logClassOfFact)
        .filter((c): c is string => c !== undefined && !known.has(c)),
    );
    for (const cls of classes)
      errors.push({
        file: rule.file,
        ruleId: rule.id,
        path: '$.conditions',
        message: `log class "${cls}" is not defined in ${LOG_PATTERNS_FILE}`,
      });
  }
  return errors;
}
