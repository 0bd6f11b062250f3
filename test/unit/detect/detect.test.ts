import { describe, expect, it } from 'vitest';
import {
  detect,
  topological,
  type DetectOptions,
  type DetectState,
} from '../../../src/agents/detect/detect.js';
import type { FactMap, JobRef, Snapshot, VertexSnapshot } from '../../../src/domain/index.js';

const S = 1000;
const MIN = 60 * S;
const opts: DetectOptions = {
  windows: { short: 5 * MIN, medium: 15 * MIN, long: 60 * MIN, day: 1440 * MIN },
  catchUpMs: 5 * MIN,
};
const job: JobRef = {
  jobKey: 'rest:c1/orders',
  incarnation: 'j1',
  origin: 'rest',
  cluster: 'c1',
  name: 'orders',
  flinkJobId: 'j1',
  restUrl: 'http://x',
  labels: {},
};

function v(
  id: string,
  inputs: string[],
  metrics: VertexSnapshot['metrics'],
  parallelism = 2,
): VertexSnapshot {
  return { id, name: id.toUpperCase(), parallelism, maxParallelism: 128, inputs, metrics };
}

function snap(at: number, over: Partial<Snapshot> = {}): Snapshot {
  return {
    job,
    observedAt: at,
    sourceId: 'flink:c1',
    cluster: {
      reachable: true,
      flinkVersion: '1.20.1',
      taskManagers: 2,
      slotsTotal: 8,
      slotsAvailable: 2,
      pendingTaskManagers: 0,
      jobManagerHeapUsed: 256,
      jobManagerHeapMax: 1024,
    },
    jobStatus: {
      id: 'j1',
      name: 'orders',
      state: 'RUNNING',
      startTime: 0,
      runningSince: at - 10 * MIN,
      schedulerType: 'Adaptive',
      numRestarts: 3,
    },
    vertices: [
      v('src', [], {
        busyTimeMsPerSecond: { max: 950, avg: 900 },
        backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
        idleTimeMsPerSecond: { avg: 50 },
        numRecordsOutPerSecond: { sum: 1000, max: 600, avg: 500 },
        pendingRecords: { sum: 60_000 },
        currentEmitEventTimeLag: { max: 4000 },
      }),
      v('map', ['src'], {
        busyTimeMsPerSecond: { max: 800, avg: 400 },
        backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
        numRecordsInPerSecond: { sum: 1000, max: 700, avg: 500 },
        numRecordsOutPerSecond: { sum: 500 },
        currentInputWatermark: { min: at - 30 * S },
      }),
      v('sink', ['map'], {
        busyTimeMsPerSecond: { max: 100, avg: 100 },
        backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
        numRecordsInPerSecond: { sum: 500 },
        numRecordsOutPerSecond: { sum: 0 },
      }),
    ],
    checkpoints: {
      counts: { completed: 10, failed: 1, inProgress: 0, total: 11, restored: 0 },
      latestCompleted: {
        id: 10,
        status: 'COMPLETED',
        triggerTimestamp: at - 62 * S,
        latestAckTimestamp: at - 60 * S,
        endToEndDurationMs: 2000,
        stateSizeBytes: 1e9,
        isSavepoint: false,
      },
      history: [],
      config: { mode: 'EXACTLY_ONCE', intervalMs: 60_000, timeoutMs: 600_000, unaligned: false },
    },
    exceptions: [
      { exceptionName: 'java.io.IOException', stacktrace: '', timestamp: at - 2 * MIN },
      { exceptionName: 'java.io.IOException', stacktrace: '', timestamp: at - 40 * MIN },
    ],
    taskManagers: [
      {
        id: 'tm-0',
        resourceId: '10.0.0.1:3000-abc123',
        host: '10.0.0.1',
        slotsTotal: 4,
        slotsFree: 1,
        timeSinceLastHeartbeatMs: 2000,
        heapUsed: 900,
        heapMax: 1000,
        metaspaceUsed: 50,
        metaspaceMax: 100,
        directUsed: 10,
        directMax: 100,
        gcTimeMsPerSecond: 150,
        cpuLoad: 0.7,
      },
    ],
    nodes: [
      {
        name: 'node-1',
        cpuStealRatio: 0.2,
        cpuIowaitRatio: 0.05,
        diskFreeRatio: 0.1,
        diskBusyRatio: 0.5,
        nicErrorsPerSecond: 3,
        nicDropsPerSecond: 1,
        memoryAvailableRatio: 0.4,
      },
    ],
    missing: [],
    ...over,
  };
}

function vertexFacts(facts: ReturnType<typeof detect>['facts'], id: string): FactMap {
  return facts.vertices.find(x => x.subject.id === id)?.facts ?? {};
}

