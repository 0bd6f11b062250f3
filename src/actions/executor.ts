import type { Executor } from '../agents/agent.js';
import type { PolicyMode } from '../config/safety-schema.js';
import type { Config } from '../config/schema.js';
import type {
  Clock,
  HealthReport,
  JobRef,
  ParallelismMap,
  PlannedAction,
  PlannedActionOrigin,
  PlannedActionStatus,
} from '../domain/index.js';
import { LockBusyError, type Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';
import {
  ConflictError,
  OutcomeUnknownError,
  RescaleRefusedError,
  type LiveState,
  type RescaleBackend,
} from './backend.js';
import { ActionCaps, type CapSettings } from './caps.js';
import { CircuitBreaker, type CircuitBreakerSettings, type CircuitOpenEvent } from './circuit-breaker.js';
import { ActionNotFoundError, ActionStateError, ApprovalExpiredError } from './errors.js';
import {
  ApprovalRecordSchema,
  PlannedActionSchema,
  RAIL_KIND,
  InFlightRecordSchema,
  inFlightKey,
  readRecord,
  type ApprovalRecord,
} from './records.js';

/**
 * The PlannedAction protocol: every write to Flink or Kubernetes goes through `execute`.
 *
 * 0. Rails, checked right before the write: opt-out (`off`), pause (fleet, cluster, job),
 *    freeze (only calendar floors pass where allowed), dry-run, approval (approve mode, or a
 *    cluster whose circuit breaker is open), then — under the job's lock — the daily cap per
 *    job and the concurrency caps per cluster and fleet.
 * 1. The job's action lock (`store.withLock`, fenced).
 * 2. Journal `executing`.
 * 3. Re-read live state: live = target → `noop` (or `executed` when an earlier run wrote and
 *    died before journaling it); live ≠ basis or another incarnation → `skipped` stale-basis;
 *    past `expiresAt` → `expired`. The pause and freeze are looked at once more here.
 * 4. Write the absolute target through the backend; a conflict is journaled `failed` (conflict)
 *    and never re-sent: the planner re-plans from fresh data.
 * 5. Journal the outcome; an executed action starts the job's cooldown and counts in the
 *    cluster's circuit breaker.
 * 6. Later, `verify` compares observed parallelism to the target: `verified` or `ineffective`.
 *
 * Every skip carries a machine-readable reason in `detail`. The journal is idempotent by
 * (action id, status), and an action that already reached an outcome is never run again, so a
 * replayed action never writes twice.
 */

/** What the executor asks of the fleet's policy (built by `fleetSafety` in select/policies). */
export interface JobSafety {
  mode(job: JobRef): PolicyMode;
  pause(job: JobRef, now: number): Promise<{ scope: { kind: 'fleet' | 'cluster' | 'job' } } | undefined>;
  blockingFreeze(job: JobRef, now: number, origin: PlannedActionOrigin): { id: string } | undefined;
}

export interface ExecutorSettings extends CapSettings {
  approvalTtlMs: number;
  cooldownMs: number;
  /** How long a vertex whose scale-up was ineffective is not scaled up again past it. */
  ineffectiveBlockMs: number;
  circuitBreaker: CircuitBreakerSettings;
}

export function executorSettings(config: Pick<Config, 'rails' | 'actions'>): ExecutorSettings {
  const r = config.rails;
  return {
    maxConcurrentPerCluster: r.maxConcurrentPerCluster,
    maxConcurrentFleet: r.maxConcurrentFleet,
    maxActionsPerJobPerDay: r.maxActionsPerJobPerDay,
    jobActionWindowMs: r.jobActionWindow,
    inFlightForMs: r.inFlightFor,
    lockTtlMs: r.lockTtl,
    approvalTtlMs: config.actions.approvalTtl,
    cooldownMs: config.actions.cooldown,
    ineffectiveBlockMs: config.actions.ineffectiveBlock,
    circuitBreaker: {
      window: r.circuitBreaker.window,
      maxFailures: r.circuitBreaker.maxFailures,
      failureWithinMs: r.circuitBreaker.failureWithin,
      openForMs: r.circuitBreaker.openFor,
    },
  };
}

export interface ExecutorDeps {
  store: Store;
  clock: Clock;
  backend: RescaleBackend;
  log: Logger;
  settings: ExecutorSettings;
  safety: JobSafety;
  /** Alert hook: called once when a cluster's circuit breaker opens. */
  onCircuitOpen?: (e: CircuitOpenEvent) => void;
}

/**
 * What one run came to: a journaled status, `waiting` (for approval) or `deferred` (a lock was
 * busy: nothing journaled, the next cycle tries again).
 */
export interface ActionResult {
  actionId: string;
  status: PlannedActionStatus | 'waiting' | 'deferred';
  detail?: string;
}

/** Statuses after which an action id is never run again. */
const DONE: ReadonlySet<string> = new Set(['executed', 'noop', 'failed', 'verified', 'ineffective']);
const FAILED_STATES: ReadonlySet<string> = new Set(['FAILED', 'FAILING']);

type Gate = { kind: 'go' } | { kind: 'skip'; detail: string } | { kind: 'approval'; why: string };

export function sameParallelism(a: ParallelismMap, b: ParallelismMap): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every(k => a[k] === b[k]);
}

