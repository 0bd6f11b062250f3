import type { Command } from 'commander';
import { RealClock, type Clock } from '../domain/clock.js';
import { startFleet } from '../sim/fleet-server.js';
import { ScaledClock } from '../sim/scaled-clock.js';
import { loadScenario } from '../sim/scenario.js';
import { startSimulator } from '../sim/server.js';
import type { SimFlinkVersion } from '../sim/versions.js';

interface SimulateFlags {
  scenario?: string;
  port: string;
  host: string;
  timeScale: string;
  fleet?: string;
  origins: string;
  seed: string;
  flinkVersion: string;
  addresses?: boolean;
}

function positive(name: string, text: string, integer = true): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
    throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${text}`);
  return n;
}

/** Waits for SIGTERM or SIGINT, then runs `close` and resolves. */
function untilSignal(close: () => Promise<void>): Promise<void> {
  return new Promise(resolve => {
    const stop = (): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      void close().then(resolve);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

/**
 * `autopilot simulate`: a Flink simulator speaking Flink's REST API (and Prometheus text on
 * /metrics) on loopback, from a scenario file, or a fleet of jobs over many origins. Prints one
 * JSON line with the URL(s) when listening; stops cleanly on SIGTERM/SIGINT.
 */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('Run the Flink simulator: a scenario (--scenario FILE) or a fleet (--fleet N --origins M)')
    .option('--scenario <file>', 'scenario YAML file (see scenarios/)')
    .option('--port <n>', 'port to listen on (0 = ephemeral)', '8081')
    .option('--host <address>', 'address to listen on (0.0.0.0 in a container)', '127.0.0.1')
    .option('--time-scale <x>', 'simulated seconds per real second', '1')
    .option('--fleet <jobs>', 'fleet mode: number of jobs')
    .option('--origins <n>', 'fleet mode: number of JobManager origins', '1000')
    .option('--seed <n>', 'fleet mode: seed', '42')
    .option('--flink-version <v>', 'fleet mode: Flink version to pretend', '1.20')
    .option('--addresses', 'fleet mode: one 127.0.x.y address per origin instead of one port per origin')
    .action(async (flags: SimulateFlags) => {
      const scale = positive('time-scale', flags.timeScale, false);
      const clock: Clock = scale === 1 ? new RealClock() : new ScaledClock(scale);
      if (flags.fleet !== undefined) {
        const fleet = await startFleet({
          jobs: positive('fleet', flags.fleet),
          origins: positive('origins', flags.origins),
          seed: Number(flags.seed),
          clock,
          flinkVersion: flags.flinkVersion as SimFlinkVersion,
          mode: flags.addresses === true ? 'addresses' : 'ports',
          port: Number(flags.port),
        });
        console.log(
          JSON.stringify({
            msg: 'fleet simulator listening',
            jobs: Number(flags.fleet),
            origins: fleet.urls.length,
            urls: fleet.urls,
            prometheusUrl: fleet.prometheusUrl,
          }),
        );
        await untilSignal(() => fleet.close());
        return;
      }
      if (flags.scenario === undefined) throw new Error('simulate needs --scenario FILE or --fleet N');
      const scenario = await loadScenario(flags.scenario);
      const sim = await startSimulator({ scenario, clock, host: flags.host, port: Number(flags.port) });
      console.log(
        JSON.stringify({
          msg: 'simulator listening',
          url: sim.url,
          prometheusUrl: sim.url,
          scenario: scenario.name,
          flinkVersion: scenario.cluster.flinkVersion,
          timeScale: scale,
        }),
      );
      await untilSignal(() => sim.close());
    });
}
