import { fileURLToPath } from 'node:url';

export const BROKEN_RULES_DIR = fileURLToPath(new URL('../../fixtures/broken-rules/', import.meta.url));

/** One broken rule per case; each must be reported exactly like this, and nothing else. */
export const EXPECTED_BROKEN_RULE_LINES = [
  'bad-category.json [bad-category] $.category: unknown category "perf"; one of: availability, connector, checkpoint, state, memory, gc, backpressure, lag, skew, watermark, resources, node, scaling, config',
  'bad-operator.json [bad-operator] $.conditions.all[0].operator: unknown operator "greaterThen" (did you mean "greaterThan"?)',
  'bad-severity.json [bad-severity] $.severity: unknown severity "critical"; one of: high, medium, low',
  'duplicate-id-b.json [duplicate-id] $.id: duplicate rule id "duplicate-id", also defined in duplicate-id-a.json',
  'missing-requires.json [missing-requires] $.requires[0]: requires unknown rule "no-such-rule"',
  'number-vs-string.json [number-vs-string] $.conditions.all[0].value: operator "greaterThan" needs a number value, got a string',
  'requires-cycle-a.json [requires-cycle-a] $.requires[0]: requires cycle: requires-cycle-a → requires-cycle-b → requires-cycle-a',
  'syntax-error.json:3:16: JSON syntax error: expected a double-quoted property name',
  'unknown-fact.json [unknown-fact] $.conditions.all[0].fact: unknown fact "vertex.busyRatoi" (nearest: vertex.busyRatio.avg, vertex.busyRatio.max, vertex.busyRatio.avg.avgLong)',
  'wrong-scope-fact.json [wrong-scope-fact] $.conditions.all[1].fact: fact "taskmanager.heapUsedRatio" belongs to scope taskmanager; a vertex rule reads only vertex, job, cluster facts',
];