/** Gaining less than this share of the expected processing-rate gain makes a scale-up ineffective. */
const MIN_EFFECTIVE_GAIN = 0.1;

/** Scaled-up vertices whose observed true processing rate rose by less than a tenth of what was expected. */
function ineffectiveVertices(
  action: PlannedAction,
  observed: Readonly<Record<string, number>>,
): { vertex: string; before: number; after: number; observed: number }[] {
  const out: { vertex: string; before: number; after: number; observed: number }[] = [];
  for (const [vertex, e] of Object.entries(action.expectedRate ?? {})) {
    const seen = observed[vertex];
    if (seen === undefined || e.after <= e.before) continue;
    if (seen - e.before < MIN_EFFECTIVE_GAIN * (e.after - e.before))
      out.push({ vertex, before: e.before, after: e.after, observed: seen });
  }
  return out;
}

/** The job runs at the target, or the target is what was last asked for (a restart to it is under way). */
function atTarget(live: LiveState, target: ParallelismMap): boolean {
  return (
    sameParallelism(live.parallelism, target) ||
    (live.requested !== undefined && sameParallelism(live.requested, target))
  );
}

function describe(map: ParallelismMap): string {
  return Object.keys(map)
    .sort()
    .map(k => `${k}=${map[k]}`)
    .join(',');
}

export class ActionExecutor implements Executor {
  readonly breaker: CircuitBreaker;
  readonly caps: ActionCaps;

  constructor(private readonly deps: ExecutorDeps) {
    this.breaker = new CircuitBreaker(deps.store, deps.settings.circuitBreaker, deps.log, deps.onCircuitOpen);
    this.caps = new ActionCaps(deps.store, deps.settings);
  }

  /** The agent cycle's hook: notes a failed job for the circuit breaker, then runs each rescale. */
  async execute(report: HealthReport, actions: readonly PlannedAction[], job: JobRef): Promise<void> {
    const now = this.deps.clock.now();
    if (FAILED_STATES.has(report.state)) await this.breaker.jobFailed(job, report.observedAt ?? now, now);
    for (const action of actions) {
      if (action.kind !== 'rescale') continue;
      try {
        await this.executeAction(action, job);
      } catch (err) {
        this.deps.log.warn(
          { actionId: action.id, jobKey: job.jobKey, err: (err as Error).message },
          'action execution failed',
        );
      }
    }
  }

