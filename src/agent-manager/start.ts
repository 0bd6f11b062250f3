import { Redis } from 'ioredis';
import type { Executor, Planner } from '../agents/agent.js';
import { resolveTokens } from '../api/auth.js';
import type { RescaleBackend } from '../actions/backend.js';
import { pauseControl } from '../agents/select/policies/fleet-state.js';
import { silenceControl } from './silences.js';
import { fleetSafety } from '../agents/select/policies/safety.js';
import { createApiServer } from '../api/server.js';
import { defaultRulesDir, loadRuleLibrary, readRuleSources, RuleLoadError } from '../config/rule-files.js';
import type { Config } from '../config/schema.js';
import { RealClock, type Clock, type ExceptionEntry, type HealthReport, type Rule } from '../domain/index.js';
import { compileClassifier, type ExceptionClassifier } from '../agents/detect/classify.js';
import {
  loadLogPatterns,
  logPatternClasses,
  unknownLogClassErrors,
  type LogPatternsFile,
} from '../config/log-patterns.js';
import { LogFeeds } from './log-feeds.js';
import { FileStore } from '../state/file-store.js';
import { RedisStore } from '../state/redis-store.js';
import type { Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';
import { createMetrics, type AutopilotMetrics } from '../telemetry/metrics.js';
import { AlertPipeline, resolveSinks } from '../actions/alerts/pipeline.js';
import { wireActions } from './actions.js';
import { BullmqScheduler } from './bullmq-scheduler.js';
import { Daemon, rulesVersionOf, storeDetectStates, type JobSource } from './daemon.js';

export interface AutopilotOptions {
  config: Config;
  sources: readonly JobSource[];
  log: Logger;
  clock?: Clock;
  planners?: readonly Planner[];
  executor?: Executor;
  onReport?: (report: HealthReport) => void;
  /** Serve the HTTP API, dashboard and /metrics (default true). */
  api?: boolean;
  /** Where rescales are written; without one the daemon only advises (no planner, no executor). */
  backend?: RescaleBackend;
}

export interface Autopilot {
  daemon: Daemon;
  store: Store;
  rules: readonly Rule[];
  rulesVersion: string;
  mode: 'standalone' | 'distributed';
  metrics: AutopilotMetrics;
  /** The alert pipeline, when sinks are configured. */
  alerts?: AlertPipeline;
  /** Base URL of the API, when it was started. */
  apiUrl?: string;
  close(): Promise<void>;
}

export class StartupError extends Error {
  readonly code = 'STARTUP_FAILED';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StartupError';
  }
}

export interface Library {
  rules: Rule[];
  version: string;
  /** Exception classifier from `log-patterns.json` (absent when the library has none). */
  classify?: (entry: ExceptionEntry) => string;
  classifier?: ExceptionClassifier;
  /** The classes of `log-patterns.json`, in file order. */
  logClasses?: string[];
}

/**
 * Loads the rule library and its exception patterns, or fails start-up listing every error with
 * file, rule and JSON path.
 */
export async function loadLibrary(dir: string | undefined): Promise<Library> {
  const rulesDir = dir ?? defaultRulesDir();
  const [library, patterns] = await Promise.all([loadRuleLibrary(rulesDir), loadLogPatterns(rulesDir)]);
  const errors = [...library.errors, ...patterns.errors];
  if (errors.length === 0) errors.push(...unknownLogClassErrors(library.rules, patterns.patterns));
  if (errors.length > 0) throw new RuleLoadError(errors);
  const classifier = patterns.patterns === undefined ? undefined : compileClassifier(patterns.patterns);
  return {
    rules: library.rules,
    version: rulesVersionOf(await readRuleSources(rulesDir)),
    ...(classifier === undefined
      ? {}
      : {
          classify: (e: ExceptionEntry) => classifier.classify(e),
          classifier,
          logClasses: logPatternClasses(patterns.patterns as LogPatternsFile).map(c => c.class),
        }),
  };
}

/**
 * Assembles the daemon from config: standalone (file store under `state.dir`, in-process
 * scheduler) unless `redis.url` is set, then distributed (Redis store with AOF checked,
 * BullMQ, metric windows shared in Redis). Start-up and config errors end the process; after
 * start-up, failures are logged and the daemon runs on its last good state.
 */
