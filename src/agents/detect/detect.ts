import type {
  Agg,
  ExceptionEntry,
  FactMap,
  JobFacts,
  Snapshot,
  SubjectFacts,
  VertexSnapshot,
  WindowName,
} from '../../domain/index.js';
import {
  recordSample,
  windowAvg,
  windowEnds,
  windowIncrease,
  windowSlope,
  type SeriesHistory,
  type WindowLengths,
} from './windows.js';

/**
 * What detect keeps between cycles for one incarnation of a job. Rebuilt from the sources after
 * a restart of the daemon or a new incarnation (metric windows are not durable state).
 */
export interface DetectState {
  incarnation: string;
  history: SeriesHistory;
  /** Lowest input watermark per vertex and since when it has had that value. */
  watermarks: Record<string, { value: number; since: number }>;
  /** TaskManager ids seen in the previous snapshot. */
  taskManagers: string[];
  lastObservedAt?: number;
  /** Restart accounting: a rescale restarts the job too (see failureRestarts). */
  restarts?: {
    /** numRestarts in the previous snapshot. */
    last: number;
    /** Parallelism per vertex in the previous snapshot. */
    parallelism: Record<string, number>;
    /** When the parallelism last changed. */
    rescaledAt?: number;
    /** Restarts so far that were rescales, not failures. */
    rescales: number;
  };
}

/** A restart counted within this long after the parallelism changed belongs to that rescale. */
const RESCALE_RESTART_WINDOW_MS = 60_000;

/**
 * numRestarts without the restarts that were rescales. Real Flink (1.20.3 and 2.3.0) counts an
 * adaptive-scheduler rescale as a restart, with no exception: left in, every rescale the
 * AutoPilot makes would read as a failover. A restart increase is a rescale's when the
 * parallelism changed within the minute before and no exception was recorded since.
 */
function failureRestarts(state: DetectState, snapshot: Snapshot, numRestarts: number, now: number): number {
  const parallelism = Object.fromEntries(snapshot.vertices.map(v => [v.id, v.parallelism]));
  const prev = state.restarts;
  const r = prev ?? { last: numRestarts, parallelism, rescales: 0 };
  if (prev !== undefined) {
    if (
      Object.keys(parallelism).some(
        id => prev.parallelism[id] !== undefined && prev.parallelism[id] !== parallelism[id],
      )
    )
      r.rescaledAt = now;
    const added = numRestarts - prev.last;
    const rescaledAt = r.rescaledAt;
    if (added > 0 && rescaledAt !== undefined && now - rescaledAt <= RESCALE_RESTART_WINDOW_MS) {
      const failed = (snapshot.exceptions ?? []).some(
        e => e.timestamp >= rescaledAt - RESCALE_RESTART_WINDOW_MS,
      );
      if (!failed) r.rescales += added;
    }
  }
  r.last = numRestarts;
  r.parallelism = parallelism;
  state.restarts = r;
  return Math.max(0, numRestarts - r.rescales);
}

export interface DetectOptions {
  windows: WindowLengths;
  /** Backlog is to be worked off within this time: part of each source's target rate. */
  catchUpMs: number;
  /** Exception → class (src/agents/detect/classify.ts); without it the class facts are absent. */
  classify?: (entry: ExceptionEntry) => string;
}

export function emptyDetectState(incarnation: string): DetectState {
  return { incarnation, history: {}, watermarks: {}, taskManagers: [] };
}

/**
 * Flink's own line between "ok" and backpressured (JobVertexBackPressureHandler: ratio ≤ 0.10 is
 * ok). Used for the graph facts, which are detect's, not the rules'.
 */
const BACKPRESSURED_ABOVE = 0.1;
/** A source this busy and not backpressured cannot read faster: it is the bottleneck. */
const SOURCE_SATURATED_AT = 0.9;

const finite = (v: number | undefined): number | undefined =>
  v !== undefined && Number.isFinite(v) ? v : undefined;
const perMille = (v: number | undefined): number | undefined => {
  const f = finite(v);
  return f === undefined ? undefined : Math.min(1, Math.max(0, f / 1000));
};
const ratio = (num: number | undefined, den: number | undefined): number | undefined =>
  num !== undefined && den !== undefined && den > 0 ? num / den : undefined;
