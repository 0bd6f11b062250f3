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
import type { Forecast, RateForecaster } from './forecast.js';
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
 *   medium or high availability / connector / GC / memory / checkpoint / node finding): more
 *   subtasks do not fix those.
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
    /** Input-rate forecast (forecast.ts); absent = no forecast. */
    private readonly forecaster?: RateForecaster,
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
    const input = sourceInput(facts);
    if (input !== undefined) await this.forecaster?.observe(job, now, input.read, input.pending);
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

    const forecast =
      input === undefined
        ? undefined
        : await this.forecaster?.forecast(
            job,
            now,
            restartMs + this.forecaster.settings.marginMs,
            t => (this.calendar?.active(job, t, restartMs).length ?? 0) > 0,
          );
    // Only a rise counts: the forecast sizes up or holds a scale-down back, never scales down.
    const growth =
      forecast !== undefined && forecast.level > 0 ? Math.max(1, forecast.rate / forecast.level) : 1;
    const reactive = await this.reactive(ctx, { ...s, restartMs }, basis, names, policy, {
      growth,
      known: forecast !== undefined,
    });
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
    const byForecast =
      !raise && typeof reactive === 'object' && reactive.byForecast && forecast !== undefined;
    const why = raise
      ? `calendar ${floor.windows.map(w => w.id).join(', ')}: ${floor.windows[0]?.phase === 'lead' ? `pre-scale before the peak at ${new Date(floor.windows[0].start).toISOString()}` : 'floor'}: ${moves.join(', ')}${floor.capacityNote}`
      : `${direction === 'up' ? 'scale up' : 'scale down'}: ${moves.join(', ')} (sized for ${Math.round(s.targetUtilization * 100)}% utilization${byForecast ? `; ${describeForecast(forecast)}` : ''})`;
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
        origin: raise ? 'calendar' : byForecast ? 'forecast' : 'reactive',
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
    /**
     * growth: forecast input rate ÷ current level (≥ 1). known: the job has enough history for a
     * forecast; then a scale-up is due when the forecast load would saturate a vertex before a
     * rescale started now is done, else (no history) when a vertex is above the band now.
     */
    outlook: { growth: number; known: boolean },
  ): Promise<{ direction: 'up' | 'down'; target: Record<string, number>; byForecast: boolean } | PlanSkip> {
    const { job, snapshot, facts, now } = ctx;
    const byId = new Map<string, SubjectFacts>(facts.vertices.map(v => [v.subject.id, v]));
    const catchUpSec = s.catchUpMs / 1000;
    const backlog = facts.sources.some(src => (num(src.facts, 'source.lagSeconds') ?? 0) > catchUpSec);
    // The part of every target rate that works off the sources' backlog (detect adds backlog ÷
    // catch-up to the input rate). Like the operator's CATCH_UP it is added to the capacity, not
    // divided by the target utilization: catching up may use the headroom, and the forecast
    // grows only the input part.
    const catchUpShare = backlogShare(facts, byId, catchUpSec);
    const sized: Record<string, number> = {};
    let needsUp = false;
    let needsDown = false;
    /** Only the forecast finds a vertex below the band (the load has not arrived yet). */
    let forecastUp = false;
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
      const c = {
        targetRate: target * (1 - catchUpShare),
        catchUpRate: target * catchUpShare,
        restartSec: s.restartMs / 1000,
        catchUpSec,
      };
      const band = utilizationBand(c, s.band, backlog);
      // The forecast target: what the vertex will have to carry once a rescale started now is done.
      const ahead = { ...c, targetRate: c.targetRate * outlook.growth };
      const saturates = (x: typeof c): boolean =>
        tpr < requiredCapacity({ ...x, utilization: 1, withRestart: false });
      if (outlook.known ? saturates(c) : tpr < band.scaleUpBelow) needsUp = true;
      else if (outlook.known && outlook.growth > 1 && saturates(ahead)) forecastUp = true;
      else if (tpr > band.scaleDownAbove) needsDown = true;
      sized[v.id] = targetParallelism({
        parallelism: v.parallelism,
        trueProcessingRate: tpr,
        capacity: requiredCapacity({ ...ahead, utilization: s.targetUtilization, withRestart: true }),
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
    const reactiveUp = needsUp;
    // A forecast rise outranks a scale-down: nothing shrinks below what the forecast needs.
    if (forecastUp) {
      needsUp = true;
      needsDown = false;
    }
    // Capacity a scale-up added to work off a backlog is given back once the backlog is gone,
    // without the scale-down delay: why it was there is known, and it is no longer needed.
    const lentKey = `catch-up:${job.jobKey}`;
    let giveBack = false;
    if (!needsUp && catchUpShare < CAUGHT_UP_BELOW) {
      const lent = await this.store.getRecord<{ at: number }>('floor', lentKey, now);
      const sum = (m: Readonly<Record<string, number>>): number =>
        snapshot.vertices.reduce((a, v) => a + (m[v.id] ?? 0), 0);
      if (lent !== undefined && sum(sized) <= (1 - GIVE_BACK_AT_LEAST) * sum(basis)) {
        giveBack = true;
        needsDown = true;
      }
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
      if (catchUpShare >= LENDS_CATCH_UP_FROM)
        await this.store.putRecord('floor', lentKey, { at: now }, now + s.scaleDownDelayMs);
      return { direction: 'up', target, byForecast: forecastUp && !reactiveUp };
    }
    if (giveBack) {
      await this.store.deleteRecord('floor', lentKey);
      await this.store.deleteRecord('scale-down-timer', job.jobKey);
      return { direction: 'down', target, byForecast: false };
    }
    const timer = await this.store.getRecord<ScaleDownTimer>('scale-down-timer', job.jobKey, now);
    const merged = timer ? maxPerVertex(timer.target, target) : target;
    const since = timer?.since ?? now;
    // A calendar window's release is the announced end of a peak: a scale-down wanted since
    // before it was released does not wait out the rest of the delay.
    const released = this.calendar?.releasedSince(job, since, now, s.restartMs) === true;
    if (now - since < s.scaleDownDelayMs && !released) {
      await this.store.putRecord('scale-down-timer', job.jobKey, { since, target: merged });
      return 'scale-down-delay';
    }
    // After an announced end, what the load needs now; otherwise the highest wish of the wait.
    if (!released) target = merged;
    await this.store.deleteRecord('scale-down-timer', job.jobKey);
    return { direction: 'down', target, byForecast: false };
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

/** A scale-up with at least this share of catch-up capacity lends it (given back once caught up). */
const LENDS_CATCH_UP_FROM = 0.1;
/** Caught up: the backlog is below this share of the sources' target rate. */
const CAUGHT_UP_BELOW = 0.02;
/** Lent capacity is given back only when it is at least this share of the job's subtasks. */
const GIVE_BACK_AT_LEAST = 0.1;

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

/** What the job's sources read (records/s) and what waits in front of them; absent without rates. */
function sourceInput(facts: PlanContext['facts']): { read: number; pending: number } | undefined {
  let out: { read: number; pending: number } | undefined;
  for (const src of facts.sources) {
    const read = num(src.facts, 'source.recordsRate');
    if (read === undefined) continue;
    out = {
      read: (out?.read ?? 0) + read,
      pending: (out?.pending ?? 0) + (num(src.facts, 'source.pendingRecords') ?? 0),
    };
  }
  return out;
}

/** Share of the sources' target rate that is backlog ÷ catch-up (0 without a backlog). */
function backlogShare(
  facts: PlanContext['facts'],
  byId: ReadonlyMap<string, SubjectFacts>,
  catchUpSec: number,
): number {
  let total = 0;
  let catchUp = 0;
  for (const src of facts.sources) {
    total += num(byId.get(src.subject.id)?.facts ?? {}, 'vertex.targetRate') ?? 0;
    catchUp += (num(src.facts, 'source.pendingRecords') ?? 0) / catchUpSec;
  }
  return total > 0 && catchUpSec > 0 ? Math.min(1, catchUp / total) : 0;
}

function describeForecast(f: Forecast): string {
  if (f.basis === 'level') return `forecast: no rise from ${Math.round(f.level)}/s`;
  const what =
    f.basis === 'trend'
      ? 'trend'
      : `same time ${f.seasonMs === DAY ? 'yesterday' : `${Math.round((f.seasonMs ?? 0) / DAY)} d ago`}`;
  return `forecast ${Math.round(f.rate)}/s in ${Math.round(f.horizonMs / 1000)} s from ${Math.round(f.level)}/s (${what})`;
}

/**
 * A firing `block-scaling` finding, or one of a blocking category that matters: a low one is
 * advice that says there is nothing to do (e.g. one checkpoint that failed during a rescale's
 * restart), and must not hold a saturated job at its parallelism for the rule's window.
 */
function blocks(f: Finding): boolean {
  return (
    f.state === 'firing' &&
    (f.action.kind === 'block-scaling' || (BLOCKING_CATEGORIES.has(f.category) && f.severity !== 'low'))
  );
}

function maxPerVertex(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { ...b };
  for (const [id, p] of Object.entries(a)) if (out[id] !== undefined) out[id] = Math.max(out[id] ?? p, p);
  return out;
}
