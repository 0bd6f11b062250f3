import { describe, expect, it } from 'vitest';
import { runCycle, type AgentDeps, type Collector, type Planner } from '../../../src/agents/agent.js';
import type { RuleEvaluation, RuleEvaluator } from '../../../src/agents/analyze/rule-evaluator.js';
import { cannotObserveFindings } from '../../../src/agents/select/observability.js';
import { VirtualClock, type JobRef, type PlannedAction, type Snapshot } from '../../../src/domain/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { testRule } from '../../support/rules.js';

const S = 1000;
const job = (name: string, cluster = 'c1'): JobRef => ({
  jobKey: `rest:${cluster}/${name}`,
  incarnation: `${name}-id`,
  origin: 'rest',
  cluster,
  name,
  flinkJobId: `${name}-id`,
  restUrl: `http://127.0.0.1:1/${cluster}`,
  labels: { team: 'orders' },
});

function snapshot(j: JobRef, at: number, busyMs: number): Snapshot {
  return {
    job: j,
    observedAt: at,
    sourceId: `flink:${j.cluster}`,
    cluster: { reachable: true, taskManagers: 2, slotsTotal: 8, slotsAvailable: 4 },
    jobStatus: {
      id: j.flinkJobId,
      name: j.name,
      state: 'RUNNING',
      startTime: 0,
      runningSince: 0,
      numRestarts: 0,
    },
    vertices: [
      {
        id: 'src',
        name: 'Source: Kafka',
        parallelism: 2,
        inputs: [],
        metrics: {
          busyTimeMsPerSecond: { max: 300, avg: 250 },
          backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
          numRecordsOutPerSecond: { sum: 1000 },
          pendingRecords: { sum: 0 },
        },
      },
      {
        id: 'map',
        name: 'Map',
        parallelism: 2,
        inputs: ['src'],
        metrics: {
          busyTimeMsPerSecond: { max: busyMs, avg: busyMs - 20 },
          backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
          numRecordsInPerSecond: { sum: 1000 },
          numRecordsOutPerSecond: { sum: 1000 },
        },
      },
    ],
    missing: [],
  };
}

/** Evaluates "vertex.busyRatio.max > 0.9" from the real detect output. */
const busyRule = testRule({
  id: 'busy',
  severity: 'high',
  forMs: 0,
  action: { kind: 'advice', text: 'raise the parallelism of {{subject.name}}', params: {} },
});
const evaluator: RuleEvaluator = {
  rules: [busyRule],
  evaluate: facts =>
    facts.vertices.map((v): RuleEvaluation => {
      const busy = v.facts['vertex.busyRatio.max'];
      const evidence: Record<string, number> =
        typeof busy === 'number' ? { 'vertex.busyRatio.max': busy } : {};
      return {
        rule: busyRule,
        subject: v.subject,
        truth: typeof busy !== 'number' ? 'unknown' : busy > 0.9 ? 'true' : 'false',
        evidence,
      };
    }),
};

function deps(clock: VirtualClock, collector: Collector, extra: Partial<AgentDeps> = {}): AgentDeps {
  return {
    clock,
    collector,
    store: new MemoryStore(),
    evaluator,
    rulesVersion: 'test',
    settings: {
      tickMs: 10 * S,
      staleAfterMs: 30 * S,
      scoringWindowMs: 1_800_000,
      historyPoints: 5,
      windows: { short: 300_000, medium: 900_000, long: 3_600_000, day: 86_400_000 },
      catchUpMs: 300_000,
    },
    detectStates: new Map(),
    ...extra,
  };
}