describe('detect', () => {
  it('turns a snapshot into dictionary facts with the documented units', () => {
    const at = 100 * MIN;
    const { facts } = detect(snap(at), undefined, opts);
    expect(facts.cluster.facts).toMatchObject({
      'cluster.reachable': true,
      'cluster.flinkVersion': '1.20.1',
      'cluster.slotsAvailable': 2,
      'cluster.jobManager.heapUsedRatio': 0.25,
    });
    expect(facts.job.facts).toMatchObject({
      'job.state': 'RUNNING',
      'job.isRunning': true,
      'job.uptime': 600,
      'job.schedulerAdaptive': true,
      'job.parallelism.total': 6,
      'job.exceptions.countShort': 1,
      'job.exceptions.countLong': 2,
      'job.checkpoints.sinceLastCompleted': 60,
      'job.checkpoints.lastDuration': 2,
      'job.checkpoints.durationToTimeoutRatio': 2 / 600,
      'job.checkpoints.exactlyOnce': true,
      'job.checkpoints.stateSize': 1e9,
      'job.sourceRate': 1000,
      'job.maxBusyRatio': 0.95,
      'job.lagSeconds': 60,
    });
    const src = facts.sources[0]?.facts ?? {};
    expect(src).toMatchObject({
      'source.pendingRecords': 60_000,
      'source.lagSeconds': 60,
      'source.recordsRate': 1000,
      'source.eventTimeLag': 4,
      'source.idleRatio.avg': 0.05,
    });
    const map = vertexFacts(facts, 'map');
    expect(map).toMatchObject({
      'vertex.parallelism': 2,
      'vertex.isSource': false,
      'vertex.isSink': false,
      'vertex.busyRatio.max': 0.8,
      'vertex.busyRatio.avg': 0.4,
      'vertex.recordsInRate': 1000,
      'vertex.trueProcessingRate': 2500,
      'vertex.busySkew': 0.5,
      'vertex.watermarkLag': 30,
      'vertex.watermarkStalledFor': 0,
    });
    expect(map['vertex.recordsInSkew']).toBeCloseTo(2 / 7);
    // target = source rate 1000 + backlog 60000 / 300 s = 1200 records/s; map passes 1:1 from the source.
    expect(src['source.pendingRecords']).toBe(60_000);
    expect(map['vertex.targetRate']).toBe(1200);
    expect(map['vertex.requiredUtilization']).toBeCloseTo(1200 / 2500);
    // the sink gets the map's output ratio 0.5
    expect(vertexFacts(facts, 'sink')['vertex.targetRate']).toBe(600);
    expect(vertexFacts(facts, 'sink')['vertex.isSink']).toBe(true);
    expect(vertexFacts(facts, 'src')['vertex.isBottleneck']).toBe(true);
    const tm = facts.taskmanagers[0]?.facts ?? {};
    expect(tm).toMatchObject({
      'taskmanager.heapUsedRatio': 0.9,
      'taskmanager.metaspaceUsedRatio': 0.5,
      'taskmanager.gcTimeRatio': 0.15,
      'taskmanager.heartbeatAge': 2,
      'taskmanager.freeSlots': 1,
    });
    expect(facts.taskmanagers[0]?.subject).toEqual({
      kind: 'taskmanager',
      id: 'tm-0',
      name: 'tm-0 (10.0.0.1)',
    });
    expect(facts.nodes[0]?.facts).toMatchObject({
      'node.cpuStealRatio': 0.2,
      'node.diskFreeRatio': 0.1,
      'node.nicErrorsRate': 3,
    });
  });

  it('leaves facts absent when the source did not deliver them — never 0', () => {
    const s = snap(MIN, {
      checkpoints: undefined,
      exceptions: undefined,
      taskManagers: undefined,
      nodes: undefined,
      jobStatus: undefined,
    });
    s.vertices = [v('src', [], {})];
    const { facts } = detect(s, undefined, opts);
    const vf = vertexFacts(facts, 'src');
    expect(vf['vertex.busyRatio.max']).toBeUndefined();
    expect(vf['vertex.isBottleneck']).toBeUndefined();
    expect(vf['vertex.trueProcessingRate']).toBeUndefined();
    expect(facts.job.facts['job.restarts.countShort']).toBeUndefined();
    expect(facts.job.facts['job.checkpoints.failed.countShort']).toBeUndefined();
    expect(facts.job.facts['job.exceptions.countShort']).toBeUndefined();
    expect(facts.sources[0]?.facts['source.lagSeconds']).toBeUndefined();
  });

  it('treats NaN gauges (Flink reports busyTime NaN when idle) as absent', () => {
    const s = snap(MIN);
    s.vertices = [v('src', [], { busyTimeMsPerSecond: { max: Number.NaN, avg: Number.NaN } })];
    expect(vertexFacts(detect(s, undefined, opts).facts, 'src')['vertex.busyRatio.max']).toBeUndefined();
  });

  it('does not count the restart of a rescale (real Flink counts it in numRestarts) as a failure', () => {
    const run = (exception: boolean): FactMap => {
      let state: DetectState | undefined;
      let facts: FactMap = {};
      for (let i = 0; i <= 12; i++) {
        const at = i * 5 * S;
        const s = snap(at);
        // Rescaled 1 → 2 at t=20 s; numRestarts follows one metric fetch later (t=30 s).
        s.vertices = [v('src', [], { busyTimeMsPerSecond: { max: 500, avg: 500 } }, i < 4 ? 1 : 2)];
        if (s.jobStatus) s.jobStatus.numRestarts = i < 6 ? 0 : 1;
        s.exceptions = exception
          ? [{ exceptionName: 'java.net.ConnectException', stacktrace: 'x', timestamp: 18 * S }]
          : [];
        const out = detect(s, state, opts);
        state = out.state;
        facts = out.facts.job.facts;
      }
      return facts;
    };
    expect(run(false)['job.restarts.countLong']).toBe(0);
    // A failure around the rescale (the adaptive scheduler shrinking after a lost TaskManager) counts.
    expect(run(true)['job.restarts.countLong']).toBe(1);
  });

  it('counts restarts and failed checkpoints per window from counters, and averages gauges', () => {
    let state: DetectState | undefined;
    let last: ReturnType<typeof detect> | undefined;
    for (let i = 0; i <= 30; i++) {
      const at = i * 10 * S;
      const s = snap(at);
      if (s.jobStatus) s.jobStatus.numRestarts = i < 10 ? 0 : 2; // two restarts at t=100 s
      if (s.checkpoints) s.checkpoints.counts.failed = Math.floor(i / 10);
      const busy = i < 15 ? 500 : 1000;
      s.vertices = [
        v('src', [], {
          busyTimeMsPerSecond: { max: busy, avg: busy },
          backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
        }),
      ];
      last = detect(s, state, opts);
      state = last.state;
    }
    const jf = last?.facts.job.facts ?? {};
    expect(jf['job.restarts.countShort']).toBe(2);
    expect(jf['job.checkpoints.failed.countShort']).toBe(3);
    const avg = vertexFacts(last?.facts ?? detect(snap(0), undefined, opts).facts, 'src')[
      'vertex.busyRatio.max.avgShort'
    ];
    expect(avg).toBeCloseTo((15 * 0.5 + 16 * 1) / 31, 1);
  });

  it('a new incarnation starts from empty windows', () => {
    const first = detect(snap(0), undefined, opts);
    const next = detect(snap(10 * S, { job: { ...job, incarnation: 'j2' } }), first.state, opts);
    expect(next.state.incarnation).toBe('j2');
    expect(next.facts.job.facts['job.restarts.countShort']).toBe(0);
  });

  it('re-running a cycle on the same snapshot adds nothing (samples keyed by source time)', () => {
    const a = detect(snap(0), undefined, opts);
    const b = detect(snap(0), a.state, opts);
    expect(b.state.history).toEqual(a.state.history);
  });

  it('tracks how long a watermark has not advanced', () => {
    let s = snap(0);
    const setWm = (snapshot: Snapshot, wm: number): void => {
      const map = snapshot.vertices[1];
      if (map) map.metrics.currentInputWatermark = { min: wm };
    };
    setWm(s, 1);
    let r = detect(s, undefined, opts);
    for (const at of [10 * S, 20 * S, 30 * S]) {
      s = snap(at);
      setWm(s, 1);
      r = detect(s, r.state, opts);
    }
    expect(vertexFacts(r.facts, 'map')['vertex.watermarkStalledFor']).toBe(30);
  });

  it('flags the bottleneck behind backpressure and the upstream as backpressured', () => {
    const s = snap(0);
    s.vertices = [
      v('src', [], {
        busyTimeMsPerSecond: { max: 100, avg: 100 },
        backPressuredTimeMsPerSecond: { max: 800, avg: 700 },
      }),
      v('slow', ['src'], {
        busyTimeMsPerSecond: { max: 990, avg: 980 },
        backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
      }),
    ];
    const { facts } = detect(s, undefined, opts);
    expect(vertexFacts(facts, 'slow')).toMatchObject({
      'vertex.isBottleneck': true,
      'vertex.upstreamBackpressured': true,
    });
    expect(vertexFacts(facts, 'src')['vertex.isBottleneck']).toBe(false);
    expect(facts.job.facts['job.bottleneckCount']).toBe(1);
    expect(facts.job.facts['job.maxBackpressureRatio']).toBe(0.8);
  });

  it('counts TaskManagers that disappeared', () => {
    const a = detect(snap(0), undefined, opts);
    const b = detect(snap(10 * S, { taskManagers: [] }), a.state, opts);
    expect(b.facts.cluster.facts['cluster.taskManagersLost.countMedium']).toBe(1);
  });

  it('derives the GC time ratio from cumulative GC time on older Flink', () => {
    const tm = (at: number, total: number): Snapshot =>
      snap(at, {
        taskManagers: [
          { id: 'tm', resourceId: 'r', host: 'tm', slotsTotal: 1, slotsFree: 0, gcTimeMsTotal: total },
        ],
      });
    const a = detect(tm(0, 0), undefined, opts);
    const b = detect(tm(10 * S, 2000), a.state, opts);
    expect(b.facts.taskmanagers[0]?.facts['taskmanager.gcTimeRatio']).toBeCloseTo(0.2);
  });

  it('orders vertices topologically', () => {
    const order = topological([v('c', ['b'], {}), v('b', ['a'], {}), v('a', [], {})]).map(x => x.id);
    expect(order).toEqual(['a', 'b', 'c']);
  });
});
