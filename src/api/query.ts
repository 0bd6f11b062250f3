import { z } from 'zod';
import { CATEGORIES } from '../domain/index.js';
import { badRequest } from './errors.js';

/**
 * Query-string schemas of the API. Fastify gives a repeated key as an array, so every list
 * filter takes `?risk=high&risk=medium` as well as `?risk=high,medium`. Unknown keys are a 400:
 * a misspelt filter should not silently return everything.
 */

const list = <T extends z.ZodType<unknown, string>>(item: T) =>
  z
    .union([z.string(), z.array(z.string())])
    .transform(v => (Array.isArray(v) ? v : [v]).flatMap(s => s.split(',')).filter(s => s !== ''))
    .pipe(z.array(item));

const limit = (max: number, def: number) =>
  z.coerce
    .number<string>()
    .int()
    .min(1)
    .max(max)
    .default(def)
    .describe(`Most items returned (1–${max}, default ${def}).`);

export const RISK_FILTERS = ['high', 'medium', 'low', 'unobservable'] as const;
export type RiskFilter = (typeof RISK_FILTERS)[number];

const LabelSelector = z
  .string()
  .regex(/^[^=]+=.*$/, 'a label filter is key=value')
  .transform(s => {
    const i = s.indexOf('=');
    return { key: s.slice(0, i), value: s.slice(i + 1) };
  });

export const JobsQuerySchema = z.strictObject({
  limit: limit(500, 100),
  cursor: z.string().min(1).optional().describe('`nextCursor` of the previous page.'),
  risk: list(z.enum(RISK_FILTERS))
    .optional()
    .describe(
      `Risk levels to keep (${RISK_FILTERS.join(', ')}; comma-separated or repeated); ` +
        '`unobservable` is a job whose risk is null (data missing or stale).',
    ),
  cluster: list(z.string().min(1)).optional().describe('Cluster labels to keep.'),
  namespace: list(z.string().min(1)).optional().describe('Kubernetes namespaces to keep.'),
  label: z
    .union([z.string(), z.array(z.string())])
    .transform(v => (Array.isArray(v) ? v : [v]))
    .pipe(z.array(LabelSelector))
    .optional()
    .describe('`key=value`; repeat for several (all must match).'),
  category: list(z.enum(CATEGORIES))
    .optional()
    .describe(`Keep jobs with a firing finding in one of these categories (${CATEGORIES.join(', ')}).`),
  rule: list(z.string().min(1)).optional().describe('Keep jobs with a firing finding of one of these rules.'),
  trend: z.coerce
    .number<string>()
    .int()
    .min(0)
    .max(288)
    .default(0)
    .describe('Add the last N health scores of each job as `trend` (for sparklines).'),
});
export type JobsQuery = z.output<typeof JobsQuerySchema>;

export const JournalQuerySchema = z.strictObject({
  jobKey: z.string().min(1).optional(),
  actionId: z.string().min(1).optional(),
  limit: limit(500, 100),
});

export const JobParamsSchema = z.strictObject({ id: z.string().min(1).describe('The jobKey.') });

/** Parses a request part with a schema; a failure is a 400 listing every problem by path. */
export function parseOr400<T extends z.ZodType>(schema: T, input: unknown, what: string): z.output<T> {
  const r = schema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map(i => ({
    path: i.path.map(String).join('.'),
    message: i.message,
  }));
  const text = issues.map(i => (i.path === '' ? i.message : `${i.path}: ${i.message}`)).join('; ');
  throw badRequest(`invalid ${what}: ${text}`, issues);
}