const skew = (a: Agg | undefined): number | undefined => {
  const max = finite(a?.max);
  const avg = finite(a?.avg);
  if (max === undefined || avg === undefined) return undefined;
  return max <= 0 ? 0 : (max - avg) / max;
};

const SUFFIX: Record<WindowName, string> = { short: 'Short', medium: 'Medium', long: 'Long', day: 'Day' };

class FactBuilder {
  constructor(
    private readonly state: DetectState,
    private readonly opts: DetectOptions,
    private readonly now: number,
  ) {}

  set(facts: FactMap, name: string, value: number | boolean | string | readonly string[] | undefined): void {
    if (value === undefined) return;
    if (typeof value === 'number' && !Number.isFinite(value)) return;
    facts[name] = value;
  }

  /** A gauge and its window averages; the sample is recorded under `key`. */
  gauge(
    facts: FactMap,
    name: string,
    key: string,
    value: number | undefined,
    windows: readonly WindowName[],
  ): void {
    if (value !== undefined)
      recordSample(this.state.history, key, windows, this.opts.windows, this.now, value);
    this.set(facts, name, value);
    for (const w of windows)
      this.set(
        facts,
        `${name}.avg${SUFFIX[w]}`,
        value === undefined ? undefined : windowAvg(this.state.history, key, w, this.opts.windows, this.now),
      );
  }

  /** Counter increases per window (events counted from a monotonic counter). */
  counter(
    facts: FactMap,
    name: string,
    key: string,
    value: number | undefined,
    windows: readonly WindowName[],
  ): void {
    if (value === undefined) return;
    recordSample(this.state.history, key, windows, this.opts.windows, this.now, value);
    for (const w of windows)
      this.set(
        facts,
        `${name}.count${SUFFIX[w]}`,
        windowIncrease(this.state.history, key, w, this.opts.windows, this.now),
      );
  }

  record(key: string, windows: readonly WindowName[], value: number | undefined): void {
    if (value !== undefined)
      recordSample(this.state.history, key, windows, this.opts.windows, this.now, value);
  }

  slope(key: string, w: WindowName): number | undefined {
    return windowSlope(this.state.history, key, w, this.opts.windows, this.now);
  }

  avg(key: string, w: WindowName): number | undefined {
    return windowAvg(this.state.history, key, w, this.opts.windows, this.now);
  }

  ends(key: string, w: WindowName): ReturnType<typeof windowEnds> {
    return windowEnds(this.state.history, key, w, this.opts.windows, this.now);
  }
}

interface VertexDerived {
  v: VertexSnapshot;
  busyMax?: number;
  busyAvg?: number;
  bpMax?: number;
  inRate?: number;
  outRate?: number;
  isSource: boolean;
  isSink: boolean;
  backpressured: boolean;
  targetRate?: number;
}

/**
 * DETECT: a Snapshot plus the job's history → the facts of dictionary v1. Pure apart from the
 * `state` it updates (history is keyed by source time, so re-running a cycle on the same
 * snapshot adds nothing).
 */
