import { afterAll, describe, expect, it } from 'vitest';
import { Daemon } from '../../../src/agent-manager/daemon.js';
import { LogFeeds } from '../../../src/agent-manager/log-feeds.js';
import { sourcesFromConfig } from '../../../src/agent-manager/rest-job-source.js';
import { loadLibrary } from '../../../src/agent-manager/start.js';
import { compileConfig } from '../../../src/config/load.js';
import { VirtualClock, type Finding } from '../../../src/domain/index.js';
import { parseScenario, startSimulator, type Simulator } from '../../../src/sim/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';

/**
 * Done-when of issue 12: a TaskManager hangs; for 60 s the JobManager logs ask timeouts, heartbeat
 * timeouts and unreachable-recipient warnings, then declares it lost and the job restarts. The
 * daemon, reading the logs over the simulator's REST API, must raise a finding from the logs at
 * least 30 s before the restart. All times are the simulator's virtual clock, not wall time.
 */

const START = Date.parse('2026-11-11T00:00:00Z');
const FAULT_AT = 10 * 60_000;
/** The sim's first warning comes 2 s after the TaskManager hangs: 62 s → warnings 60 s before the loss. */
const TIMEOUT_S = 62;
const scenario = parseScenario(`
name: tm-lost-early-warning
seed: 1001
duration: 20m
cluster: { label: ew, flinkVersion: '1.20', taskManagers: 4, slotsPerTaskManager: 4 }
jobs:
  - name: orders-enrichment
    vertices:
      - { name: 'Source: Kafka orders', parallelism: 4, partitions: 16, capacity: 20000, profile: { kind: constant, rate: 8000 } }
      - { name: 'Window Aggregate', inputs: ['Source: Kafka orders'], parallelism: 4, capacity: 4000 }
      - { name: 'Sink: Kafka enriched', inputs: ['Window Aggregate'], parallelism: 4, capacity: 10000 }
faults:
  - { kind: tm-heartbeat-timeout, job: orders-enrichment, taskManager: 0, from: ${FAULT_AT}ms, params: { timeoutSeconds: ${TIMEOUT_S} } }
`);

let sim: Simulator | undefined;
afterAll(async () => {
  await sim?.close();
});

describe('early warning from the logs', () => {
  it('raises a log finding at least 30 s before a lost TaskManager restarts the job', async () => {
    const clock = new VirtualClock(START);
    sim = await startSimulator({ scenario, clock });
    const config = compileConfig({
      flink: { clusters: [{ label: 'ew', url: sim.url }] },
      agent: { interval: '10s', jitter: 0 },
    });
    const lib = await loadLibrary(undefined);
    if (lib.classifier === undefined) throw new Error('no log patterns');
    const log = createLogger({ level: 'silent' });
    const daemon = new Daemon({
      config,
      clock,
      sources: sourcesFromConfig(config),
      store: new MemoryStore(),
      rules: lib.rules,
      rulesVersion: lib.version,
      log,
      ...(lib.classify === undefined ? {} : { classify: lib.classify }),
      logs: new LogFeeds(config, lib.classifier, log, clock),
      logClasses: lib.logClasses ?? [],
    });

    const firstSeen = new Map<string, { at: number; finding: Finding }>();
    let restartedAt: number | undefined;
    for (let t = 10_000; t <= FAULT_AT + 3 * 60_000; t += 10_000) {
      await clock.advance(10_000);
      const jobs = await daemon.discover();
      expect(jobs.map(j => j.name)).toEqual(['orders-enrichment']);
      for (const job of jobs) {
        const report = await daemon.cycle(job);
        for (const f of report.findings)
          if (f.state === 'firing' && !firstSeen.has(f.rule))
            firstSeen.set(f.rule, { at: clock.now(), finding: f });
      }
      const state = (await (await fetch(`${sim.url}/__sim/state`)).json()) as {
        jobs: { numRestarts: number; lastFailureAt: number | null }[];
      };
      const job = state.jobs[0];
      if (restartedAt === undefined && job !== undefined && job.numRestarts > 0)
        restartedAt = job.lastFailureAt ?? undefined;
    }
    expect(restartedAt).toBeDefined();
    const restart = restartedAt as number;
    // The restart is the loss of the TaskManager, 62 s after it hung.
    expect(restart - START).toBe(FAULT_AT + TIMEOUT_S * 1000);
    const fromLogs = [...firstSeen].filter(([rule]) => rule.startsWith('logs-'));
    const first = fromLogs.sort((a, b) => a[1].at - b[1].at)[0];
    const others = [...firstSeen]
      .filter(([rule]) => !rule.startsWith('logs-'))
      .sort((a, b) => a[1].at - b[1].at);
    console.info(
      `early warning: TaskManager hung at +${FAULT_AT / 1000} s, job restarted at +${(restart - START) / 1000} s; ` +
        `log findings: ${fromLogs.map(([r, v]) => `${r} at +${(v.at - START) / 1000} s (lead ${(restart - v.at) / 1000} s)`).join(', ')}; ` +
        `first other finding: ${others.map(([r, v]) => `${r} at +${(v.at - START) / 1000} s`)[0] ?? 'none'}`,
    );
    expect(first).toBeDefined();
    const [rule, { at, finding }] = first as [string, { at: number; finding: Finding }];
    // Nothing from the logs before the TaskManager hung (the healthy minutes are quiet).
    expect(at).toBeGreaterThan(START + FAULT_AT);
    expect(restart - at).toBeGreaterThanOrEqual(30_000);
    expect(['logs-rpc-timeouts-rising', 'logs-heartbeat-timeouts']).toContain(rule);
    // The advice quotes the log line that made it fire, in Flink's words.
    expect(finding.action.text).toMatch(/latest: "(WARN|INFO) org\.apache\.flink\.\S+ - .*TaskManager/);
  });
});
