import { fleetSafety } from '../../../src/agents/select/policies/safety.js';
import { ConflictError, type LiveState, type RescaleBackend } from '../../../src/actions/backend.js';
import type { CircuitOpenEvent } from '../../../src/actions/circuit-breaker.js';
import { ActionExecutor, executorSettings } from '../../../src/actions/executor.js';
import { compileConfig } from '../../../src/config/load.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import {
  plannedActionId,
  VirtualClock,
  type HealthReport,
  type JobRef,
  type PlannedAction,
} from '../../../src/domain/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import type { Store } from '../../../src/state/store.js';
import { createLogger } from '../../../src/telemetry/logger.js';

export function jobRef(name: string, cluster = 'c1', over: Partial<JobRef> = {}): JobRef {
  return {
    jobKey: `rest:${cluster}/${name}`,
    incarnation: `${name}-1`,
    origin: 'rest',
    cluster,
    name,
    flinkJobId: `${name}-1`,
    restUrl: 'http://jm:8081',
    labels: {},
    ...over,
  };
}

/** A backend that records every write and applies it to its live state. */
export class FakeBackend implements RescaleBackend {
  readonly live = new Map<string, LiveState>();
  readonly writes: { jobKey: string; target: Record<string, number>; resourceVersion?: string }[] = [];
  reads = 0;
  /** Makes the next writes fail: a conflict, or another error. */
  failWith: (() => Error) | undefined;
  /** Called on every read (e.g. to pause the fleet between the rails and the write). */
  onRead: ((job: JobRef) => Promise<void>) | undefined;
  /** Writes are acknowledged but do not change the live parallelism (an ineffective rescale). */
  ignoreWrites = false;

  set(job: JobRef, parallelism: Record<string, number>, over: Partial<LiveState> = {}): void {
    this.live.set(job.jobKey, { incarnation: job.incarnation, parallelism, resourceVersion: '1', ...over });
  }

  async readLive(job: JobRef): Promise<LiveState> {
    this.reads += 1;
    await this.onRead?.(job);
    const l = this.live.get(job.jobKey);
    if (!l) throw new Error(`no job ${job.jobKey}`);
    return structuredClone(l);
  }

  write(job: JobRef, target: Record<string, number>, basis: { resourceVersion?: string }): Promise<void> {
    if (this.failWith) return Promise.reject(this.failWith());
    this.writes.push({ jobKey: job.jobKey, target: { ...target }, ...basis });
    const l = this.live.get(job.jobKey);
    if (l && !this.ignoreWrites)
      this.live.set(job.jobKey, {
        ...l,
        parallelism: { ...target },
        resourceVersion: String(Number(l.resourceVersion ?? 0) + 1),
      });
    return Promise.resolve();
  }
}

export const conflict = (): Error => new ConflictError();
export const boom = (): Error => Object.assign(new Error('503 from the JobManager'), { code: 'HTTP_503' });

export interface Harness {
  clock: VirtualClock;
  store: Store;
  backend: FakeBackend;
  executor: ActionExecutor;
  circuitEvents: CircuitOpenEvent[];
  /** A rescale of `job` from `from` to `to` on vertex v1 (v2 stays at 2), planned now. */
  action(job: JobRef, from: number, to: number, over?: Partial<PlannedAction>): PlannedAction;
  journal(actionId: string): Promise<{ status: string; detail?: string }[]>;
  report(job: JobRef, state?: string): HealthReport;
}

export function harness(
  config: ConfigInput = {},
  store: Store = new MemoryStore(),
  clock = new VirtualClock(),
): Harness {
  const cfg = compileConfig(config);
  const backend = new FakeBackend();
  const circuitEvents: CircuitOpenEvent[] = [];
  const executor = new ActionExecutor({
    store,
    clock,
    backend,
    log: createLogger({ level: 'silent' }),
    settings: executorSettings(cfg),
    safety: fleetSafety(store, cfg),
    onCircuitOpen: e => circuitEvents.push(e),
  });
  return {
    clock,
    store,
    backend,
    executor,
    circuitEvents,
    action(job, from, to, over = {}) {
      const base = {
        kind: 'rescale' as const,
        jobKey: job.jobKey,
        incarnation: job.incarnation,
        basis: { parallelism: { v1: from, v2: 2 }, observedAt: clock.now() },
        target: { v1: to, v2: 2 },
      };
      return {
        ...base,
        id: plannedActionId(base),
        reason: `scale v1 ${from} → ${to}`,
        findings: [],
        mode: 'auto',
        createdAt: clock.now(),
        expiresAt: clock.now() + cfg.actions.approvalTtl,
        status: 'planned',
        ...over,
      };
    },
    async journal(actionId) {
      return (await store.readJournal({ actionId }))
        .reverse()
        .map(e => (e.detail === undefined ? { status: e.status } : { status: e.status, detail: e.detail }));
    },
    report(job, state = 'RUNNING') {
      return {
        schemaVersion: 1,
        id: job.jobKey,
        cluster: job.cluster,
        name: job.name,
        flinkJobId: job.flinkJobId,
        state,
        dataState: 'ok',
        observedAt: clock.now(),
        score: 100,
        risk: 'low',
        scoreBreakdown: [],
        firstAction: null,
        findings: [],
        actions: [],
        mode: 'auto',
        labels: {},
        rulesVersion: 'test',
        updatedAt: clock.now(),
      };
    },
  };
}