  /**
   * After a crash: actions of the job journaled `executing` with no outcome are looked at again.
   * Live parallelism at the target means the write went through before the process died: the
   * action is journaled `executed` (reconciled) without another write, whatever the rails say
   * now. Otherwise the action runs through the rails and the protocol again (it may still be
   * valid, stale or expired). Called once per cycle with the job's recent journal.
   */
  async reconcile(
    job: JobRef,
    journal: readonly { actionId: string; status: string; action?: unknown }[],
  ): Promise<void> {
    const closed = new Set(
      journal
        .filter(e => DONE.has(e.status) || e.status === 'skipped' || e.status === 'expired')
        .map(e => e.actionId),
    );
    const open = new Map<string, PlannedAction>();
    for (const e of journal) {
      if (e.status !== 'executing' || closed.has(e.actionId) || open.has(e.actionId)) continue;
      const parsed = PlannedActionSchema.safeParse(e.action);
      if (parsed.success && parsed.data.jobKey === job.jobKey) open.set(e.actionId, parsed.data);
    }
    for (const action of open.values()) {
      try {
        const live = await this.deps.backend.readLive(job);
        const result = atTarget(live, action.target)
          ? await this.run(action, job, await this.history(action.id))
          : await this.executeAction(action, job);
        this.deps.log.info(
          { actionId: action.id, jobKey: job.jobKey, status: result.status },
          'open action reconciled',
        );
      } catch (err) {
        this.deps.log.warn(
          { actionId: action.id, jobKey: job.jobKey, err: (err as Error).message },
          'open action not reconciled',
        );
      }
    }
  }

  /** Runs one planned action through the rails and, if they let it, the protocol. */
  async executeAction(action: PlannedAction, job: JobRef): Promise<ActionResult> {
    const history = await this.history(action.id);
    const done = [...history].find(s => DONE.has(s));
    if (done !== undefined)
      return { actionId: action.id, status: done as PlannedActionStatus, detail: 'replay' };
    const now = this.deps.clock.now();
    const gate = await this.gate(action, job, now, false);
    if (gate.kind === 'skip') return this.skip(action, gate.detail);
    if (gate.kind === 'approval') {
      const rec = await this.approval(action.id, now);
      if (rec?.state === 'rejected') return { actionId: action.id, status: 'skipped', detail: 'rejected' };
      if (rec?.state !== 'approved') {
        if (rec?.state === 'pending' && now < rec.expiresAt)
          return { actionId: action.id, status: 'waiting' };
        if (rec?.state === 'pending') await this.expire(rec, now);
        return this.requestApproval(action, job, gate.why, now);
      }
    }
    return this.run(action, job, history);
  }

  /** Approves a waiting action and runs it at once (steps 1–5, rails re-checked). */
  async approve(
    actionId: string,
    by: string,
    comment?: string,
  ): Promise<{ status: PlannedActionStatus; detail?: string }> {
    const now = this.deps.clock.now();
    const rec = await this.pending(actionId, now);
    const decided: ApprovalRecord = {
      ...rec,
      state: 'approved',
      decidedBy: by,
      decidedAt: now,
      ...(comment === undefined ? {} : { comment }),
    };
    await this.putApproval(decided);
    await this.journal(rec.action, 'approved', `by:${by}`);
    const history = await this.history(actionId);
    const gate = await this.gate(rec.action, rec.job, now, true);
    const result =
      gate.kind === 'skip'
        ? await this.skip(rec.action, gate.detail)
        : await this.run(rec.action, rec.job, history);
    const status = result.status === 'deferred' || result.status === 'waiting' ? 'approved' : result.status;
    return { status, ...(result.detail === undefined ? {} : { detail: result.detail }) };
  }

  /** Rejects a waiting action: journaled skipped, and the same action is not asked again until the request would have expired. */
  async reject(actionId: string, by: string, comment?: string): Promise<{ status: PlannedActionStatus }> {
    const now = this.deps.clock.now();
    const rec = await this.pending(actionId, now);
    await this.putApproval({
      ...rec,
      state: 'rejected',
      decidedBy: by,
      decidedAt: now,
      ...(comment === undefined ? {} : { comment }),
    });
    await this.journal(rec.action, 'skipped', `rejected:${by}`);
    return { status: 'skipped' };
  }

