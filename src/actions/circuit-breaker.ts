import type { JobRef } from '../domain/index.js';
import type { Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';
import { KeyedMutex } from './mutex.js';
import {
  CircuitRecordSchema,
  RAIL_KIND,
  circuitKey,
  readRecord,
  type CircuitRecord,
  type Outcome,
} from './records.js';

export interface CircuitBreakerSettings {
  /** How many of a cluster's last executed actions are looked at. */
  window: number;
  /** Bad outcomes in the window that open the circuit. */
  maxFailures: number;
  /** A job failure this soon after an action counts against the action. */
  failureWithinMs: number;
  /** How long an open circuit forces approve mode. */
  openForMs: number;
}

export interface CircuitOpenEvent {
  cluster: string;
  reason: string;
  since: number;
  until: number;
}

/**
 * Per cluster: when at least `maxFailures` of the last `window` executed actions failed or were
 * followed by a job failure within `failureWithin`, the cluster drops to approve mode for
 * `openFor`. State lives in the store (it survives a restart and is shared by replicas); opening
 * logs one error and calls the alert hook once.
 */
export class CircuitBreaker {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly store: Store,
    private readonly settings: CircuitBreakerSettings,
    private readonly log: Logger,
    private readonly onOpen?: (e: CircuitOpenEvent) => void,
  ) {}

  private read(cluster: string, now: number): Promise<CircuitRecord | undefined> {
    return readRecord(this.store, RAIL_KIND, circuitKey(cluster), CircuitRecordSchema, now);
  }

  /** The open circuit of a cluster, if it is open now. */
  async openState(cluster: string, now: number): Promise<CircuitRecord['open']> {
    const r = await this.read(cluster, now);
    return r?.open !== undefined && now < r.open.until ? r.open : undefined;
  }

  async outcomes(cluster: string, now: number): Promise<Outcome[]> {
    return (await this.read(cluster, now))?.outcomes ?? [];
  }

  /** Records (or replaces, by action id) an executed action's outcome and re-evaluates. */
  record(cluster: string, outcome: Outcome, now: number): Promise<void> {
    return this.mutex.run(cluster, async () => {
      const r = (await this.read(cluster, now)) ?? { outcomes: [] };
      const outcomes = [...r.outcomes.filter(o => o.actionId !== outcome.actionId), outcome]
        .sort((a, b) => a.at - b.at)
        .slice(-this.settings.window);
      await this.save(cluster, { ...r, outcomes }, now);
    });
  }

  /**
   * The job failed at `failedAt`: its actions executed within `failureWithin` before that count
   * as bad outcomes.
   */
  jobFailed(job: Pick<JobRef, 'cluster' | 'jobKey'>, failedAt: number, now: number): Promise<void> {
    return this.mutex.run(job.cluster, () => this.markJobFailed(job, failedAt, now));
  }

  private async markJobFailed(
    job: Pick<JobRef, 'cluster' | 'jobKey'>,
    failedAt: number,
    now: number,
  ): Promise<void> {
    const r = await this.read(job.cluster, now);
    if (!r) return;
    let changed = false;
    const outcomes = r.outcomes.map(o => {
      const hit =
        o.jobKey === job.jobKey &&
        o.result === 'ok' &&
        failedAt >= o.at &&
        failedAt - o.at <= this.settings.failureWithinMs;
      if (!hit) return o;
      changed = true;
      return { ...o, result: 'job-failed' as const };
    });
    if (changed) await this.save(job.cluster, { ...r, outcomes }, now);
  }

  /** Closes the circuit and forgets the outcomes. */
  reset(cluster: string): Promise<void> {
    return this.mutex.run(cluster, () => this.store.deleteRecord(RAIL_KIND, circuitKey(cluster)));
  }

  private async save(cluster: string, r: CircuitRecord, now: number): Promise<void> {
    const bad = r.outcomes.filter(o => o.result !== 'ok');
    const alreadyOpen = r.open !== undefined && now < r.open.until;
    let next = r;
    if (!alreadyOpen && bad.length >= this.settings.maxFailures) {
      const failed = bad.filter(o => o.result === 'failed').length;
      const reason =
        `${bad.length} of the last ${r.outcomes.length} actions in cluster ${cluster} went wrong ` +
        `(${failed} failed, ${bad.length - failed} followed by a job failure): approve mode until reset`;
      next = { ...r, open: { since: now, until: now + this.settings.openForMs, reason } };
      this.log.error(
        { cluster, bad: bad.length, window: r.outcomes.length, until: next.open?.until },
        'circuit breaker opened: cluster forced to approve mode',
      );
      this.onOpen?.({ cluster, reason, since: now, until: now + this.settings.openForMs });
    }
    // An open circuit's record ends with it: outcomes and all, so a closed cluster starts afresh.
    await this.store.putRecord(RAIL_KIND, circuitKey(cluster), next, next.open?.until);
  }
}
