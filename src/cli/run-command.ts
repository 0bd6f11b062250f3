import type { Command } from 'commander';
import { Daemon } from '../agent-manager/daemon.js';
import { kubernetesFromConfig } from '../agent-manager/k8s-job-source.js';
import { restRescaleBackend, sourcesFromConfig } from '../agent-manager/rest-job-source.js';
import { backendByOrigin } from '../actions/backend.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../telemetry/logger.js';
import { loadLibrary, startAutopilot, StartupError } from '../agent-manager/start.js';
import { ApiConfigError } from '../api/errors.js';
import { ConfigError, loadConfig, type ConfigOverrides } from '../config/load.js';
import { formatRuleFileError, RuleLoadError } from '../config/rule-files.js';
import { RealClock, type HealthReport } from '../domain/index.js';
import { MemoryStore } from '../state/memory-store.js';
import { createLogger } from '../telemetry/logger.js';

interface RunFlags extends ConfigOverrides {
  config?: string;
}

function addConfigFlags(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'config file (YAML or JSON); env: AUTOPILOT_CONFIG')
    .option('--flink-url <url>', 'JobManager REST URL(s), comma-separated; env: AUTOPILOT_FLINK_URL')
    .option('--interval <duration>', 'tick, e.g. 10s; env: AUTOPILOT_INTERVAL')
    .option(
      '--mode <mode>',
      'dry-run | approve | auto (default of every job; default dry-run); env: AUTOPILOT_MODE',
    )
    .option('--prometheus-url <url>', 'Prometheus HTTP API; env: AUTOPILOT_PROMETHEUS_URL')
    .option('--node-exporter-url <url>', 'node-exporter metrics; env: AUTOPILOT_NODE_EXPORTER_URL')
    .option('--cooldown <duration>', 'no second rescale within this; env: AUTOPILOT_COOLDOWN')
    .option('--stabilization <duration>', 'settle time after a restart; env: AUTOPILOT_STABILIZATION')
    .option('--time-scale <x>', 'multiplies every default duration; env: AUTOPILOT_TIME_SCALE')
    .option('--log-level <level>', 'pino level; env: AUTOPILOT_LOG_LEVEL');
}

/** Prints a start-up error the way an operator can act on it, and sets exit code 1. */
export function reportStartupError(err: unknown): void {
  if (err instanceof RuleLoadError) {
    process.stderr.write(
      `the rule library has errors:\n${err.errors.map(e => `  ${formatRuleFileError(e)}`).join('\n')}\n`,
    );
  } else if (err instanceof ConfigError || err instanceof StartupError || err instanceof ApiConfigError) {
    process.stderr.write(`${err.message}\n`);
  } else {
    throw err;
  }
  process.exitCode = 1;
}

/** Resolves once SIGTERM or SIGINT arrives; a second signal exits at once. */
export function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise(resolve => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.removeListener('SIGTERM', onSignal);
      process.removeListener('SIGINT', onSignal);
      process.once('SIGTERM', () => process.exit(1));
      process.once('SIGINT', () => process.exit(1));
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}

/** The Kubernetes source and backend, when enabled; unusable credentials end start-up. */
function kubernetesOrFail(config: Config, log: Logger): ReturnType<typeof kubernetesFromConfig> {
  try {
    return kubernetesFromConfig(config, log);
  } catch (err) {
    throw new StartupError(`kubernetes: cannot load credentials: ${(err as Error).message}`, { cause: err });
  }
}

export function registerRunCommands(program: Command): void {
  addConfigFlags(
    program
      .command('run')
      .description(
        'run the daemon: discover jobs, diagnose them every tick, serve the API, dashboard and /metrics',
      )
      .option('--api-port <n>', 'API port (0 = any); env: AUTOPILOT_API_PORT')
      .option('--api-host <host>', 'API address (off loopback, tokens are required); env: AUTOPILOT_API_HOST')
      .option('--redis-url <url>', 'run distributed on this Redis; env: AUTOPILOT_REDIS_URL')
      .option('--state-dir <dir>', 'standalone state directory; env: AUTOPILOT_STATE_DIR'),
  ).action(async (flags: RunFlags) => {
    try {
      const config = loadConfig({
        file: flags.config ?? process.env.AUTOPILOT_CONFIG,
        env: process.env,
        flags,
      });
      const log = createLogger({ level: config.log.level });
      if (config.flink.clusters.length === 0 && !config.kubernetes.enabled)
        log.warn(
          {},
          'no Flink cluster configured (--flink-url, flink.clusters or kubernetes.enabled): nothing to watch',
        );
      const rest = sourcesFromConfig(config, log);
      const k8s = kubernetesOrFail(config, log);
      const autopilot = await startAutopilot({
        config,
        sources: [...rest, ...(k8s ? [k8s.source] : [])],
        log,
        backend: backendByOrigin({
          rest: restRescaleBackend(config, rest),
          ...(k8s ? { k8s: k8s.backend } : {}),
        }),
      });
      const signal = await waitForSignal();
      log.info({ signal }, 'stopping');
      await autopilot.close();
      log.info({}, 'stopped');
      log.flush();
    } catch (err) {
      reportStartupError(err);
    }
  });

  addConfigFlags(
    program
      .command('diagnose')
      .description('diagnose every job once and print the health reports')
      .option('--json', 'print the reports as JSON (HealthReport v1)')
      .option('--samples <n>', 'observations per job, one tick apart (rules with `for` need several)', '1'),
  ).action(async (flags: RunFlags & { json?: boolean; samples: string }) => {
    try {
      const config = loadConfig({
        file: flags.config ?? process.env.AUTOPILOT_CONFIG,
        env: process.env,
        flags,
      });
      const log = createLogger({
        level: flags.json ? 'error' : config.log.level,
        destination: process.stderr,
      });
      const { rules, version, classify } = await loadLibrary(config.rules.dir);
      const k8s = kubernetesOrFail(config, log);
      const clock = new RealClock();
      const daemon = new Daemon({
        config,
        clock,
        sources: [...sourcesFromConfig(config), ...(k8s ? [k8s.source] : [])],
        store: new MemoryStore(),
        rules,
        rulesVersion: version,
        log,
        ...(classify === undefined ? {} : { classify }),
      });
      const jobs = await daemon.discover();
      const samples = Math.max(1, Number(flags.samples) || 1);
      let reports: HealthReport[] = [];
      for (let i = 0; i < samples; i++) {
        if (i > 0) await clock.sleep(config.agent.interval);
        reports = await Promise.all(jobs.map(j => daemon.cycle(j)));
      }
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ reports, clusterFindings: daemon.clusterFindings() }, null, 2)}\n`
          : renderTable(reports),
      );
      await daemon.close();
    } catch (err) {
      reportStartupError(err);
    }
  });
}

/** A compact table for people: job, score, risk, data, first action. */
export function renderTable(reports: readonly HealthReport[]): string {
  const rows = [...reports]
    .sort((a, b) => (a.score ?? -1) - (b.score ?? -1))
    .map(r => [
      r.id,
      r.score === null ? '—' : String(r.score),
      r.risk ?? 'unobservable',
      r.dataState,
      r.firstAction?.text ?? '',
    ]);
  const head = ['JOB', 'SCORE', 'RISK', 'DATA', 'FIRST ACTION'];
  const widths = head.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map(r => (r[i] ?? '').length))));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ');
  return `${[line(head), ...rows.map(line)].join('\n')}\n`;
}