  /**
   * Step 6: compares the observed parallelism with the target of an executed action and, when
   * the cycle's observed true processing rates are given, each scaled-up vertex's rate with what
   * the action expected: a vertex that gained less than a tenth of the expected gain makes the
   * action `ineffective`, and that vertex is not scaled up past this parallelism again for
   * `ineffectiveBlockMs` (the planner reads the block). Journals `verified` or `ineffective`; the
   * action stops counting as in flight. A failure of the job reported by the backend counts
   * against the action in the circuit breaker.
   */
  async verify(
    actionId: string,
    job?: JobRef,
    observedRate?: Readonly<Record<string, number>>,
  ): Promise<{ status: PlannedActionStatus; detail?: string }> {
    const now = this.deps.clock.now();
    const entries = await this.deps.store.readJournal({ actionId });
    const verdict = entries.find(e => e.status === 'verified' || e.status === 'ineffective');
    if (verdict) return { status: verdict.status as PlannedActionStatus, detail: 'replay' };
    const executed = entries.find(e => e.status === 'executed');
    const parsed = PlannedActionSchema.safeParse(executed?.action);
    if (!executed || !parsed.success)
      throw new ActionStateError(actionId, entries[0]?.status ?? 'unknown', 'executed');
    const action = parsed.data;
    const target =
      job ??
      (await readRecord(this.deps.store, RAIL_KIND, inFlightKey(actionId), InFlightRecordSchema, now))?.job;
    if (!target) throw new ActionStateError(actionId, 'no longer in flight', 'in flight (pass the job)');
    const live = await this.deps.backend.readLive(target);
    // Not acted on yet (the operator has not observed the patch): no verdict, ask again next cycle.
    if (live.settled === false) return { status: 'executed', detail: 'not settled yet' };
    const parallelismOk = sameParallelism(live.parallelism, action.target);
    const slow = parallelismOk && observedRate ? ineffectiveVertices(action, observedRate) : [];
    const ok = parallelismOk && slow.length === 0;
    const detail =
      slow.length === 0
        ? `observed ${describe(live.parallelism)}`
        : `processing rate did not follow: ${slow.map(s => `${s.vertex} expected ${Math.round(s.after)}/s, observed ${Math.round(s.observed)}/s (was ${Math.round(s.before)}/s)`).join('; ')}`;
    await this.journal(action, ok ? 'verified' : 'ineffective', detail);
    if (slow.length > 0)
      await this.deps.store.putRecord(
        'scale-up-block',
        target.jobKey,
        {
          actionId,
          incarnation: action.incarnation,
          vertices: Object.fromEntries(slow.map(s => [s.vertex, action.target[s.vertex] ?? 0])),
        },
        now + this.deps.settings.ineffectiveBlockMs,
      );
    await this.caps.release(actionId);
    if (live.jobFailedSince !== undefined) await this.breaker.jobFailed(target, live.jobFailedSince, now);
    return { status: ok ? 'verified' : 'ineffective', detail };
  }

  /** Closes a cluster's circuit breaker (an operator decided it is safe again). */
  resetCircuit(cluster: string): Promise<void> {
    return this.breaker.reset(cluster);
  }

  // -------------------------------------------------------------------------------------------

  private async gate(action: PlannedAction, job: JobRef, now: number, approved: boolean): Promise<Gate> {
    const mode = this.deps.safety.mode(job);
    if (mode === 'off') return { kind: 'skip', detail: 'opt-out' };
    const late = await this.lateRails(action, job, now);
    if (late !== undefined) return { kind: 'skip', detail: late };
    if (mode === 'dry-run') return { kind: 'skip', detail: 'dry-run' };
    if (approved) return { kind: 'go' };
    if (await this.breaker.openState(job.cluster, now))
      return { kind: 'approval', why: `circuit-open:${job.cluster}` };
    return mode === 'approve' ? { kind: 'approval', why: 'approve-mode' } : { kind: 'go' };
  }

