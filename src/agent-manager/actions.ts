import type { Executor, Planner } from '../agents/agent.js';
import { withOptIn } from '../agents/select/policies/policy.js';
import { PromotionCalendar } from '../agents/select/autoscaler/calendar.js';
import { RateForecaster, type ForecastSettings } from '../agents/select/autoscaler/forecast.js';
import { DEFAULT_REACTIVE, ReactivePlanner } from '../agents/select/autoscaler/planner.js';
import type { FleetSafety } from '../agents/select/policies/safety.js';
import { ActionExecutor, executorSettings } from '../actions/executor.js';
import type { RescaleBackend } from '../actions/backend.js';
import type { CircuitOpenEvent } from '../actions/circuit-breaker.js';
import { ControlError, type ActionControl } from '../api/controls.js';
import type { Config } from '../config/schema.js';
import type { Clock, JobFacts } from '../domain/index.js';
import type { Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';

/** The cycle's true processing rate per vertex (what verification compares with an action's expectation). */
function observedRates(facts: JobFacts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of facts.vertices) {
    const r = v.facts['vertex.trueProcessingRate'];
    if (typeof r === 'number' && Number.isFinite(r)) out[v.subject.id] = r;
  }
  return out;
}

/** Verification waits this many stabilization periods after the write (restart + settling). */
const VERIFY_AFTER_STABILIZATIONS = 2;

export interface ActionWiring {
  planner: Planner;
  executor: Executor;
  actions: ActionExecutor;
  controls: ActionControl;
}

/** The forecast's settings from the config's `autoscaler.forecast`. */
export function forecastSettings(config: Pick<Config, 'autoscaler'>): ForecastSettings {
  const f = config.autoscaler.forecast;
  return {
    enabled: f.enabled,
    resolutionMs: f.resolution,
    retentionMs: f.retention,
    trendWindowMs: f.trendWindow,
    marginMs: f.margin,
    horizonMs: f.horizon,
    minTrendConsistency: f.minTrendConsistency,
    maxSeasonalError: f.maxSeasonalError,
    seasonsMs: [f.daily, f.weekly],
  };
}

/** Maps the executor's refusals (they carry a `kind`) to the API's 404 / 409. */
async function asControl<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    const kind = (err as { kind?: unknown }).kind;
    if (kind === 'not_found' || kind === 'conflict') throw new ControlError(kind, (err as Error).message);
    throw err;
  }
}

/**
 * The acting half of the daemon: the reactive planner proposes, the executor runs each
 * proposal through the fleet rails and the PlannedAction protocol, and every executed action is
 * verified once its job has been back in RUNNING for the stabilization time.
 */
export function wireActions(deps: {
  config: Config;
  store: Store;
  clock: Clock;
  log: Logger;
  backend: RescaleBackend;
  safety: FleetSafety;
  /** Also told when a cluster's circuit breaker opens (the alert pipeline). */
  onCircuitOpen?: (e: CircuitOpenEvent) => void;
}): ActionWiring {
  const { config, store, clock, log } = deps;
  const planner = new ReactivePlanner(
    {
      ...DEFAULT_REACTIVE,
      targetUtilization: config.autoscaler.targetUtilization,
      catchUpMs: config.autoscaler.catchUp,
      restartMs: config.autoscaler.restartTime,
      stabilizationMs: config.actions.stabilization,
      cooldownMs: config.actions.cooldown,
      scaleDownDelayMs: config.actions.scaleDownDelay,
      approvalTtlMs: config.actions.approvalTtl,
    },
    store,
    job => deps.safety.policy(job),
    new PromotionCalendar(config.calendar, {
      marginMs: config.autoscaler.calendarMargin,
      staggerMs: config.autoscaler.calendarStagger,
      releaseMs: config.autoscaler.calendarRelease,
    }),
    new RateForecaster(forecastSettings(config), store),
  );
  const actions = new ActionExecutor({
    store,
    clock,
    backend: deps.backend,
    log,
    settings: executorSettings(config),
    safety: deps.safety,
    onCircuitOpen: e => {
      log.error({ ...e }, 'circuit breaker open: cluster forced to approve mode');
      deps.onCircuitOpen?.(e);
    },
  });
  const verifyAfterMs = VERIFY_AFTER_STABILIZATIONS * config.actions.stabilization;
  const executor: Executor = {
    async execute(report, planned, job, facts) {
      const recent = await store.readJournal({ jobKey: job.jobKey, limit: 50 });
      if (recent.some(e => e.status === 'executing')) await actions.reconcile(job, recent);
      await actions.execute(report, planned, job);
      if (report.state !== 'RUNNING') return;
      const now = clock.now();
      // Rates right after the restart are not the vertex's capacity yet (gauges start at full
      // busy, the backlog drains): verification waits until the job has run for the stabilization time.
      const uptime = facts?.job.facts['job.uptime'];
      if (typeof uptime === 'number' && uptime * 1000 < config.actions.stabilization) return;
      const journal = await store.readJournal({ jobKey: job.jobKey, limit: 50 });
      const decided = new Set(
        journal.filter(e => e.status === 'verified' || e.status === 'ineffective').map(e => e.actionId),
      );
      for (const e of journal) {
        if (e.status !== 'executed' || decided.has(e.actionId) || now - e.at < verifyAfterMs) continue;
        decided.add(e.actionId);
        await actions
          .verify(e.actionId, job, facts === undefined ? undefined : observedRates(facts))
          .catch((err: unknown) =>
            log.warn({ actionId: e.actionId, err: (err as Error).message }, 'verification failed'),
          );
      }
    },
  };
  const controls: ActionControl = {
    approve: (id, by, reason) => asControl(() => actions.approve(id, by, reason)),
    reject: (id, by, reason) => asControl(() => actions.reject(id, by, reason)),
  };
  return { planner: withOptIn(planner, job => deps.safety.policy(job)), executor, actions, controls };
}
