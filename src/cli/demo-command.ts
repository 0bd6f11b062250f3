import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { restRescaleBackend, sourcesFromConfig } from '../agent-manager/rest-job-source.js';
import { startAutopilot } from '../agent-manager/start.js';
import { compileConfig } from '../config/load.js';
import { packageRoot } from '../domain/package-root.js';
import { VirtualClock, type HealthReport } from '../domain/index.js';
import { loadScenario, startSimulator } from '../sim/index.js';
import { createLogger } from '../telemetry/logger.js';
import { reportStartupError, waitForSignal } from './run-command.js';

export interface DemoOptions {
  scenario: string;
  port: string;
  speed: string;
  /** Stop by itself after this many real seconds (headless runs, tests). */
  seconds?: string;
  json?: boolean;
}

function timeOf(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

/** The terminal view: one line per job, worst first, with the last rescale. */
export function liveTable(
  reports: readonly HealthReport[],
  now: number,
  lastRescale: ReadonlyMap<string, string>,
): string {
  const rows = [...reports]
    .sort((a, b) => (a.score ?? -1) - (b.score ?? -1) || (a.name < b.name ? -1 : 1))
    .map(r => [
      r.name.padEnd(24).slice(0, 24),
      (r.score === null ? '—' : String(r.score)).padStart(5),
      (r.risk ?? 'n/a').padEnd(6),
      (lastRescale.get(r.id) ?? '').padEnd(16).slice(0, 16),
      (r.firstAction?.text ?? '').slice(0, 90),
    ]);
  const head = ['JOB'.padEnd(24), 'SCORE', 'RISK  ', 'LAST RESCALE    ', 'FIRST ACTION'];
  return [`sim time ${timeOf(now)} UTC`, head.join('  '), ...rows.map(r => r.join('  '))].join('\n');
}

/**
 * `autopilot demo`: the simulator with about a dozen jobs, the daemon in standalone auto mode and
 * the dashboard, in one process, on a virtual clock running `speed` times faster than real time.
 * No Redis, no Flink, no config.
 */
export async function runDemo(opts: DemoOptions): Promise<void> {
  const speed = Math.max(1, Number(opts.speed) || 10);
  const scenario = await loadScenario(opts.scenario);
  const clock = new VirtualClock(Date.parse(scenario.startTime));
  const sim = await startSimulator({ scenario, clock });
  const stateDir = mkdtempSync(join(tmpdir(), 'autopilot-demo-'));
  const log = createLogger({ level: 'warn', destination: process.stderr });
  const config = compileConfig({
    mode: 'auto',
    flink: { clusters: [{ label: scenario.cluster.label, url: sim.url }] },
    state: { dir: stateDir },
    api: { port: Number(opts.port) },
    agent: { interval: '10s', discoveryInterval: '30s' },
    // The scenario's promotion calendar; its pre-scales spread over 2 minutes, not the default 10.
    calendar: scenario.promotion,
    autoscaler: { calendarStagger: '2m' },
  });
  const lastRescale = new Map<string, string>();
  let stopped = false;
  // Virtual time advances `speed` seconds per real second, in small steps.
  const pacer = setInterval(() => {
    if (!stopped) void clock.advance(100 * speed);
  }, 100);
  let autopilot: Awaited<ReturnType<typeof startAutopilot>> | undefined;
  try {
    const sources = sourcesFromConfig(config);
    autopilot = await startAutopilot({
      config,
      clock,
      sources,
      log,
      backend: restRescaleBackend(config, sources),
    });
    const a = autopilot;
    process.stdout.write(
      `${JSON.stringify({ dashboard: a.apiUrl, simulator: sim.url, speed, scenario: scenario.name })}\n`,
    );
    process.stdout.write(
      `Dashboard: ${a.apiUrl ?? ''}  (simulated time runs ${speed}× real time; Ctrl-C stops)\n`,
    );
    const tty = process.stdout.isTTY;
    const table = setInterval(() => {
      void a.store.readJournal({ limit: 500 }).then(journal => {
        for (const e of [...journal].reverse()) {
          if (e.status === 'executed' && e.action)
            lastRescale.set(e.jobKey, `${timeOf(e.at)} →${Object.values(e.action.target).join('/')}`);
        }
        const text = liveTable(a.daemon.reports(), clock.now(), lastRescale);
        process.stdout.write(tty ? `\x1b[2J\x1b[H${text}\n` : `${text}\n\n`);
      });
    }, 2000);
    const seconds = opts.seconds === undefined ? undefined : Number(opts.seconds);
    await (seconds === undefined ? waitForSignal() : new Promise(r => setTimeout(r, seconds * 1000)));
    clearInterval(table);
    if (opts.json) {
      const journal = await a.store.readJournal({ limit: 1000 });
      const { reports, clusterFindings } = {
        reports: a.daemon.reports(),
        clusterFindings: a.daemon.clusterFindings(),
      };
      process.stdout.write(
        `${JSON.stringify({ simTime: clock.now(), reports, clusterFindings, journal })}\n`,
      );
    }
  } finally {
    stopped = true;
    clearInterval(pacer);
    await autopilot?.close();
    await sim.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'run the simulator (about a dozen jobs, faults, a promotion peak), the daemon in auto mode and the dashboard',
    )
    .option('--scenario <file>', 'scenario file', join(packageRoot(), 'scenarios', 'demo.yaml'))
    .option('--port <n>', 'dashboard/API port (0 = any free port)', '8080')
    .option('--speed <x>', 'simulated seconds per real second', '10')
    .option('--seconds <n>', 'stop after this many real seconds (headless runs)')
    .option('--json', 'print the final reports as one JSON line when stopping')
    .action(async (opts: DemoOptions) => {
      try {
        await runDemo(opts);
      } catch (err) {
        reportStartupError(err);
      }
    });
}
