import { createHash } from 'node:crypto';
import type { JobKey } from './identity.js';
import type { JobMode } from './mode.js';

export type PlannedActionStatus =
  | 'planned'
  | 'approved'
  | 'executing'
  | 'executed'
  | 'noop'
  | 'skipped'
  | 'failed'
  | 'verified'
  | 'ineffective'
  | 'expired';

export type PlannedActionKind = 'rescale' | 'alert';

/** Which planner made an action: freezes let only calendar floors through. */
export type PlannedActionOrigin = 'reactive' | 'calendar' | 'forecast';

/** Vertex id → parallelism. Always absolute and listing every vertex. */
export type ParallelismMap = Readonly<Record<string, number>>;

/**
 * PlannedAction v1. Only planners create them; rules gate them. The id is a hash of what the
 * action is, so a replayed or re-planned action with the same basis and target has the same id
 * and is never executed twice.
 */
export interface PlannedAction {
  id: string;
  kind: PlannedActionKind;
  jobKey: JobKey;
  incarnation: string;
  basis: { parallelism: ParallelismMap; resourceVersion?: string; observedAt: number };
  target: ParallelismMap;
  reason: string;
  findings: string[];
  mode: Exclude<JobMode, 'paused'>;
  createdAt: number;
  expiresAt: number;
  status: PlannedActionStatus;
  /** Which planner made it (not part of the id); absent = reactive. */
  origin?: PlannedActionOrigin;
  /**
   * True processing rate (records/s at full busy) of each vertex it scales up, before and as
   * expected after; verification compares what is observed then (not part of the id).
   */
  expectedRate?: Record<string, { before: number; after: number }>;
}

function canonical(map: ParallelismMap): string {
  return Object.keys(map)
    .sort()
    .map(k => `${k}=${map[k]}`)
    .join(',');
}

export function plannedActionId(
  a: Pick<PlannedAction, 'kind' | 'jobKey' | 'incarnation' | 'basis' | 'target'>,
): string {
  const h = createHash('sha256');
  h.update(
    [
      a.kind,
      a.jobKey,
      a.incarnation,
      canonical(a.basis.parallelism),
      a.basis.resourceVersion ?? '',
      canonical(a.target),
    ].join('\n'),
  );
  return h.digest('hex').slice(0, 24);
}

/** One line of the action journal; (actionId, status) is unique, so replays are harmless. */
export interface JournalEntry {
  actionId: string;
  jobKey: JobKey;
  at: number;
  status: PlannedActionStatus | 'external';
  detail?: string;
  action?: PlannedAction;
}
