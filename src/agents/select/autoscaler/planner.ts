import {
  plannedActionId,
  type FactMap,
  type Finding,
  type JobRef,
  type PlannedAction,
  type SubjectFacts,
} from '../../../domain/index.js';
import type { Store } from '../../../state/store.js';
import type { PlanContext, Planner } from '../../agent.js';
import { applyPolicyToTarget, type EffectivePolicy } from '../policies/policy.js';
import { requiredCapacity, targetParallelism, utilizationBand, type AlignmentMode } from './sizing.js';

export interface ReactiveSettings {
  targetUtilization: number;
  /** Scale up only when a vertex would run above this utilization; down below `min`. */
  band: { max: number; min: number };
  catchUpMs: number;
  /** Restart downtime assumed when none was measured. */
  restartMs: number;
  /** No rescale within this after the job (re)started: metrics are not settled yet. */
  stabilizationMs: number;
  cooldownMs: number;
  scaleDownDelayMs: number;
  approvalTtlMs: number;
  scaleDownMaxFactor: number;
  scaleUpMaxFactor: number;
  alignment: AlignmentMode;
  minParallelism: number;
  maxParallelism: number;
}

export const DEFAULT_REACTIVE: Omit<
  ReactiveSettings,
  'catchUpMs' | 'stabilizationMs' | 'cooldownMs' | 'scaleDownDelayMs' | 'approvalTtlMs'
> = {
  targetUtilization: 0.7,
  // The operator's default band is [0.4, 1.0]: it scales up only once a vertex cannot keep up at
  // all. At 95 % busy a job has no headroom left for a surge, so this planner acts above 0.9.
  band: { max: 0.9, min: 0.4 },
  restartMs: 60_000,
  scaleDownMaxFactor: 0.6,
  scaleUpMaxFactor: 100_000,
  alignment: 'evenly-spread',
  minParallelism: 1,
  maxParallelism: 200,
};

/** At or below this busy ratio a vertex has no measurable processing rate (detect: 0.01). */
const IDLE_BUSY_RATIO = 0.01;

/** Firing findings of these categories mean "something else is wrong": no rescale then. */
const BLOCKING_CATEGORIES = new Set(['availability', 'connector', 'gc', 'memory', 'checkpoint', 'node']);

interface ScaleDownTimer {
  since: number;
  /** Highest recommendation seen while waiting: scale down only that far. */
  target: Record<string, number>;
}

export type PlanSkip =
  | 'not-running'
  | 'stabilizing'
  | 'blocked-by-finding'
  | 'cooldown'
  | 'missing-data'
  | 'within-band'
  | 'scale-down-delay';

const num = (facts: FactMap, name: string): number | undefined => {
  const v = facts[name];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
};

/**
 * The reactive autoscaler: from each vertex's true processing rate and target rate (both facts
 * from detect) to an absolute parallelism for every vertex.
 *
 * - Acts only on a RUNNING job past stabilization, with every vertex's rates present.
 * - Never while a finding blocks scaling (a `block-scaling` rule such as skew, or a firing
 *   availability / connector / GC / memory / checkpoint / node finding): more subtasks do not fix those.
 * - All-or-nothing like the operator, but per direction: a vertex below the band (cannot keep up
 *   with headroom) triggers a scale-up, in which every vertex goes to at least its sized
 *   parallelism and none shrinks; only when none is below it, a vertex above the band (too many
 *   subtasks) triggers a scale-down, in which no vertex grows. An over-provisioned source never
 *   drags in-band vertices up.
 * - Scale-ups at once; scale-downs only after `scaleDownDelay`, to the highest recommendation
 *   seen while waiting. A cooldown follows every executed rescale (the executor sets it).
 */
export class ReactivePlanner implements Planner {
  /** Why the last plan() returned nothing, per jobKey (for reports and tests). */
  readonly lastSkip = new Map<string, PlanSkip>();

  constructor(
    private readonly settings: ReactiveSettings,
    private readonly store: Store,
    /** Per-job policy: bounds, excluded vertices and utilization target; absent = the settings. */
    private readonly policyFor?: (job: JobRef) => EffectivePolicy,
  ) {}

