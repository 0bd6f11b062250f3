/**
 * What a fact or finding is about. Findings on cluster, taskmanager and node subjects are
 * evaluated once per subject, attached to every job with a subtask there, and alerted once.
 */
export const SCOPES = ['cluster', 'job', 'source', 'vertex', 'taskmanager', 'node'] as const;
export type Scope = (typeof SCOPES)[number];

/** Scopes shared between jobs: their findings are keyed without the jobKey. */
export const SHARED_SCOPES: ReadonlySet<Scope> = new Set(['cluster', 'taskmanager', 'node']);

/**
 * Which facts a rule of a given scope may read: its own scope plus the scopes that enclose it.
 * A vertex rule may read `vertex.*`, `job.*` and `cluster.*`, never `taskmanager.*`.
 */
export const READABLE_SCOPES: Readonly<Record<Scope, readonly Scope[]>> = {
  cluster: ['cluster'],
  job: ['job', 'cluster'],
  source: ['source', 'job', 'cluster'],
  vertex: ['vertex', 'job', 'cluster'],
  taskmanager: ['taskmanager', 'cluster'],
  node: ['node'],
};

export interface Subject {
  kind: Scope;
  /** Stable id: vertex id, source vertex id, TM pod name or host:port, node name, cluster label, jobKey. */
  id: string;
  /** Human name: the vertex name, the TaskManager address, the node name. */
  name: string;
}
