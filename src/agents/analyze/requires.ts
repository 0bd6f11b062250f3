import type { FindingRecord, Rule, Subject, Truth } from '../../domain/index.js';

/**
 * Orders rules so that every rule comes after the rules it `requires` (the loader rejects
 * cycles, so this always succeeds on a validated library).
 */
export function requiresOrder(rules: readonly Rule[]): Rule[] {
  const byId = new Map(rules.map(r => [r.id, r]));
  const done = new Set<string>();
  const out: Rule[] = [];
  const visit = (rule: Rule, stack: Set<string>): void => {
    if (done.has(rule.id)) return;
    if (stack.has(rule.id)) throw new Error(`requires cycle through ${rule.id}`);
    stack.add(rule.id);
    for (const dep of rule.requires) {
      const r = byId.get(dep);
      if (r) visit(r, stack);
    }
    stack.delete(rule.id);
    done.add(rule.id);
    out.push(rule);
  };
  for (const r of rules) visit(r, new Set());
  return out;
}

export function and3(a: Truth, b: Truth): Truth {
  if (a === 'false' || b === 'false') return 'false';
  if (a === 'unknown' || b === 'unknown') return 'unknown';
  return 'true';
}

/**
 * A two-stage rule may fire only while every rule it requires fires: for the same subject when
 * both rules have the same scope, otherwise for any subject of the job. A required rule whose
 * evaluation is unknown makes the gate unknown.
 */
export function requiresGate(
  rule: Rule,
  subject: Subject,
  rulesById: ReadonlyMap<string, Rule>,
  recordsByRule: ReadonlyMap<string, readonly FindingRecord[]>,
): Truth {
  let gate: Truth = 'true';
  for (const dep of rule.requires) {
    const depRule = rulesById.get(dep);
    const records = recordsByRule.get(dep) ?? [];
    const relevant =
      depRule?.scope === rule.scope ? records.filter(r => r.subject.id === subject.id) : records;
    let t: Truth = 'false';
    if (relevant.some(r => r.firing && !r.unknown)) t = 'true';
    else if (relevant.some(r => r.unknown)) t = 'unknown';
    gate = and3(gate, t);
    if (gate === 'false') return gate;
  }
  return gate;
}
