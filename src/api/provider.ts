import type { Finding, HealthReport, Rule } from '../domain/index.js';

/**
 * What the API reads the daemon through. The daemon (or a test double) implements it; the API
 * never imports the daemon itself.
 */
export interface ReportProvider {
  /** The latest report of every tracked job. */
  reports(): readonly HealthReport[];
  report(jobKey: string): HealthReport | undefined;
  /** Cluster-scope findings the daemon raises itself ("cannot observe <source>"). */
  clusterFindings(): readonly Finding[];
  /** True once the first job discovery has finished (`GET /readyz`). */
  isReady(): boolean;
}

/** What `GET /api/v1/rules` lists about each rule in use. */
export type RuleInfo = Pick<Rule, 'id' | 'version' | 'title' | 'severity' | 'category' | 'scope'>;
