import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Daemon, rulesVersionOf, type JobSource } from '../../../src/agent-manager/daemon.js';
import { compileConfig } from '../../../src/config/load.js';
import { defaultRulesDir, loadRules, readRuleSources } from '../../../src/config/rule-files.js';
import { VirtualClock, type JobRef, type Snapshot } from '../../../src/domain/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';

const S = 1000;
const MIN = 60 * S;

function ref(name: string): JobRef {
  return {
    jobKey: `rest:c1/${name}`,
    incarnation: `${name}-1`,
    origin: 'rest',
    cluster: 'c1',
    name,
    flinkJobId: `${name}-1`,
    restUrl: 'http://127.0.0.1:1',
    labels: {},
  };
}

/**
 * A scripted source: "restarting" restarts every 2 minutes; "healthy" is quiet. (Real HTTP
 * against the simulator is covered by the simulator's own integration tests.)
 */
class ScriptedSource implements JobSource {
  readonly id = 'flink:c1';
  up = true;
  constructor(
    private readonly clock: VirtualClock,
    private readonly start: number,
  ) {}
  listJobs(): Promise<JobRef[]> {
    return this.up
      ? Promise.resolve([ref('healthy'), ref('restarting')])
      : Promise.reject(new Error('ECONNREFUSED'));
  }
  collect(job: JobRef, now: number): Promise<Snapshot> {
    if (!this.up) return Promise.reject(new Error('ECONNREFUSED'));
    const minutes = (now - this.start) / MIN;
    const restarts = job.name === 'restarting' ? Math.floor(minutes / 2) : 0;
    return Promise.resolve({
      job,
      observedAt: this.clock.now(),
      sourceId: this.id,
      cluster: { reachable: true, taskManagers: 2, slotsTotal: 8, slotsAvailable: 4 },
      jobStatus: {
        id: job.flinkJobId,
        name: job.name,
        state: 'RUNNING',
        startTime: this.start,
        runningSince: this.start,
        numRestarts: restarts,
      },
      vertices: [
        {
          id: 'src',
          name: 'Source: Kafka',
          parallelism: 2,
          maxParallelism: 128,
          inputs: [],
          metrics: {
            busyTimeMsPerSecond: { max: 200, avg: 150 },
            backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
            numRecordsOutPerSecond: { sum: 500 },
            pendingRecords: { sum: 0 },
          },
        },
        {
          id: 'sink',
          name: 'Sink: Kafka',
          parallelism: 2,
          maxParallelism: 128,
          inputs: ['src'],
          metrics: {
            busyTimeMsPerSecond: { max: 300, avg: 250 },
            backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
            numRecordsInPerSecond: { sum: 500 },
            numRecordsOutPerSecond: { sum: 0 },
          },
        },
      ],
      missing: [],
    });
  }
}

const sink = (): { stream: Writable; lines: string[] } => {
  const lines: string[] = [];
  return {
    lines,
    stream: new Writable({ write: (chunk: Buffer, _e, cb) => (lines.push(chunk.toString()), cb()) }),
  };
};

async function advance(clock: VirtualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += S) {
    await clock.advance(S);
    for (let i = 0; i < 3; i++) await new Promise(r => setImmediate(r));
  }
}

describe('standalone daemon with the shipped rule library (virtual time)', () => {
  it('discovers jobs, diagnoses them every tick and finds the restart loop', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 10, 11, 0, 0));
    const source = new ScriptedSource(clock, clock.now());
    const rules = await loadRules();
    const logs = sink();
    const daemon = new Daemon({
      config: compileConfig({ agent: { interval: '10s' } }),
      clock,
      sources: [source],
      store: new MemoryStore(),
      rules,
      rulesVersion: rulesVersionOf(await readRuleSources(defaultRulesDir())),
      log: createLogger({ destination: logs.stream, level: 'info' }),
    });
    await daemon.start();
    await advance(clock, 8 * MIN);

    const healthy = daemon.report('rest:c1/healthy');
    const restarting = daemon.report('rest:c1/restarting');
    expect(healthy).toMatchObject({ dataState: 'ok', score: 100, risk: 'low', firstAction: null });
    expect(restarting).toMatchObject({ dataState: 'ok', risk: 'high' });
    expect(restarting?.scoreBreakdown).toContainEqual(
      expect.objectContaining({ rule: 'job-restart-loop', weight: 5, counted: true }),
    );
    const deducted = (restarting?.scoreBreakdown ?? []).reduce(
      (sum, e) => sum + (e.counted ? e.weight : 0),
      0,
    );
    expect(restarting?.score).toBe(100 - deducted);
    expect(restarting?.firstAction?.rule).toBe('job-restart-loop');
    expect(restarting?.findings[0]?.evidence).toMatchObject({
      'job.restarts.countMedium': expect.any(Number) as number,
    });
    expect(restarting?.rulesVersion).toMatch(/^[0-9a-f]{12}$/);

    // The cluster goes away: after staleAfter every job is unobservable and one cluster finding stands for them.
    source.up = false;
    await advance(clock, 2 * MIN);
    expect(daemon.reports().map(r => [r.dataState, r.score])).toEqual([
      ['stale', null],
      ['stale', null],
    ]);
    expect(daemon.clusterFindings()).toHaveLength(1);
    expect(daemon.clusterFindings()[0]?.title).toBe('cannot observe flink:c1');
    const errors = logs.lines.filter(l => l.includes('cannot observe source'));
    expect(errors).toHaveLength(1);

    source.up = true;
    await advance(clock, 40 * S);
    expect(daemon.clusterFindings()).toHaveLength(0);
    const closing = daemon.close();
    await advance(clock, 2 * S);
    await closing;
  });
});
