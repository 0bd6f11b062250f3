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
import type { ActiveWindow, PromotionCalendar } from './calendar.js';
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
  | 'scale-down-delay'
  | 'held-by-floor'
  | 'ineffective-scale-up';

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
    /** Promotion calendar floors (calendar.ts); absent = reactive only. */
    private readonly calendar?: PromotionCalendar,
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
    const restartMs = await this.restartTime(job, snapshot, now, s.restartMs);
    const uptime = num(facts.job.facts, 'job.uptime');
    if (uptime === undefined || uptime * 1000 < s.stabilizationMs) return skip('stabilizing');
    if (report.findings.some(blocks)) return skip('blocked-by-finding');

    const basis = Object.fromEntries(snapshot.vertices.map(v => [v.id, v.parallelism]));
    const names = Object.fromEntries(snapshot.vertices.map(v => [v.id, v.name]));
    const floor = await this.floor(job, snapshot, now, restartMs);
    const raise = floor !== undefined && Object.entries(floor.target).some(([id, p]) => (basis[id] ?? p) < p);
    // A floor is a scheduled desired state, not a reaction to noisy metrics: no cooldown holds it.
    if (!raise && (await this.store.getRecord('cooldown', job.jobKey, now)) !== undefined)
      return skip('cooldown');

    const reactive = await this.reactive(ctx, { ...s, restartMs }, basis, names, policy);
    let target: Record<string, number>;
    let direction: 'up' | 'down';
    if (raise) {
      // The floor, and whatever more the reactive planner wants now; a scale-down waits.
      const up = typeof reactive === 'object' && reactive.direction === 'up' ? reactive.target : basis;
      const merged = maxPerVertex(floor.target, up);
      target = policy ? applyPolicyToTarget(policy, basis, merged, names) : merged;
      direction = 'up';
    } else {
      if (typeof reactive === 'string') return skip(reactive);
      ({ target, direction } = reactive);
      if (floor !== undefined && direction === 'down') target = maxPerVertex(floor.target, target);
    }
    if (Object.keys(target).every(id => target[id] === basis[id]))
      return skip(floor !== undefined ? 'held-by-floor' : 'within-band');

    const action = {
      kind: 'rescale' as const,
      jobKey: job.jobKey,
      incarnation: job.incarnation,
      basis: { parallelism: basis, observedAt: snapshot.observedAt },
      target,
    };
    const moves = Object.keys(target)
      .filter(id => target[id] !== basis[id])
      .map(id => `${names[id] ?? id} ${basis[id]} → ${target[id]}`);
    const why = raise
      ? `calendar ${floor.windows.map(w => w.id).join(', ')}: ${floor.windows[0]?.phase === 'lead' ? `pre-scale before the peak at ${new Date(floor.windows[0].start).toISOString()}` : 'floor'}: ${moves.join(', ')}${floor.capacityNote}`
      : `${direction === 'up' ? 'scale up' : 'scale down'}: ${moves.join(', ')} (sized for ${Math.round(s.targetUtilization * 100)}% utilization)`;
    const expectedRate = expectedRates(facts, basis, target);
    this.lastSkip.delete(job.jobKey);
    return [
      {
        ...action,
        id: plannedActionId(action),
        reason: why,
        findings: report.findings.filter(f => f.state === 'firing').map(f => f.fingerprint),
        mode: ctx.mode,
        createdAt: now,
        expiresAt: now + s.approvalTtlMs,
        status: 'planned',
        origin: raise ? 'calendar' : 'reactive',
        ...(expectedRate === undefined ? {} : { expectedRate }),
      },
    ];
  }

  /**
   * The reactive recommendation: a direction and an absolute target within the policy, or why
   * there is none. Scale-downs wait `scaleDownDelay` (timer in the store).
   */
  private async reactive(
    ctx: PlanContext,
    s: ReactiveSettings,
    basis: Readonly<Record<string, number>>,
    names: Readonly<Record<string, string>>,
    policy: EffectivePolicy | undefined,
  ): Promise<{ direction: 'up' | 'down'; target: Record<string, number> } | PlanSkip> {
    const { job, snapshot, facts, now } = ctx;
    const byId = new Map<string, SubjectFacts>(facts.vertices.map(v => [v.subject.id, v]));
    const catchUpSec = s.catchUpMs / 1000;
    const backlog = facts.sources.some(src => (num(src.facts, 'source.lagSeconds') ?? 0) > catchUpSec);
    const sized: Record<string, number> = {};
    let needsUp = false;
    let needsDown = false;
    for (const v of snapshot.vertices) {
      const f = byId.get(v.id)?.facts ?? {};
      const tpr = num(f, 'vertex.trueProcessingRate');
      const target = num(f, 'vertex.targetRate');
      if (target === undefined) return 'missing-data';
      if (tpr === undefined) {
        // Busy ~0 ms/s gives no processing-rate estimate, but says the vertex is not what holds
        // the job back: real Flink reports 0 for a rate-limited source held back by its consumer
        // (recordings, e2e). It keeps its parallelism; anything else unmeasured blocks planning.
        const busy = num(f, 'vertex.busyRatio.avg');
        if (busy === undefined || busy > IDLE_BUSY_RATIO) return 'missing-data';
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
      return 'within-band';
    }
    const bounded = policy ? applyPolicyToTarget(policy, basis, sized, names) : sized;
    // One direction per action: up (no vertex shrinks) or down (no vertex grows).
    const pick = needsUp ? Math.max : Math.min;
    let target = Object.fromEntries(Object.entries(bounded).map(([id, p]) => [id, pick(p, basis[id] ?? p)]));
    if (Object.keys(target).every(id => target[id] === basis[id])) return 'within-band';
    if (needsUp) {
      // A vertex whose last scale-up did not raise its processing rate is not scaled up past it again.
      const block = await this.store.getRecord<{ vertices?: Record<string, number> }>(
        'scale-up-block',
        job.jobKey,
        now,
      );
      for (const [id, cap] of Object.entries(block?.vertices ?? {}))
        if (target[id] !== undefined) target[id] = Math.max(basis[id] ?? 0, Math.min(target[id] ?? cap, cap));
      if (Object.keys(target).every(id => target[id] === basis[id])) return 'ineffective-scale-up';
      await this.store.deleteRecord('scale-down-timer', job.jobKey);
      return { direction: 'up', target };
    }
    const timer = await this.store.getRecord<ScaleDownTimer>('scale-down-timer', job.jobKey, now);
    const merged = timer ? maxPerVertex(timer.target, target) : target;
    const since = timer?.since ?? now;
    if (now - since < s.scaleDownDelayMs) {
      await this.store.putRecord('scale-down-timer', job.jobKey, { since, target: merged });
      return 'scale-down-delay';
    }
    target = merged;
    await this.store.deleteRecord('scale-down-timer', job.jobKey);
    return { direction: 'down', target };
  }

  /**
   * The job's restart time: the slowest of its last measured rescales (from the executor's
   * cooldown record, written at the write, to the job's next RUNNING), else the default.
   */
  private async restartTime(
    job: JobRef,
    snapshot: PlanContext['snapshot'],
    now: number,
    fallback: number,
  ): Promise<number> {
    const known = await this.store.getRecord<RestartTimes>('restart-time', job.jobKey, now);
    const cooldown = await this.store.getRecord<{ actionId?: unknown; at?: unknown }>(
      'cooldown',
      job.jobKey,
      now,
    );
    const since = snapshot.jobStatus?.runningSince;
    if (
      typeof cooldown?.at === 'number' &&
      typeof cooldown.actionId === 'string' &&
      since !== undefined &&
      since > cooldown.at &&
      known?.lastActionId !== cooldown.actionId
    ) {
      const samples = [...(known?.samples ?? []), since - cooldown.at].slice(-RESTART_SAMPLES);
      await this.store.putRecord('restart-time', job.jobKey, { lastActionId: cooldown.actionId, samples });
      return Math.max(...samples);
    }
    return known && known.samples.length > 0 ? Math.max(...known.samples) : fallback;
  }

  /** The highest floor of the calendar windows active for the job now, with the capacity it needs. */
  private async floor(
    job: JobRef,
    snapshot: PlanContext['snapshot'],
    now: number,
    restartMs: number,
  ): Promise<{ windows: ActiveWindow[]; target: Record<string, number>; capacityNote: string } | undefined> {
    const windows = this.calendar?.active(job, now, restartMs) ?? [];
    if (windows.length === 0) return undefined;
    const target: Record<string, number> = {};
    for (const w of windows) {
      let baseline: Record<string, number> | undefined;
      if (w.needsBaseline) {
        // Captured once, when the window became active for the job: later floors multiply it, not themselves.
        const key = `baseline:${w.id}:${job.jobKey}`;
        baseline = await this.store.getRecord<Record<string, number>>('floor', key, now);
        if (baseline === undefined) {
          baseline = Object.fromEntries(snapshot.vertices.map(v => [v.id, v.parallelism]));
          await this.store.putRecord('floor', key, baseline, w.until + DAY);
        }
      }
      for (const [id, p] of Object.entries(w.floor(snapshot.vertices, baseline)))
        target[id] = Math.max(target[id] ?? 0, p);
    }
    const needed = snapshot.vertices.reduce(
      (n, v) => n + Math.max(0, (target[v.id] ?? 0) - v.parallelism),
      0,
    );
    const free = snapshot.cluster.slotsAvailable;
    // A session cluster has the slots it has; on Kubernetes the operator provisions TaskManagers.
    const capacityNote =
      job.origin !== 'k8s' && free !== undefined && needed > free
        ? ` (needs ${needed} more slots, the cluster has ${free} free: the floor may not be met)`
        : '';
    return { windows, target, capacityNote };
  }
}