  /** The rails looked at again immediately before the write: the kill switch and freezes. */
  private async lateRails(action: PlannedAction, job: JobRef, now: number): Promise<string | undefined> {
    const paused = await this.deps.safety.pause(job, now);
    if (paused) return `paused:${paused.scope.kind}`;
    const freeze = this.deps.safety.blockingFreeze(job, now, action.origin ?? 'reactive');
    return freeze ? `freeze:${freeze.id}` : undefined;
  }

  /** Steps 1–5 under the job's action lock. */
  private async run(action: PlannedAction, job: JobRef, history: ReadonlySet<string>): Promise<ActionResult> {
    try {
      return await this.deps.store.withLock(`action:${job.jobKey}`, this.deps.settings.lockTtlMs, fence =>
        this.locked(action, job, history, fence),
      );
    } catch (err) {
      if (err instanceof LockBusyError)
        return { actionId: action.id, status: 'deferred', detail: 'lock-busy' };
      throw err;
    }
  }

  private async locked(
    action: PlannedAction,
    job: JobRef,
    history: ReadonlySet<string>,
    fence: number,
  ): Promise<ActionResult> {
    const { backend, log, clock } = this.deps;
    const cap = await this.caps.reserve(action, job, clock.now());
    if (cap === 'busy') return { actionId: action.id, status: 'deferred', detail: 'rails-busy' };
    if (cap !== undefined) return this.skip(action, cap);
    const reconciling = history.has('executing');
    await this.journal(action, 'executing', `fence:${fence}`);

    let live: LiveState;
    try {
      live = await backend.readLive(job);
    } catch (err) {
      // Nothing was written: `executing` stays open and the next run reconciles from step 3.
      await this.caps.release(action.id);
      log.warn(
        { actionId: action.id, jobKey: job.jobKey, err: (err as Error).message },
        'live state unreadable',
      );
      return { actionId: action.id, status: 'deferred', detail: 'live-unreadable' };
    }
    const now = clock.now();
    if (atTarget(live, action.target)) {
      const what = sameParallelism(live.parallelism, action.target) ? 'live' : 'requested';
      if (!reconciling) return this.finish(action, 'noop', `target already ${what}`);
      // An earlier run wrote and died before journaling: record what happened, write nothing.
      return this.executed(action, job, now, `reconciled: target already ${what}`);
    }
    if (
      live.incarnation !== action.incarnation ||
      !sameParallelism(live.parallelism, action.basis.parallelism)
    )
      return this.finish(action, 'skipped', 'stale-basis');
    if (now >= action.expiresAt) return this.finish(action, 'expired', 'expired');
    const late = await this.lateRails(action, job, now);
    if (late !== undefined) return this.finish(action, 'skipped', late);

    try {
      await backend.write(
        job,
        { ...action.target },
        live.resourceVersion === undefined ? {} : { resourceVersion: live.resourceVersion },
      );
    } catch (err) {
      if (err instanceof ConflictError) return this.finish(action, 'failed', 'conflict');
      if (err instanceof OutcomeUnknownError) {
        // Maybe written: `executing` stays open; the next cycle reconciles from the live state.
        await this.caps.release(action.id);
        log.warn({ actionId: action.id, jobKey: job.jobKey, err: err.message }, 'rescale outcome unknown');
        return { actionId: action.id, status: 'deferred', detail: 'outcome-unknown' };
      }
      if (err instanceof RescaleRefusedError) {
        log.warn({ actionId: action.id, jobKey: job.jobKey, reason: err.message }, 'rescale refused');
        return this.finish(action, 'skipped', `refused: ${err.message}`);
      }
      const code = (err as { code?: unknown }).code;
      log.error(
        { actionId: action.id, jobKey: job.jobKey, err: (err as Error).message, code },
        'rescale write failed',
      );
      await this.breaker.record(
        job.cluster,
        { actionId: action.id, jobKey: job.jobKey, at: now, result: 'failed' },
        now,
      );
      return this.finish(action, 'failed', `write-error:${typeof code === 'string' ? code : 'unknown'}`);
    }
    return this.executed(action, job, clock.now(), `target ${describe(action.target)}`);
  }

