import { z } from 'zod';

/**
 * The raw shape of one rule file (`rules/<category>/<id>.json`), before the semantic checks of
 * rule-files.ts. Enumerations (scope, category, severity, operator) and fact names are plain
 * strings here so that the semantic pass can say what is wrong and suggest the right word;
 * conditions are parsed node by node (see `RAW_CONDITION_NODE`) so errors point at the exact
 * JSON path instead of "no union member matched".
 */

const scalar = z.union([z.number(), z.string(), z.boolean()]);
const paramValue = z.union([scalar, z.array(scalar)], {
  error: 'a param must be a number, string, boolean or an array of those',
});
const params = z.record(
  z.string().regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'param names are identifiers'),
  paramValue,
);
const duration = z.union([z.string(), z.number()], {
  error: 'a duration is a string like "5m" or milliseconds',
});

export const RawRuleFileSchema = z.strictObject({
  $schema: z.string().optional(),
  id: z
    .string()
    .regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'a rule id is kebab-case: lower-case letters, digits, dashes'),
  version: z.number().int().positive(),
  scope: z.string(),
  category: z.string(),
  severity: z.string(),
  title: z.string().min(1),
  description: z.string().optional(),
  conditions: z.record(z.string(), z.unknown()),
  for: duration.optional(),
  keepFiringFor: duration.optional(),
  params: params.default({}),
  action: z.strictObject({
    kind: z.enum(['advice', 'block-scaling', 'allow-scaling']),
    text: z.string().min(1),
    params: params.default({}),
  }),
  requires: z.array(z.string()).default([]),
  optionalFacts: z.array(z.string()).default([]),
});
export type RawRuleFile = z.infer<typeof RawRuleFileSchema>;

const conditionValue = z.union(
  [scalar, z.array(scalar), z.strictObject({ fact: z.string() }), z.strictObject({ param: z.string() })],
  {
    error:
      'value must be a number, string, boolean, an array of those, {"fact": "<name>"} or {"param": "<name>"}',
  },
);

/** One node of a condition tree; children of all/any/not are parsed recursively by the caller. */
export const RAW_CONDITION_NODE = {
  all: z.strictObject({ all: z.array(z.unknown()).min(1) }),
  any: z.strictObject({ any: z.array(z.unknown()).min(1) }),
  not: z.strictObject({ not: z.record(z.string(), z.unknown()) }),
  leaf: z.strictObject({ fact: z.string().min(1), operator: z.string(), value: conditionValue }),
} as const;
export type RawConditionKind = keyof typeof RAW_CONDITION_NODE;
export type RawLeaf = z.infer<(typeof RAW_CONDITION_NODE)['leaf']>;