interface RestartTimes {
  lastActionId: string;
  samples: number[];
}

/** Restart times kept per job; the slowest of them sets `lead: auto`. */
const RESTART_SAMPLES = 3;
const DAY = 86_400_000;

/**
 * What a scale-up should do to each grown vertex's true processing rate: grow with the
 * parallelism (the operator's linear assumption; verification allows for far less).
 */
function expectedRates(
  facts: PlanContext['facts'],
  basis: Readonly<Record<string, number>>,
  target: Readonly<Record<string, number>>,
): Record<string, { before: number; after: number }> | undefined {
  const out: Record<string, { before: number; after: number }> = {};
  for (const v of facts.vertices) {
    const id = v.subject.id;
    const from = basis[id];
    const to = target[id];
    const tpr = num(v.facts, 'vertex.trueProcessingRate');
    if (from === undefined || to === undefined || to <= from || tpr === undefined) continue;
    out[id] = { before: tpr, after: (tpr * to) / from };
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function blocks(f: Finding): boolean {
  return f.state === 'firing' && (f.action.kind === 'block-scaling' || BLOCKING_CATEGORIES.has(f.category));
}

function maxPerVertex(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { ...b };
  for (const [id, p] of Object.entries(a)) if (out[id] !== undefined) out[id] = Math.max(out[id] ?? p, p);
  return out;
}
