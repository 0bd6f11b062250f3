import {
  fingerprint,
  type Finding,
  type FindingRecord,
  type FindingState,
  type JobFacts,
  type ParamOverrides,
  type FactLookup,
  type Rule,
  type Scope,
  renderActionText,
  subjectsOfScope,
} from '../../domain/index.js';
import { stepFinding, worthKeeping } from './finding-state.js';
import type { RuleEvaluation, RuleEvaluator } from './rule-evaluator.js';
import { and3, requiresGate, requiresOrder } from './requires.js';

/**
 * Every fact a subject's action text may name: its own, then the job's, then the cluster's (the
 * evidence holds only the facts the conditions read).
 */
function factLookup(facts: JobFacts, kind: string, id: string): FactLookup {
  const own = subjectsOfScope(facts, kind as Scope).find(s => s.subject.id === id)?.facts ?? {};
  return { get: name => own[name] ?? facts.job.facts[name] ?? facts.cluster.facts[name] };
}

export interface AnalyzeInput {
  jobKey: string;
  facts: JobFacts;
  evaluator: RuleEvaluator;
  previous: Readonly<Record<string, FindingRecord>>;
  now: number;
  tickMs: number;
  /** Findings that stopped firing are still reported (resolved) for this long: the scoring window. */
  retentionMs: number;
  overrides?: ParamOverrides;
  disabledRules?: ReadonlySet<string>;
}

export interface AnalyzeResult {
  records: Record<string, FindingRecord>;
  findings: Finding[];
}

const orderCache = new WeakMap<readonly Rule[], Rule[]>();

function ordered(rules: readonly Rule[]): Rule[] {
  let o = orderCache.get(rules);
  if (!o) {
    o = requiresOrder(rules);
    orderCache.set(rules, o);
  }
  return o;
}

function findingState(rec: FindingRecord): FindingState {
  if (rec.firing) return rec.unknown ? 'unknown' : 'firing';
  return 'resolved';
}

/**
 * ANALYZE: rule evaluations → finding records (the per-fingerprint state machine) → findings.
 * Rules run in `requires` order so a diagnosis sees the symptoms' state of this same cycle.
 * A subject that disappeared (a vertex removed, a TaskManager gone) evaluates as false.
 */
export function analyze(input: AnalyzeInput): AnalyzeResult {
  const { evaluator, facts, now, tickMs, jobKey } = input;
  const evaluations = evaluator.evaluate(facts, input.overrides);
  const byRule = new Map<string, RuleEvaluation[]>();
  for (const e of evaluations) {
    if (input.disabledRules?.has(e.rule.id)) continue;
    let list = byRule.get(e.rule.id);
    if (!list) byRule.set(e.rule.id, (list = []));
    list.push(e);
  }

  const rulesById = new Map(evaluator.rules.map(r => [r.id, r]));
  const records: Record<string, FindingRecord> = {};
  const recordsByRule = new Map<string, FindingRecord[]>();
  const seen = new Set<string>();
  const findings: Finding[] = [];

  for (const rule of ordered(evaluator.rules)) {
    if (input.disabledRules?.has(rule.id)) continue;
    const recs: FindingRecord[] = [];
    for (const e of byRule.get(rule.id) ?? []) {
      const fp = fingerprint(jobKey, rule.id, e.subject);
      seen.add(fp);
      const truth =
        rule.requires.length === 0
          ? e.truth
          : and3(e.truth, requiresGate(rule, e.subject, rulesById, recordsByRule));
      const rec = stepFinding(input.previous[fp], fp, rule, e.subject, truth, now, tickMs);
      if (rec.firing && !rec.unknown) {
        const params = { ...rule.params, ...input.overrides?.[rule.id] };
        const lookup = factLookup(facts, e.subject.kind, e.subject.id);
        rec.finding = {
          fingerprint: fp,
          rule: rule.id,
          ruleVersion: rule.version,
          category: rule.category,
          severity: rule.severity,
          diagnosis: rule.requires.length > 0,
          subject: e.subject,
          title: rule.title,
          evidence: e.evidence,
          action: {
            kind: rule.action.kind,
            text: renderActionText(rule.action.text, { subject: e.subject, params, facts: lookup }),
          },
          state: 'firing',
          firstSeen: rec.firstSeen ?? now,
          lastSeen: now,
        };
      }
      recs.push(rec);
    }
    // Subjects evaluated before but gone now: their conditions no longer hold.
    for (const [fp, prev] of Object.entries(input.previous)) {
      if (prev.rule !== rule.id || seen.has(fp)) continue;
      seen.add(fp);
      recs.push(stepFinding(prev, fp, rule, prev.subject, 'false', now, tickMs));
    }
    recordsByRule.set(rule.id, recs);
    for (const rec of recs) {
      if (!worthKeeping(rec, now, input.retentionMs)) continue;
      records[rec.fingerprint] = rec;
      if (rec.finding && rec.firstSeen !== undefined) {
        findings.push({
          ...rec.finding,
          state: findingState(rec),
          firstSeen: rec.firstSeen,
          lastSeen: rec.lastSeen ?? rec.finding.lastSeen,
        });
      }
    }
  }
  return { records, findings };
}

/** Marks every record unknown without evaluating (the job is unobservable this cycle). */
export function markUnknown(
  previous: Readonly<Record<string, FindingRecord>>,
  now: number,
  retentionMs: number,
): AnalyzeResult {
  const records: Record<string, FindingRecord> = {};
  const findings: Finding[] = [];
  for (const [fp, prev] of Object.entries(previous)) {
    const rec: FindingRecord = { ...prev, unknown: true, lastEvaluatedAt: now };
    delete rec.pendingSince;
    delete rec.falseSince;
    rec.falseEvaluations = 0;
    if (!worthKeeping(rec, now, retentionMs)) continue;
    records[fp] = rec;
    if (rec.finding && rec.firstSeen !== undefined) {
      findings.push({
        ...rec.finding,
        state: rec.firing ? 'unknown' : 'resolved',
        firstSeen: rec.firstSeen,
        lastSeen: rec.lastSeen ?? rec.finding.lastSeen,
      });
    }
  }
  return { records, findings };
}
