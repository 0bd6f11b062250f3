import type { Rule } from '../../src/domain/index.js';

/** A rule object for tests of the stages after evaluation (analyze, score), with defaults. */
export function testRule(p: Partial<Rule> & { id: string }): Rule {
  return {
    version: 1,
    scope: 'vertex',
    category: 'backpressure',
    severity: 'medium',
    title: p.id,
    conditions: { fact: 'vertex.busyRatio.max', operator: 'greaterThan', value: 0.9 },
    forMs: 0,
    params: {},
    action: { kind: 'advice', text: `fix {{subject.name}}`, params: {} },
    requires: [],
    optionalFacts: [],
    file: `${p.id}.json`,
    ...p,
  };
}