  /** An outcome without a write in flight: the in-flight slot is given back. */
  private async finish(
    action: PlannedAction,
    status: PlannedActionStatus,
    detail: string,
  ): Promise<ActionResult> {
    await this.caps.release(action.id);
    await this.journal(action, status, detail);
    return { actionId: action.id, status, detail };
  }

  private async executed(
    action: PlannedAction,
    job: JobRef,
    now: number,
    detail: string,
  ): Promise<ActionResult> {
    await this.journal(action, 'executed', detail);
    await this.deps.store.putRecord(
      'cooldown',
      job.jobKey,
      { actionId: action.id, at: now },
      now + this.deps.settings.cooldownMs,
    );
    await this.breaker.record(
      job.cluster,
      { actionId: action.id, jobKey: job.jobKey, at: now, result: 'ok' },
      now,
    );
    this.deps.log.info(
      { actionId: action.id, jobKey: job.jobKey, target: action.target },
      'rescale executed',
    );
    return { actionId: action.id, status: 'executed', detail };
  }

  private async skip(action: PlannedAction, detail: string): Promise<ActionResult> {
    const fresh = await this.journal(action, 'skipped', detail);
    if (fresh)
      this.deps.log.debug({ actionId: action.id, jobKey: action.jobKey, reason: detail }, 'action skipped');
    return { actionId: action.id, status: 'skipped', detail };
  }

  private journal(action: PlannedAction, status: PlannedActionStatus, detail?: string): Promise<boolean> {
    return this.deps.store.appendJournal({
      actionId: action.id,
      jobKey: action.jobKey,
      at: this.deps.clock.now(),
      status,
      ...(detail === undefined ? {} : { detail }),
      action: { ...action, status },
    });
  }

  private async history(actionId: string): Promise<Set<string>> {
    return new Set((await this.deps.store.readJournal({ actionId })).map(e => e.status));
  }

  // Approvals ----------------------------------------------------------------------------------

  private approval(actionId: string, now: number): Promise<ApprovalRecord | undefined> {
    return readRecord(this.deps.store, 'approval', actionId, ApprovalRecordSchema, now);
  }

  /** Kept for a second TTL after it lapses, so a late decision is told `expired`, not "unknown". */
  private putApproval(rec: ApprovalRecord): Promise<void> {
    return this.deps.store.putRecord(
      'approval',
      rec.action.id,
      rec,
      rec.expiresAt + this.deps.settings.approvalTtlMs,
    );
  }

  private async requestApproval(
    action: PlannedAction,
    job: JobRef,
    why: string,
    now: number,
  ): Promise<ActionResult> {
    await this.putApproval({
      action,
      job,
      state: 'pending',
      why,
      requestedAt: now,
      expiresAt: now + this.deps.settings.approvalTtlMs,
    });
    await this.journal(action, 'planned', `awaiting-approval:${why}`);
    return { actionId: action.id, status: 'waiting', detail: why };
  }

  private async expire(rec: ApprovalRecord, now: number): Promise<void> {
    await this.putApproval({ ...rec, state: 'expired', decidedAt: now });
    await this.journal(rec.action, 'expired', 'approval-ttl');
  }

  /** The waiting request for a decision; refuses unknown, decided and lapsed ones. */
  private async pending(actionId: string, now: number): Promise<ApprovalRecord> {
    const rec = await this.approval(actionId, now);
    if (!rec) throw new ActionNotFoundError(actionId);
    if (rec.state !== 'pending') throw new ActionStateError(actionId, rec.state, 'pending');
    if (now >= rec.expiresAt) {
      await this.expire(rec, now);
      throw new ApprovalExpiredError(actionId, rec.expiresAt);
    }
    return rec;
  }
}
