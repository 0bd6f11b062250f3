import type { FactValue } from './facts.js';
import type { JobKey } from './identity.js';
import type { RuleActionKind } from './rule.js';
import type { Subject } from './scope.js';
import { SHARED_SCOPES } from './scope.js';
import type { Category, Severity } from './severity.js';

export type FindingState = 'firing' | 'resolved' | 'unknown';

/**
 * fingerprint = (jobKey, rule, subject.kind, subject.id). Cluster, taskmanager and node subjects
 * are shared between jobs, so their fingerprint leaves out the jobKey: the same TaskManager
 * finding attached to ten jobs is one finding, alerted once.
 */
export function fingerprint(jobKey: JobKey, ruleId: string, subject: Pick<Subject, 'kind' | 'id'>): string {
  const owner = SHARED_SCOPES.has(subject.kind) ? '*' : jobKey;
  return `${owner}|${ruleId}|${subject.kind}|${subject.id}`;
}

export interface FindingAction {
  kind: RuleActionKind;
  text: string;
}

export interface Finding {
  fingerprint: string;
  rule: string;
  ruleVersion: number;
  category: Category;
  severity: Severity;
  /** A two-stage rule (it `requires` symptoms): diagnoses sort before symptoms. */
  diagnosis: boolean;
  subject: Subject;
  title: string;
  evidence: Record<string, FactValue>;
  action: FindingAction;
  state: FindingState;
  firstSeen: number;
  lastSeen: number;
}

/**
 * What the store keeps per fingerprint between cycles: the rule's state machine.
 * `lastFiringAtBySeverity` makes the health score independent of the tick length: a fingerprint
 * counts in the scoring window if it was firing at any instant inside it, at the highest
 * severity it had there.
 */
export interface FindingRecord {
  fingerprint: string;
  rule: string;
  subject: Subject;
  /** Conditions have held continuously since (for `for`). */
  pendingSince?: number;
  /** Conditions have been false continuously since (for `keepFiringFor`). */
  falseSince?: number;
  falseEvaluations: number;
  firing: boolean;
  /** Last evaluation was unknown (an input absent or stale). */
  unknown: boolean;
  firstSeen?: number;
  lastSeen?: number;
  lastEvaluatedAt: number;
  lastFiringAtBySeverity: Partial<Record<Severity, number>>;
  /** The last finding as reported (evidence, rendered action). */
  finding?: Finding;
}
