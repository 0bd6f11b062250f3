import { describe, expect, it } from 'vitest';
import { formatRuleFileError, loadRuleLibrary } from '../../../src/config/rule-files.js';
import { BROKEN_RULES_DIR, EXPECTED_BROKEN_RULE_LINES } from '../cli/broken-rules-expected.js';

describe('broken rule fixtures', () => {
  it('reports each broken case with file, rule id, JSON path and message, and nothing else', async () => {
    const { errors, rules } = await loadRuleLibrary(BROKEN_RULES_DIR);
    expect(errors.map(formatRuleFileError)).toEqual(EXPECTED_BROKEN_RULE_LINES);
    // Never a partial library.
    expect(rules).toEqual([]);
  });

  it('gives structured errors, not just lines', async () => {
    const { errors } = await loadRuleLibrary(BROKEN_RULES_DIR);
    expect(errors.find(e => e.file === 'syntax-error.json')).toEqual({
      file: 'syntax-error.json',
      path: '$',
      line: 3,
      column: 16,
      message: 'JSON syntax error: expected a double-quoted property name',
    });
    expect(errors.find(e => e.file === 'bad-operator.json')).toMatchObject({
      ruleId: 'bad-operator',
      path: '$.conditions.all[0].operator',
    });
  });
});