describe('agent cycle', () => {
  it('collects, detects, analyzes and scores a job; the store keeps the state', async () => {
    const clock = new VirtualClock();
    const j = job('orders');
    const d = deps(clock, { collect: (jr, now) => Promise.resolve(snapshot(jr, now, 950)) });
    const { report } = await runCycle(j, d);
    expect(report).toMatchObject({
      schemaVersion: 1,
      id: 'rest:c1/orders',
      dataState: 'ok',
      score: 95,
      risk: 'high',
      state: 'RUNNING',
      mode: 'dry-run',
      labels: { team: 'orders' },
    });
    expect(report.firstAction?.text).toBe('raise the parallelism of Map');
    expect(report.findings.map(f => f.evidence)).toEqual([{ 'vertex.busyRatio.max': 0.95 }]);
    const stored = await d.store.getJob(j.jobKey);
    expect(stored?.lastReport?.score).toBe(95);
    expect(stored?.scoreHistory).toEqual([{ at: clock.now(), score: 95 }]);
  });

  it('keeps a bounded score history', async () => {
    const clock = new VirtualClock();
    const d = deps(clock, { collect: (jr, now) => Promise.resolve(snapshot(jr, now, 100)) });
    for (let i = 0; i < 8; i++) {
      await runCycle(job('orders'), d);
      await clock.advance(10 * S);
    }
    expect((await d.store.getJob('rest:c1/orders'))?.scoreHistory).toHaveLength(5);
  });

  it('a passing collect failure re-reports the last report as partial and plans nothing', async () => {
    const clock = new VirtualClock();
    let up = true;
    const planned: string[] = [];
    const planner: Planner = { plan: ctx => (planned.push(ctx.report.dataState), Promise.resolve([])) };
    const d = deps(
      clock,
      {
        collect: (jr, now) =>
          up ? Promise.resolve(snapshot(jr, now, 950)) : Promise.reject(new Error('ECONNREFUSED')),
      },
      { planners: [planner] },
    );
    await runCycle(job('orders'), d);
    up = false;
    await clock.advance(10 * S);
    const { report, error } = await runCycle(job('orders'), d);
    expect(error).toBeInstanceOf(Error);
    expect(report).toMatchObject({ dataState: 'partial', score: 95, actions: [] });
    expect(planned).toEqual(['ok']);
  });

  it('data older than staleAfter makes the job unobservable: score and risk null, findings unknown, no execution', async () => {
    const clock = new VirtualClock();
    let up = true;
    const executed: string[] = [];
    const d = deps(
      clock,
      {
        collect: (jr, now) =>
          up ? Promise.resolve(snapshot(jr, now, 950)) : Promise.reject(new Error('down')),
      },
      { executor: { execute: r => (executed.push(r.dataState), Promise.resolve()) } },
    );
    await runCycle(job('orders'), d);
    up = false;
    await clock.advance(40 * S);
    const { report } = await runCycle(job('orders'), d);
    expect(report).toMatchObject({
      dataState: 'stale',
      score: null,
      risk: null,
      firstAction: null,
      actions: [],
    });
    expect(report.findings.map(f => f.state)).toEqual(['unknown']);
    expect(executed).toEqual(['ok']);
  });

  it('a snapshot whose source time is too old is stale too', async () => {
    const clock = new VirtualClock();
    const d = deps(clock, { collect: (jr, now) => Promise.resolve(snapshot(jr, now - 60 * S, 950)) });
    const { report } = await runCycle(job('orders'), d);
    expect(report).toMatchObject({ dataState: 'stale', score: null, risk: null });
  });

  it('collector down for all jobs → every score null and exactly one cluster finding', async () => {
    const clock = new VirtualClock();
    const d = deps(clock, { collect: () => Promise.reject(new Error('ECONNREFUSED 127.0.0.1:8081')) });
    const jobs = ['a', 'b', 'c', 'd'].map(n => job(n));
    const reports = [];
    for (const j of jobs) reports.push((await runCycle(j, d)).report);
    expect(reports.map(r => r.score)).toEqual([null, null, null, null]);
    expect(reports.map(r => r.risk)).toEqual([null, null, null, null]);
    expect(reports.flatMap(r => r.findings)).toEqual([]);
    const cluster = cannotObserveFindings(
      reports.map(r => ({ sourceId: 'flink:c1', dataState: r.dataState })),
      clock.now(),
    );
    expect(cluster).toHaveLength(1);
    expect(cluster[0]).toMatchObject({
      title: 'cannot observe flink:c1',
      category: 'availability',
      severity: 'high',
      subject: { kind: 'cluster', id: 'flink:c1' },
    });
  });

  it('one observable job keeps its source from being reported unobservable', () => {
    expect(
      cannotObserveFindings(
        [
          { sourceId: 's', dataState: 'stale' },
          { sourceId: 's', dataState: 'ok' },
        ],
        0,
      ),
    ).toEqual([]);
  });

  it('a pause makes the mode paused and stops planning', async () => {
    const clock = new VirtualClock();
    const planner: Planner = { plan: () => Promise.reject(new Error('must not plan while paused')) };
    const d = deps(
      clock,
      { collect: (jr, now) => Promise.resolve(snapshot(jr, now, 950)) },
      { planners: [planner] },
    );
    await d.store.putRecord('pause', 'cluster:c1', { reason: 'maintenance' });
    const { report } = await runCycle(job('orders'), d);
    expect(report.mode).toBe('paused');
  });

  it('planners act only on ok data and their actions are reported', async () => {
    const clock = new VirtualClock();
    const action = { id: 'a1', kind: 'rescale', status: 'planned' } as PlannedAction;
    const d = deps(
      clock,
      { collect: (jr, now) => Promise.resolve({ ...snapshot(jr, now, 950), missing: ['checkpoints'] }) },
      { planners: [{ plan: () => Promise.resolve([action]) }] },
    );
    expect((await runCycle(job('orders'), d)).report).toMatchObject({ dataState: 'partial', actions: [] });
    const d2 = deps(
      clock,
      { collect: (jr, now) => Promise.resolve(snapshot(jr, now, 950)) },
      { planners: [{ plan: () => Promise.resolve([action]) }] },
    );
    expect((await runCycle(job('orders'), d2)).report.actions).toEqual([action]);
  });

  it('a failing planner or executor is reported, never fatal', async () => {
    const clock = new VirtualClock();
    const errors: string[] = [];
    const d = deps(
      clock,
      { collect: (jr, now) => Promise.resolve(snapshot(jr, now, 950)) },
      {
        planners: [{ plan: () => Promise.reject(new Error('planner bug')) }],
        executor: { execute: () => Promise.reject(new Error('webhook down')) },
        onError: (stage, err) => errors.push(`${stage}: ${(err as Error).message}`),
        onTiming: t => errors.push(`timing ${Object.keys(t).join(',')}`),
      },
    );
    const { report } = await runCycle(job('orders'), d);
    expect(report.score).toBe(95);
    expect(errors).toEqual([
      'select: planner bug',
      'execute: webhook down',
      'timing collect,detect,analyze,select,execute,store',
    ]);
  });
});
