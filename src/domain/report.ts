import type { Finding, FindingAction } from './finding.js';
import type { JobKey } from './identity.js';
import type { JobMode } from './mode.js';
import type { PlannedAction } from './planned-action.js';
import type { Risk, Severity } from './severity.js';

export type DataState = 'ok' | 'stale' | 'partial';

export interface ScoreBreakdownEntry {
  fingerprint: string;
  rule: string;
  severity: Severity;
  weight: number;
  /** false when the 3-per-rule cap left it out. */
  counted: boolean;
}

export interface FirstAction extends FindingAction {
  fingerprint: string;
  rule: string;
  severity: Severity;
  subject: { kind: string; id: string; name: string };
}

/** HealthReport v1: one job, one observation. */
export interface HealthReport {
  schemaVersion: 1;
  id: JobKey;
  cluster: string;
  namespace?: string;
  name: string;
  flinkJobId: string;
  state: string;
  dataState: DataState;
  observedAt: number | null;
  score: number | null;
  risk: Risk | null;
  scoreBreakdown: ScoreBreakdownEntry[];
  firstAction: FirstAction | null;
  findings: Finding[];
  actions: PlannedAction[];
  mode: JobMode;
  labels: Record<string, string>;
  rulesVersion: string;
  updatedAt: number;
}

export type FindingSummary = Omit<Finding, 'evidence'>;

/** What `GET /api/v1/jobs` lists: the report without evidence. */
export type HealthReportSummary = Omit<HealthReport, 'findings'> & { findings: FindingSummary[] };

export function summarize(report: HealthReport): HealthReportSummary {
  return {
    ...report,
    findings: report.findings.map(({ evidence: _evidence, ...rest }) => rest),
  };
}