  async plan(ctx: PlanContext): Promise<PlannedAction[]> {
    const skip = (why: PlanSkip): PlannedAction[] => {
      this.lastSkip.set(ctx.job.jobKey, why);
      return [];
    };
    const { job, snapshot, facts, report, now } = ctx;
    const policy = this.policyFor?.(job);
    const s: ReactiveSettings = policy
      ? { ...this.settings, targetUtilization: policy.targetUtilization, catchUpMs: policy.catchUpMs }
      : this.settings;
    if (snapshot.jobStatus?.state !== 'RUNNING') return skip('not-running');
    const uptime = num(facts.job.facts, 'job.uptime');
    if (uptime === undefined || uptime * 1000 < s.stabilizationMs) return skip('stabilizing');
    if (report.findings.some(blocks)) return skip('blocked-by-finding');
    if ((await this.store.getRecord('cooldown', job.jobKey, now)) !== undefined) return skip('cooldown');

    const byId = new Map<string, SubjectFacts>(facts.vertices.map(v => [v.subject.id, v]));
    const catchUpSec = s.catchUpMs / 1000;
    const backlog = facts.sources.some(src => (num(src.facts, 'source.lagSeconds') ?? 0) > catchUpSec);
    const basis: Record<string, number> = {};
    const sized: Record<string, number> = {};
    let needsUp = false;
    let needsDown = false;
    for (const v of snapshot.vertices) {
      basis[v.id] = v.parallelism;
      const f = byId.get(v.id)?.facts ?? {};
      const tpr = num(f, 'vertex.trueProcessingRate');
      const target = num(f, 'vertex.targetRate');
      if (target === undefined) return skip('missing-data');
      if (tpr === undefined) {
        // Busy ~0 ms/s gives no processing-rate estimate, but says the vertex is not what holds
        // the job back: real Flink reports 0 for a rate-limited source held back by its consumer
        // (recordings, e2e). It keeps its parallelism; anything else unmeasured blocks planning.
        const busy = num(f, 'vertex.busyRatio.avg');
        if (busy === undefined || busy > IDLE_BUSY_RATIO) return skip('missing-data');
        sized[v.id] = v.parallelism;
        continue;
      }
      const c = { targetRate: target, catchUpRate: 0, restartSec: s.restartMs / 1000, catchUpSec };
      const band = utilizationBand(c, s.band, backlog);
      if (tpr < band.scaleUpBelow) needsUp = true;
      else if (tpr > band.scaleDownAbove) needsDown = true;
      sized[v.id] = targetParallelism({
        parallelism: v.parallelism,
        trueProcessingRate: tpr,
        capacity: requiredCapacity({ ...c, utilization: s.targetUtilization, withRestart: true }),
        maxParallelism: v.maxParallelism ?? 128,
        minParallelism: s.minParallelism,
        maxParallelismBound: s.maxParallelism,
        scaleDownMaxFactor: s.scaleDownMaxFactor,
        scaleUpMaxFactor: s.scaleUpMaxFactor,
        ...(v.partitions === undefined ? {} : { partitions: v.partitions }),
        align: v.keyedInput === true || v.partitions !== undefined,
        alignment: s.alignment,
      });
    }
    const changed = Object.keys(sized).filter(id => sized[id] !== basis[id]);
    if ((!needsUp && !needsDown) || changed.length === 0) {
      await this.store.deleteRecord('scale-down-timer', job.jobKey);
      return skip('within-band');
    }

    const names = Object.fromEntries(snapshot.vertices.map(v => [v.id, v.name]));
    const bounded = policy ? applyPolicyToTarget(policy, basis, sized, names) : sized;
    // One direction per action: up (no vertex shrinks) or down (no vertex grows).
    const pick = needsUp ? Math.max : Math.min;
    let target = Object.fromEntries(Object.entries(bounded).map(([id, p]) => [id, pick(p, basis[id] ?? p)]));
    if (Object.keys(target).every(id => target[id] === basis[id])) return skip('within-band');
    if (needsUp) {
      await this.store.deleteRecord('scale-down-timer', job.jobKey);
    } else {
      const timer = await this.store.getRecord<ScaleDownTimer>('scale-down-timer', job.jobKey, now);
      const merged = timer ? maxPerVertex(timer.target, target) : target;
      const since = timer?.since ?? now;
      if (now - since < s.scaleDownDelayMs) {
        await this.store.putRecord('scale-down-timer', job.jobKey, { since, target: merged });
        return skip('scale-down-delay');
      }
      target = merged;
      await this.store.deleteRecord('scale-down-timer', job.jobKey);
    }

    const action = {
      kind: 'rescale' as const,
      jobKey: job.jobKey,
      incarnation: job.incarnation,
      basis: { parallelism: basis, observedAt: snapshot.observedAt },
      target,
    };
    const moves = Object.keys(target)
      .filter(id => target[id] !== basis[id])
      .map(id => `${snapshot.vertices.find(v => v.id === id)?.name ?? id} ${basis[id]} → ${target[id]}`);
    this.lastSkip.delete(job.jobKey);
    return [
      {
        ...action,
        id: plannedActionId(action),
        reason: `${needsUp ? 'scale up' : 'scale down'}: ${moves.join(', ')} (sized for ${Math.round(s.targetUtilization * 100)}% utilization)`,
        findings: report.findings.filter(f => f.state === 'firing').map(f => f.fingerprint),
        mode: ctx.mode,
        createdAt: now,
        expiresAt: now + s.approvalTtlMs,
        status: 'planned',
      },
    ];
  }
}

function blocks(f: Finding): boolean {
  return f.state === 'firing' && (f.action.kind === 'block-scaling' || BLOCKING_CATEGORIES.has(f.category));
}

function maxPerVertex(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { ...b };
  for (const [id, p] of Object.entries(a)) if (out[id] !== undefined) out[id] = Math.max(out[id] ?? p, p);
  return out;
}