export async function startAutopilot(opts: AutopilotOptions): Promise<Autopilot> {
  const { config, log } = opts;
  const clock = opts.clock ?? new RealClock();
  const { rules, version, classify, classifier, logClasses } = await loadLibrary(config.rules.dir);
  let store: Store;
  let redis: Redis | undefined;
  let mode: Autopilot['mode'] = 'standalone';
  if (config.redis.url !== undefined) {
    mode = 'distributed';
    redis = new Redis(config.redis.url, { maxRetriesPerRequest: 3 });
    // ioredis reconnects by itself; without a listener it prints every failed attempt to stderr.
    redis.on('error', (err: Error) => log.warn({ err: err.message }, 'redis connection error'));
    const redisStore = new RedisStore(redis, config.redis.prefix);
    const d = await redisStore.durability();
    if (d.unverifiable !== undefined)
      log.warn({ reason: d.unverifiable }, 'cannot verify Redis persistence settings');
    else if (d.appendonly !== true || d.maxmemoryPolicy !== 'noeviction') {
      await redis.quit();
      throw new StartupError(
        `Redis must run with appendonly yes and maxmemory-policy noeviction (found appendonly ${String(d.appendonly)}, policy ${String(d.maxmemoryPolicy)}): pauses, approvals and the journal must survive a Redis restart`,
      );
    }
    store = redisStore;
  } else {
    const fileStore = FileStore.open(config.state.dir);
    for (const p of fileStore.problems)
      log.warn({ file: p.file, problem: p.message }, 'state file set aside');
    store = fileStore;
  }
  // Refuse an insecure API before anything else starts (bound off loopback without tokens).
  const tokens = opts.api === false ? [] : await resolveTokens(config.api.tokens);
  const sinks = await resolveSinks(config.alerts).catch((err: unknown) => {
    throw new StartupError(err instanceof Error ? err.message : String(err), { cause: err });
  });
  const alerts =
    sinks.length === 0
      ? undefined
      : new AlertPipeline({ alerts: config.alerts, sinks, store, log, now: () => clock.now() });
  const onReport =
    alerts === undefined
      ? opts.onReport
      : (report: HealthReport): void => {
          alerts.onReport(report);
          opts.onReport?.(report);
        };
  // The closure runs at scrape time, after the daemon exists.
  const metrics = createMetrics({ reports: () => daemon.reports() });
  metrics.setRulesLoaded(rules.length);
  const safety = fleetSafety(store, config);
  const acting =
    opts.backend === undefined
      ? undefined
      : wireActions({
          config,
          store,
          clock,
          log,
          backend: opts.backend,
          safety,
          ...(alerts === undefined ? {} : { onCircuitOpen: e => alerts.circuitOpen(e) }),
        });
  const planners = [...(opts.planners ?? []), ...(acting ? [acting.planner] : [])];
  const executor = opts.executor ?? acting?.executor;
  const daemon = new Daemon({
    config,
    clock,
    sources: opts.sources,
    store,
    rules,
    rulesVersion: version,
    log,
    ...(classify === undefined ? {} : { classify }),
    ...(classifier === undefined || !config.logs.enabled
      ? {}
      : { logs: new LogFeeds(config, classifier, log, clock), logClasses: logClasses ?? [] }),
    planners,
    ...(executor === undefined ? {} : { executor }),
    ...(onReport === undefined ? {} : { onReport }),
    onTiming: t => metrics.observeCycle(t),
    onStageError: stage => metrics.observeFailure(stage),
    onLag: lagMs => metrics.observeLag(lagMs),
    ...(redis === undefined
      ? {}
      : {
          detectStates: storeDetectStates(store, clock, config.windows.day),
          scheduler: run =>
            new BullmqScheduler({
              redisUrl: config.redis.url ?? '',
              prefix: config.redis.prefix,
              intervalMs: config.agent.interval,
              concurrency: config.agent.concurrency,
              run,
              store,
              log,
            }),
        }),
  });
  let api: ReturnType<typeof createApiServer> | undefined;
  try {
    api =
      opts.api === false
        ? undefined
        : createApiServer({
            provider: daemon,
            store,
            clock,
            log,
            tokens,
            host: config.api.host,
            port: config.api.port,
            metricsRegistry: metrics.registry,
            rules,
            policyOf: jobKey => {
              const job = daemon.job(jobKey);
              return job === undefined ? undefined : safety.policy(job);
            },
            controls: {
              pauses: pauseControl(store, () => clock.now()),
              silences: silenceControl(store, () => clock.now()),
              ...(acting === undefined ? {} : { actions: acting.controls }),
            },
          });
  } catch (err) {
    await daemon.close();
    await redis?.quit();
    throw err;
  }
  const apiUrl = api === undefined ? undefined : (await api.start()).url;
  await daemon.start();
  log.info(
    { mode, jobs: daemon.reports().length, rules: rules.length, rulesVersion: version, api: apiUrl },
    'autopilot started',
  );
  let closing: Promise<void> | undefined;
  return {
    daemon,
    store,
    rules,
    rulesVersion: version,
    mode,
    metrics,
    ...(alerts === undefined ? {} : { alerts }),
    ...(apiUrl === undefined ? {} : { apiUrl }),
    close: () =>
      (closing ??= (async () => {
        await api?.close();
        await daemon.close();
        await alerts?.close();
        await redis?.quit();
      })()),
  };
}