export function detect(
  snapshot: Snapshot,
  prev: DetectState | undefined,
  opts: DetectOptions,
): { facts: JobFacts; state: DetectState } {
  const job = snapshot.job;
  const state: DetectState =
    prev && prev.incarnation === job.incarnation ? structuredClone(prev) : emptyDetectState(job.incarnation);
  const now = snapshot.observedAt;
  const b = new FactBuilder(state, opts, now);

  // ── cluster ──
  const cluster: FactMap = {};
  const c = snapshot.cluster;
  b.set(cluster, 'cluster.reachable', c.reachable);
  b.set(cluster, 'cluster.flinkVersion', c.flinkVersion);
  b.set(cluster, 'cluster.taskManagers', c.taskManagers);
  b.set(cluster, 'cluster.slotsTotal', c.slotsTotal);
  b.set(cluster, 'cluster.slotsAvailable', c.slotsAvailable);
  b.set(cluster, 'cluster.pendingTaskManagers', c.pendingTaskManagers);
  b.gauge(
    cluster,
    'cluster.jobManager.heapUsedRatio',
    'cluster:jmHeap',
    ratio(c.jobManagerHeapUsed, c.jobManagerHeapMax),
    ['short'],
  );
  if (snapshot.taskManagers) {
    const current = snapshot.taskManagers.map(t => t.id);
    const lost = state.taskManagers.filter(id => !current.includes(id)).length;
    const lostTotal =
      (windowEnds(state.history, 'cluster:tmLost', 'long', opts.windows, now)?.last ?? 0) + lost;
    b.counter(cluster, 'cluster.taskManagersLost', 'cluster:tmLost', lostTotal, ['medium', 'long']);
    state.taskManagers = current;
  }

  // ── vertices (graph first: sources, sinks, backpressure, target rates) ──
  const vertices = snapshot.vertices;
  const consumers = new Set(vertices.flatMap(v => v.inputs));
  const derived = new Map<string, VertexDerived>();
  for (const v of vertices) {
    const m = v.metrics;
    const isSource = v.inputs.length === 0;
    const bpMax = perMille(m.backPressuredTimeMsPerSecond?.max);
    const outRate = finite(m.numRecordsOutPerSecond?.sum);
    derived.set(v.id, {
      v,
      busyMax: perMille(m.busyTimeMsPerSecond?.max),
      busyAvg: perMille(m.busyTimeMsPerSecond?.avg),
      bpMax,
      inRate: isSource ? outRate : finite(m.numRecordsInPerSecond?.sum),
      outRate,
      isSource,
      isSink: !consumers.has(v.id),
      backpressured: (bpMax ?? 0) > BACKPRESSURED_ABOVE,
    });
  }

  // Sources: backlog, lag in seconds of input, target rate = input + backlog / catch-up.
  const sources: SubjectFacts[] = [];
  let maxLag: number | undefined;
  let sourceRate: number | undefined;
  for (const d of derived.values()) {
    if (!d.isSource) continue;
    const facts: FactMap = {};
    const key = `source:${d.v.id}`;
    const pending = finite(d.v.metrics.pendingRecords?.sum);
    b.gauge(facts, 'source.pendingRecords', `${key}:pending`, pending, ['short']);
    const pendingSlope = pending === undefined ? undefined : b.slope(`${key}:pending`, 'short');
    b.set(facts, 'source.pendingRecords.growthShort', pendingSlope);
    b.record(`${key}:rate`, ['short'], d.outRate);
    b.set(facts, 'source.recordsRate', d.outRate);
    const avgRate = b.avg(`${key}:rate`, 'short');
    const lag = pending === undefined ? undefined : pending === 0 ? 0 : ratio(pending, avgRate);
    b.gauge(facts, 'source.lagSeconds', `${key}:lag`, lag, ['short', 'medium']);
    const evLag = finite(d.v.metrics.currentEmitEventTimeLag?.max);
    b.gauge(facts, 'source.eventTimeLag', `${key}:evlag`, evLag === undefined ? undefined : evLag / 1000, [
      'short',
    ]);
    b.set(facts, 'source.idleRatio.avg', perMille(d.v.metrics.idleTimeMsPerSecond?.avg));
    if (lag !== undefined) maxLag = Math.max(maxLag ?? 0, lag);
    if (d.outRate !== undefined) sourceRate = (sourceRate ?? 0) + d.outRate;
    if (d.outRate !== undefined) {
      const inputRate = d.outRate + Math.max(0, pendingSlope ?? 0);
      d.targetRate = inputRate + (pending ?? 0) / (opts.catchUpMs / 1000);
    }
    sources.push({ subject: { kind: 'source', id: d.v.id, name: d.v.name }, facts });
  }

  // Target rates through the graph, in topological order: each input's target × its output ratio.
  const order = topological(vertices);
  for (const v of order) {
    const d = derived.get(v.id);
    if (!d || d.isSource) continue;
    let target: number | undefined = 0;
    for (const u of v.inputs) {
      const du = derived.get(u);
      const outRatio = du ? (du.isSource ? 1 : ratio(du.outRate, du.inRate)) : undefined;
      if (du?.targetRate === undefined || outRatio === undefined) {
        target = undefined;
        break;
      }
      target += du.targetRate * outRatio;
    }
    d.targetRate = target;
  }

  const vertexFacts: SubjectFacts[] = [];
  let maxBusy: number | undefined;
  let maxBp: number | undefined;
  let bottlenecks = 0;
  let totalParallelism = 0;
  for (const d of derived.values()) {
    const { v } = d;
    const m = v.metrics;
    const facts: FactMap = {};
    const key = `vertex:${v.id}`;
    totalParallelism += v.parallelism;
    b.set(facts, 'vertex.parallelism', v.parallelism);
    b.set(facts, 'vertex.maxParallelism', v.maxParallelism);
    b.set(facts, 'vertex.isSource', d.isSource);
    b.set(facts, 'vertex.isSink', d.isSink);
    const upstreamBp = v.inputs.some(u => derived.get(u)?.backpressured === true);
    b.set(facts, 'vertex.upstreamBackpressured', upstreamBp);
    const hasBusy = d.busyMax !== undefined && d.bpMax !== undefined;
    const bottleneck =
      hasBusy && !d.backpressured && (upstreamBp || (d.isSource && (d.busyMax ?? 0) >= SOURCE_SATURATED_AT));
    if (hasBusy) b.set(facts, 'vertex.isBottleneck', bottleneck);
    if (bottleneck) bottlenecks += 1;
    b.gauge(facts, 'vertex.busyRatio.max', `${key}:busyMax`, d.busyMax, ['short', 'long']);
    b.gauge(facts, 'vertex.busyRatio.avg', `${key}:busyAvg`, d.busyAvg, ['short', 'long']);
    b.gauge(facts, 'vertex.backpressureRatio.max', `${key}:bpMax`, d.bpMax, ['short', 'long']);
    b.gauge(
      facts,
      'vertex.backpressureRatio.avg',
      `${key}:bpAvg`,
      perMille(m.backPressuredTimeMsPerSecond?.avg),
      ['short', 'long'],
    );
    b.gauge(facts, 'vertex.idleRatio.avg', `${key}:idleAvg`, perMille(m.idleTimeMsPerSecond?.avg), ['long']);
    b.set(facts, 'vertex.recordsInRate', d.inRate);
    b.set(facts, 'vertex.recordsOutRate', d.outRate);
    const tpr = d.busyAvg !== undefined && d.busyAvg > 0.01 ? ratio(d.inRate, d.busyAvg) : undefined;
    b.set(facts, 'vertex.trueProcessingRate', tpr);
    b.set(facts, 'vertex.targetRate', d.targetRate);
    b.set(facts, 'vertex.requiredUtilization', ratio(d.targetRate, tpr));
    b.set(facts, 'vertex.busySkew', skew(m.busyTimeMsPerSecond));
    b.set(
      facts,
      'vertex.recordsInSkew',
      skew(d.isSource ? m.numRecordsOutPerSecond : m.numRecordsInPerSecond),
    );
    const wm = finite(m.currentInputWatermark?.min);
    if (wm !== undefined && wm > 0) {
      b.gauge(facts, 'vertex.watermarkLag', `${key}:wmLag`, Math.max(0, (now - wm) / 1000), ['short']);
      const seen = state.watermarks[v.id];
      if (!seen || seen.value !== wm) state.watermarks[v.id] = { value: wm, since: now };
      b.set(facts, 'vertex.watermarkStalledFor', (now - (state.watermarks[v.id]?.since ?? now)) / 1000);
    }
    if (d.busyMax !== undefined) maxBusy = Math.max(maxBusy ?? 0, d.busyMax);
    if (d.bpMax !== undefined) maxBp = Math.max(maxBp ?? 0, d.bpMax);
    vertexFacts.push({ subject: { kind: 'vertex', id: v.id, name: v.name }, facts });
  }

  // ── job ──
  const jf: FactMap = {};
  const js = snapshot.jobStatus;
  if (js) {
    b.set(jf, 'job.state', js.state);
    b.set(jf, 'job.isRunning', js.state === 'RUNNING');
    if (js.state === 'RUNNING' && js.runningSince !== undefined)
      b.set(jf, 'job.uptime', Math.max(0, (now - js.runningSince) / 1000));
    if (js.schedulerType !== undefined) b.set(jf, 'job.schedulerAdaptive', js.schedulerType === 'Adaptive');
    const restarts =
      js.numRestarts === undefined ? undefined : failureRestarts(state, snapshot, js.numRestarts, now);
    b.counter(jf, 'job.restarts', 'job:restarts', restarts, ['short', 'medium', 'long', 'day']);
  }
  if (vertices.length > 0) b.set(jf, 'job.parallelism.total', totalParallelism);
  if (snapshot.exceptions) {
    for (const w of ['short', 'medium', 'long'] as const) {
      const since = now - opts.windows[w];
      b.set(
        jf,
        `job.exceptions.count${SUFFIX[w]}`,
        snapshot.exceptions.filter(e => e.timestamp >= since).length,
      );
    }
    const classify = opts.classify;
    if (classify) {
      const newest = snapshot.exceptions.reduce<ExceptionEntry | undefined>(
        (a, e) => (a === undefined || e.timestamp > a.timestamp ? e : a),
        undefined,
      );
      b.set(jf, 'job.exceptions.latestClass', newest && classify(newest));
      for (const w of ['medium', 'long'] as const) {
        const since = now - opts.windows[w];
        const recent = snapshot.exceptions.filter(e => e.timestamp >= since);
        b.set(jf, `job.exceptions.classes${SUFFIX[w]}`, [...new Set(recent.map(classify))].sort());
      }
    }
  }
  const cp = snapshot.checkpoints;
  if (cp) {
    b.counter(jf, 'job.checkpoints.failed', 'job:cpFailed', cp.counts.failed, ['short', 'medium', 'long']);
    b.counter(jf, 'job.checkpoints.completed', 'job:cpCompleted', cp.counts.completed, [
      'short',
      'medium',
      'long',
    ]);
    const last = cp.latestCompleted;
    const lastAt = last?.latestAckTimestamp;
    if (lastAt !== undefined)
      b.set(jf, 'job.checkpoints.sinceLastCompleted', Math.max(0, (now - lastAt) / 1000));
    const dur = last?.endToEndDurationMs === undefined ? undefined : last.endToEndDurationMs / 1000;
    b.gauge(jf, 'job.checkpoints.lastDuration', 'job:cpDuration', dur, ['short', 'long']);
    if (cp.config) {
      b.set(jf, 'job.checkpoints.interval', cp.config.intervalMs / 1000);
      b.set(jf, 'job.checkpoints.timeout', cp.config.timeoutMs / 1000);
      b.set(jf, 'job.checkpoints.exactlyOnce', cp.config.mode === 'EXACTLY_ONCE');
      b.set(jf, 'job.checkpoints.unaligned', cp.config.unaligned);
      if (dur !== undefined) {
        b.set(jf, 'job.checkpoints.durationToTimeoutRatio', ratio(dur, cp.config.timeoutMs / 1000));
        b.set(jf, 'job.checkpoints.durationToIntervalRatio', ratio(dur, cp.config.intervalMs / 1000));
      }
    }
    const size = last?.stateSizeBytes;
    b.set(jf, 'job.checkpoints.stateSize', size);
    b.record('job:stateSize', ['long'], size);
    const ends = size === undefined ? undefined : b.ends('job:stateSize', 'long');
    if (ends && ends.first > 0 && ends.spanMs >= opts.windows.long / 2)
      b.set(jf, 'job.checkpoints.stateSize.growthLong', (ends.last - ends.first) / ends.first);
  }
  const nanosMax = (pick: (v: VertexSnapshot) => Agg | undefined): number | undefined => {
    let max: number | undefined;
    for (const v of vertices) {
      const x = finite(pick(v)?.max);
      if (x !== undefined) max = Math.max(max ?? 0, x);
    }
    return max === undefined ? undefined : max / 1e9;
  };
  b.set(
    jf,
    'job.checkpoints.startDelay.max',
    nanosMax(v => v.metrics.checkpointStartDelayNanos),
  );
  b.set(
    jf,
    'job.checkpoints.alignment.max',
    nanosMax(v => v.metrics.checkpointAlignmentTime),
  );
  b.gauge(jf, 'job.lagSeconds', 'job:lag', maxLag, ['short', 'medium']);
  if (maxLag !== undefined) b.set(jf, 'job.lagSeconds.growthShort', b.slope('job:lag', 'short'));
  b.set(jf, 'job.sourceRate', sourceRate);
  b.gauge(jf, 'job.maxBusyRatio', 'job:maxBusy', maxBusy, ['long']);
  b.set(jf, 'job.maxBackpressureRatio', maxBp);
  if (maxBusy !== undefined) b.set(jf, 'job.bottleneckCount', bottlenecks);

  // ── taskmanagers ──
  const tmFacts: SubjectFacts[] = [];
  // A session cluster's TaskManagers serve many jobs: only those running a subtask of this job
  // (and their nodes) are its subjects. Without placement data, every TaskManager counts.
  const placed = new Set(vertices.flatMap(v => v.taskManagers ?? []));
  const ownTms = (snapshot.taskManagers ?? []).filter(tm => placed.size === 0 || placed.has(tm.id));
  const ownNodes = new Set(ownTms.map(tm => tm.node ?? tm.host));
  for (const tm of ownTms) {
    const facts: FactMap = {};
    const key = `tm:${tm.id}`;
    b.gauge(facts, 'taskmanager.heapUsedRatio', `${key}:heap`, ratio(tm.heapUsed, tm.heapMax), ['short']);
    b.set(facts, 'taskmanager.metaspaceUsedRatio', ratio(tm.metaspaceUsed, tm.metaspaceMax));
    b.set(facts, 'taskmanager.directUsedRatio', ratio(tm.directUsed, tm.directMax));
    let gc = perMille(tm.gcTimeMsPerSecond);
    if (gc === undefined && tm.gcTimeMsTotal !== undefined) {
      b.record(`${key}:gcTotal`, ['short'], tm.gcTimeMsTotal);
      const slope = b.slope(`${key}:gcTotal`, 'short');
      gc = slope === undefined ? undefined : perMille(Math.max(0, slope));
    }
    b.gauge(facts, 'taskmanager.gcTimeRatio', `${key}:gc`, gc, ['short', 'medium']);
    b.set(facts, 'taskmanager.cpuLoad', finite(tm.cpuLoad));
    b.set(
      facts,
      'taskmanager.heartbeatAge',
      tm.timeSinceLastHeartbeatMs === undefined ? undefined : tm.timeSinceLastHeartbeatMs / 1000,
    );
    b.set(facts, 'taskmanager.freeSlots', tm.slotsFree);
    tmFacts.push({
      subject: { kind: 'taskmanager', id: tm.id, name: tm.host === tm.id ? tm.id : `${tm.id} (${tm.host})` },
      facts,
    });
  }

  // ── nodes ──
  const nodeFacts: SubjectFacts[] = [];
  for (const n of (snapshot.nodes ?? []).filter(node => placed.size === 0 || ownNodes.has(node.name))) {
    const facts: FactMap = {};
    const key = `node:${n.name}`;
    b.gauge(facts, 'node.cpuStealRatio', `${key}:steal`, finite(n.cpuStealRatio), ['short']);
    b.gauge(facts, 'node.cpuIowaitRatio', `${key}:iowait`, finite(n.cpuIowaitRatio), ['short']);
    b.set(facts, 'node.diskFreeRatio', finite(n.diskFreeRatio));
    b.gauge(facts, 'node.diskBusyRatio', `${key}:diskBusy`, finite(n.diskBusyRatio), ['short']);
    b.set(facts, 'node.nicErrorsRate', finite(n.nicErrorsPerSecond));
    b.set(facts, 'node.nicDropsRate', finite(n.nicDropsPerSecond));
    b.set(facts, 'node.memoryAvailableRatio', finite(n.memoryAvailableRatio));
    nodeFacts.push({ subject: { kind: 'node', id: n.name, name: n.name }, facts });
  }

  state.lastObservedAt = now;
  return {
    facts: {
      jobKey: job.jobKey,
      observedAt: now,
      cluster: { subject: { kind: 'cluster', id: job.cluster, name: job.cluster }, facts: cluster },
      job: { subject: { kind: 'job', id: job.jobKey, name: job.name }, facts: jf },
      sources,
      vertices: vertexFacts,
      taskmanagers: tmFacts,
      nodes: nodeFacts,
    },
    state,
  };
}

/** Vertices ordered so that every vertex follows its inputs (input order kept otherwise). */
export function topological(vertices: readonly VertexSnapshot[]): VertexSnapshot[] {
  const byId = new Map(vertices.map(v => [v.id, v]));
  const out: VertexSnapshot[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (v: VertexSnapshot): void => {
    const s = state.get(v.id);
    if (s === 'done' || s === 'visiting') return; // a cycle cannot occur in a Flink job graph; ignore defensively
    state.set(v.id, 'visiting');
    for (const u of v.inputs) {
      const uv = byId.get(u);
      if (uv) visit(uv);
    }
    state.set(v.id, 'done');
    out.push(v);
  };
  for (const v of vertices) visit(v);
  return out;
}
