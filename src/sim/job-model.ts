import { CheckpointTracker } from './checkpoints.js';
import { CHECKPOINT_THRESHOLD, isActive, param, stacktraceOf, type FailureText } from './faults.js';
import { MovingAverage } from './moving-average.js';
import { rateAt } from './profile.js';
import { hexId } from './random.js';
import type { FaultSpec, JobSpec, VertexSpec } from './scenario.js';
import { ancestors, keyWeights, partitionWeights } from './topology.js';

/** Flink reports "no watermark yet" as Long.MIN_VALUE. */
export const MIN_WATERMARK = -(2 ** 63);
/** Event-time out-of-orderness the simulated sources allow (watermark = event time − this). */
const OUT_OF_ORDERNESS_MS = 5_000;
const BASE_LAG_MS = 150;
export const EXCEPTION_HISTORY_SIZE = 16;

export type SimJobStatus = 'CREATED' | 'RUNNING' | 'RESTARTING';

export interface SubtaskState {
  tm: number;
  busy: MovingAverage;
  backPressured: MovingAverage;
  idle: MovingAverage;
  inRate: MovingAverage;
  outRate: MovingAverage;
  /** Operator-level in rate (sources: records read from the external system). */
  opInRate: MovingAverage;
  recordsIn: number;
  recordsOut: number;
  opRecordsIn: number;
  accBusyMs: number;
  accBackPressuredMs: number;
  accIdleMs: number;
  /** Output watermark, epoch ms (MIN_WATERMARK before the first record; +∞ when idle). */
  watermark: number;
  /** Sources: records waiting in the external system for this subtask's partitions. */
  pending: number;
  /** Sources: currentEmitEventTimeLag, ms. */
  emitLagMs: number;
  inPoolUsage: number;
  outPoolUsage: number;
  /** Instantaneous busy ratio of the last second (drives TaskManager CPU). */
  lastBusy: number;
}

export interface VertexState {
  index: number;
  id: string;
  spec: VertexSpec;
  inputs: number[];
  outputs: number[];
  isSource: boolean;
  maxParallelism: number;
  parallelism: number;
  lowerBound: number;
  upperBound: number;
  subtasks: SubtaskState[];
}

export interface ExceptionRecord {
  exceptionName: string;
  stacktrace: string;
  timestamp: number;
  taskName: string;
  endpoint: string;
  taskManagerId: string;
}

export interface RescaleRecord {
  uuid: string;
  requirementsUuid: string;
  trigger: 'UPDATE_REQUIREMENT' | 'NEW_RESOURCE_AVAILABLE' | 'RECOVERABLE_FAILOVER' | 'INITIAL_SCHEDULE';
  start: number;
  end?: number;
  terminalState?: 'COMPLETED' | 'FAILED' | 'IGNORED';
  pre: Record<string, number>;
  desired: Record<string, number>;
  post?: Record<string, number>;
}

/** What a job asks of its surroundings while it runs one second. */
export interface StepEnv {
  now: number;
  elapsed: number;
  startEpoch: number;
  /** Capacity multiplier of a TaskManager (GC, CPU steal, NIC errors), 0–1. */
  capacityFactor(tm: number): number;
}

export interface StepOutcome {
  failure?: FailureText;
  /** Vertex and subtask the failure is attributed to. */
  at?: { vertex: number; subtask: number };
}

function newSubtask(tm: number): SubtaskState {
  return {
    tm,
    busy: new MovingAverage(false, 1000),
    backPressured: new MovingAverage(false),
    idle: new MovingAverage(false),
    inRate: new MovingAverage(),
    outRate: new MovingAverage(),
    opInRate: new MovingAverage(),
    recordsIn: 0,
    recordsOut: 0,
    opRecordsIn: 0,
    accBusyMs: 0,
    accBackPressuredMs: 0,
    accIdleMs: 0,
    watermark: MIN_WATERMARK,
    pending: 0,
    emitLagMs: BASE_LAG_MS,
    inPoolUsage: 0,
    outPoolUsage: 0,
    lastBusy: 0,
  };
}

/**
 * One simulated Flink job: a DAG of vertices stepped one second at a time. Throughput is limited
 * by the bottleneck subtask; back-pressure reaches every vertex upstream of it; source backlog and
 * event-time lag grow when the sources read less than arrives. Lifecycle (start, stop, rescale)
 * is driven by the cluster, which owns the slots.
 */
export class JobModel {
  readonly id: string;
  readonly vertices: VertexState[];
  readonly checkpoints: CheckpointTracker;
  readonly exceptions: ExceptionRecord[] = [];
  readonly rescales: RescaleRecord[] = [];
  readonly timestamps: Partial<Record<string, number>> = {};
  status: SimJobStatus = 'CREATED';
  statusSince: number;
  readonly startTime: number;
  runningSince = 0;
  restartUntil = 0;
  numRestarts = 0;
  numRescales = 0;
  attempt = 0;
  /** TaskManager index of each slot the job holds (slot i runs subtask i of every vertex). */
  slots: number[] = [];
  /** Source backlog per vertex (records). */
  private readonly backlog: number[];
  private readonly ancestorSets: Set<number>[];
  private pendingRequirementsAt: number | undefined;
  requirementsVersion = 0;

  constructor(
    readonly spec: JobSpec,
    readonly seed: number,
    now: number,
    checkpointOnRestart = false,
  ) {
    this.id = hexId(seed, 'job', spec.name);
    this.startTime = now;
    this.statusSince = now;
    this.timestamps.INITIALIZING = now;
    this.timestamps.CREATED = now;
    const index = new Map(spec.vertices.map((v, i) => [v.name, i]));
    this.vertices = spec.vertices.map((v, i) => {
      const maxParallelism = v.maxParallelism ?? spec.maxParallelism;
      return {
        index: i,
        id: hexId(seed, 'vertex', spec.name, v.name),
        spec: v,
        inputs: v.inputs.map(n => index.get(n) ?? -1).filter(n => n >= 0),
        outputs: [],
        isSource: v.inputs.length === 0,
        maxParallelism,
        parallelism: v.parallelism,
        lowerBound: 1,
        upperBound: v.parallelism,
        subtasks: [],
      };
    });
    for (const v of this.vertices) for (const u of v.inputs) this.vertices[u]?.outputs.push(v.index);
    this.ancestorSets = ancestors(this.vertices);
    this.backlog = this.vertices.map(() => 0);
    this.checkpoints = new CheckpointTracker(spec.checkpoint, checkpointOnRestart);
  }

  /** Slots the job needs at the given parallelism (one slot-sharing group). */
  slotsWanted(): number {
    return Math.max(...this.vertices.map(v => v.upperBound));
  }

  /** Slots it holds now. */
  slotsHeld(): number {
    return this.status === 'CREATED' ? 0 : this.slots.length;
  }

  /** Highest lower bound: fewer slots than this and the job cannot run. */
  slotsRequiredMin(): number {
    return Math.max(...this.vertices.map(v => v.lowerBound));
  }

  currentParallelism(): Record<string, number> {
    return Object.fromEntries(this.vertices.map(v => [v.id, v.parallelism]));
  }

  /** Deploys every vertex on `slots` (parallelism = min(upper bound, slots)). */
  start(now: number, slots: number[]): void {
    this.slots = slots;
    for (const v of this.vertices) {
      v.parallelism = Math.min(v.upperBound, slots.length);
      v.subtasks = Array.from({ length: v.parallelism }, (_, i) => newSubtask(slots[i] ?? 0));
    }
    this.attempt++;
    this.setStatus('RUNNING', now);
    this.runningSince = now;
    this.checkpoints.onRunning(now);
  }

  /** Cancels the tasks; the job is back after `downtimeMs` (failover restart or rescale). */
  stop(
    now: number,
    downtimeMs: number,
    failure?: FailureText,
    at?: { vertex: number; subtask: number },
  ): void {
    if (failure !== undefined) {
      this.recordException(now, failure, at);
      this.numRestarts++;
    }
    this.checkpoints.onStopped(now);
    for (const v of this.vertices) v.subtasks = [];
    this.slots = [];
    this.restartUntil = now + downtimeMs;
    this.setStatus('RESTARTING', now);
  }

  /**
   * A rescale by the adaptive scheduler: the tasks are cancelled and the job is CREATED (not
   * RESTARTING) until it runs again: both 1.20.3 and 2.3.0 go RUNNING → CREATED → RUNNING, and
   * count it in numRestarts (with no exception).
   */
  stopForRescale(now: number, downtimeMs: number): void {
    this.stop(now, downtimeMs);
    this.numRestarts++;
    this.setStatus('CREATED', now);
  }

  /** Waiting for slots (adaptive scheduler's WaitingForResources reports CREATED). */
  waitForResources(now: number): void {
    if (this.status !== 'CREATED') this.setStatus('CREATED', now);
  }

  recordException(
    now: number,
    failure: FailureText,
    at?: { vertex: number; subtask: number },
    tmId = '',
  ): void {
    const v = at === undefined ? undefined : this.vertices[at.vertex];
    this.exceptions.unshift({
      exceptionName: failure.exceptionName,
      stacktrace: stacktraceOf(failure),
      timestamp: now,
      taskName: v === undefined ? '' : `${v.spec.name} (${(at?.subtask ?? 0) + 1}/${v.parallelism})`,
      endpoint: '',
      taskManagerId: tmId,
    });
    if (this.exceptions.length > EXCEPTION_HISTORY_SIZE) this.exceptions.length = EXCEPTION_HISTORY_SIZE;
  }

  /** Sets new bounds (validated by the caller); the cluster decides when they take effect. */
  setRequirements(now: number, bounds: ReadonlyMap<number, { lower: number; upper: number }>): void {
    for (const [i, b] of bounds) {
      const v = this.vertices[i];
      if (v === undefined) continue;
      v.lowerBound = b.lower;
      v.upperBound = b.upper;
    }
    this.pendingRequirementsAt = now;
    this.requirementsVersion++;
  }

  /** When the requirement update still waiting to take effect was made, if any. */
  pendingSince(): number | undefined {
    return this.pendingRequirementsAt;
  }

  clearPending(): void {
    this.pendingRequirementsAt = undefined;
  }

  private setStatus(status: SimJobStatus, now: number): void {
    this.status = status;
    this.statusSince = now;
    this.timestamps[status] = now;
  }

  totalBacklog(): number {
    return this.backlog.reduce((a, b) => a + b, 0);
  }

  /** Records keep arriving in the external system while the job is down. */
  accumulateWhileDown(env: StepEnv, faults: readonly FaultSpec[]): void {
    const inputFactor = this.inputFactor(faults, env.elapsed);
    for (const v of this.vertices) {
      if (!v.isSource || v.spec.profile === undefined) continue;
      this.backlog[v.index] =
        (this.backlog[v.index] ?? 0) +
        rateAt(v.spec.profile, `${this.id}/${v.id}`, env.elapsed, env.now) * inputFactor;
    }
  }

  private inputFactor(faults: readonly FaultSpec[], elapsed: number): number {
    let f = 1;
    for (const x of faults)
      if (x.kind === 'idle-over-provisioned' && isActive(x, elapsed)) f *= param(x, 'factor', 0.05);
    return f;
  }

  private stateGrowth(faults: readonly FaultSpec[], elapsed: number): number {
    let g = this.spec.checkpoint.stateGrowthBytesPerSecond;
    for (const x of faults)
      if (x.kind === 'state-growth' && isActive(x, elapsed)) g += param(x, 'bytesPerSecond', 4 * 1024 ** 2);
    return g;
  }

  /** Vertex a vertex-scoped fault applies to: the named one, else the first source or the last vertex. */
  faultVertex(f: FaultSpec, fallback: 'source' | 'sink' | 'keyed'): number {
    if (f.vertex !== undefined) return this.vertices.findIndex(v => v.spec.name === f.vertex);
    if (fallback === 'source') return this.vertices.findIndex(v => v.isSource);
    if (fallback === 'sink') return this.vertices.length - 1;
    const keyed = this.vertices.findIndex(v => !v.isSource && v.outputs.length > 0);
    return keyed >= 0 ? keyed : this.vertices.length - 1;
  }

  /** One second of processing while RUNNING. `faults` are the scenario faults aimed at this job. */
  step(env: StepEnv, faults: readonly FaultSpec[]): StepOutcome {
    const { now, elapsed } = env;
    const active = faults.filter(f => isActive(f, elapsed));
    const capFactor = this.vertices.map(() => 1);
    const extraHot = this.vertices.map(() => 0);
    const unreachable = new Set<number>();
    let stalled: { vertex: number; subtask: number } | undefined;
    let checkpointSlowdown = 1;
    for (const f of active) {
      if (f.kind === 'slow-sink') capFactor[this.faultVertex(f, 'sink')] = param(f, 'factor', 0.25);
      if (f.kind === 'hot-key') {
        const i = this.faultVertex(f, 'keyed');
        extraHot[i] = (extraHot[i] ?? 0) + param(f, 'share', 0.6);
      }
      if (f.kind === 'connector-unreachable') unreachable.add(this.faultVertex(f, 'source'));
      if (f.kind === 'stalled-watermark')
        stalled = { vertex: this.faultVertex(f, 'source'), subtask: param(f, 'subtask', 0) };
      if (f.kind === 'checkpoint-timeout') checkpointSlowdown *= param(f, 'factor', 400);
    }
    const inputFactor = this.inputFactor(faults, elapsed);

    // Pass 1: offered load per subtask, without back-pressure.
    const weights: number[][] = [];
    const caps: number[][] = [];
    const offeredIn: number[] = [];
    const offeredOut: number[] = [];
    const arriving: number[] = [];
    const emitWanted: number[][] = [];
    let k = 1;
    let bottleneck = -1;
    for (const v of this.vertices) {
      const p = v.parallelism;
      const vertexCap =
        unreachable.has(v.index) && !v.isSource ? 1e-9 : v.spec.capacity * (capFactor[v.index] ?? 1);
      caps[v.index] = v.subtasks.map(s => vertexCap * env.capacityFactor(s.tm));
      if (v.isSource) {
        let w = partitionWeights(v.spec.partitions, p);
        if (stalled?.vertex === v.index) w = this.withoutSubtask(w, stalled.subtask);
        weights[v.index] = w;
        const r =
          v.spec.profile === undefined
            ? 0
            : rateAt(v.spec.profile, `${this.id}/${v.id}`, elapsed, now) * inputFactor;
        arriving[v.index] = r;
        const queued = v.spec.backlog ? (this.backlog[v.index] ?? 0) : 0;
        const available = unreachable.has(v.index) ? 0 : r + queued;
        emitWanted[v.index] = w.map((wi, i) => Math.min(caps[v.index]?.[i] ?? 0, available * wi));
        offeredIn[v.index] = 0;
        offeredOut[v.index] = (emitWanted[v.index] ?? []).reduce((a, b) => a + b, 0) * v.spec.selectivity;
      } else {
        const w = keyWeights(v.spec, p, extraHot[v.index] ?? 0);
        weights[v.index] = w;
        const inRate = v.inputs.reduce((a, u) => a + (offeredOut[u] ?? 0), 0);
        offeredIn[v.index] = inRate;
        offeredOut[v.index] = inRate * v.spec.selectivity;
        w.forEach((wi, i) => {
          const load = inRate * wi;
          const ratio = load > 0 ? (caps[v.index]?.[i] ?? 0) / load : Number.POSITIVE_INFINITY;
          if (ratio < k) {
            k = ratio;
            bottleneck = v.index;
          }
        });
      }
    }
    const throttled = bottleneck >= 0 && k < 1;
    const upstreamOfBottleneck = throttled
      ? (this.ancestorSets[bottleneck] ?? new Set<number>())
      : new Set<number>();

    // Pass 2: actual rates, busy / back-pressured / idle, counters, backlog.
    let maxBp = 0;
    const outWatermark: number[] = [];
    for (const v of this.vertices) {
      const w = weights[v.index] ?? [];
      const cap = caps[v.index] ?? [];
      const bpShare = upstreamOfBottleneck.has(v.index);
      let vertexWatermark = Number.POSITIVE_INFINITY;
      let inputWatermark = Number.POSITIVE_INFINITY;
      if (!v.isSource)
        for (const u of v.inputs) inputWatermark = Math.min(inputWatermark, outWatermark[u] ?? MIN_WATERMARK);
      let emitted = 0;
      v.subtasks.forEach((s, i) => {
        const c = cap[i] ?? 0;
        let inRec: number;
        let work: number;
        if (v.isSource) {
          work = (emitWanted[v.index]?.[i] ?? 0) * k;
          inRec = 0;
          emitted += work;
        } else {
          work = (offeredIn[v.index] ?? 0) * (w[i] ?? 0) * k;
          inRec = work;
        }
        const busy = c > 0 ? Math.min(1, work / c) : 1;
        const bp = bpShare ? 1 - busy : 0;
        const idle = Math.max(0, 1 - busy - bp);
        maxBp = Math.max(maxBp, bp);
        s.lastBusy = busy;
        s.busy.push(busy * 1000);
        s.backPressured.push(bp * 1000);
        s.idle.push(idle * 1000);
        s.accBusyMs += busy * 1000;
        s.accBackPressuredMs += bp * 1000;
        s.accIdleMs += idle * 1000;
        const outRec = work * v.spec.selectivity;
        s.inRate.push(inRec);
        s.outRate.push(outRec);
        s.opInRate.push(v.isSource ? work : inRec);
        s.recordsIn += inRec;
        s.recordsOut += outRec;
        s.opRecordsIn += v.isSource ? work : inRec;
        s.outPoolUsage = bp > 0 ? Math.min(1, 0.6 + 0.4 * bp) : 0.1 * busy;
        s.inPoolUsage = v.index === bottleneck && throttled ? Math.min(1, 0.5 + 0.5 * busy) : 0.1 * busy;
        if (!v.isSource) {
          s.watermark = inputWatermark;
          vertexWatermark = Math.min(vertexWatermark, s.watermark);
        }
      });
      if (v.isSource) {
        const arrived = arriving[v.index] ?? 0;
        const backlog = v.spec.backlog ? Math.max(0, (this.backlog[v.index] ?? 0) + arrived - emitted) : 0;
        this.backlog[v.index] = backlog;
        v.subtasks.forEach((s, i) => {
          const wi = w[i] ?? 0;
          s.pending = backlog * wi;
          const isStalled = stalled?.vertex === v.index && stalled.subtask === i;
          if (wi === 0 && !isStalled) {
            s.watermark = Number.POSITIVE_INFINITY; // no split assigned: idle, ignored downstream
            return;
          }
          if (emitted > 0 && !isStalled) {
            s.emitLagMs = BASE_LAG_MS + (1000 * backlog) / Math.max(arrived, 1);
            s.watermark = now - s.emitLagMs - OUT_OF_ORDERNESS_MS;
          } else if (s.watermark !== MIN_WATERMARK) s.emitLagMs += 1000;
          vertexWatermark = Math.min(vertexWatermark, s.watermark);
        });
      }
      outWatermark[v.index] = vertexWatermark;
    }

    const numSubtasks = this.vertices.reduce((a, v) => a + v.parallelism, 0);
    const expired = this.checkpoints.step(now, this.stateGrowth(faults, elapsed), {
      maxBackpressure: maxBp,
      slowdown: checkpointSlowdown,
      numSubtasks,
    });
    if (expired && this.checkpoints.consecutiveFailures > this.spec.checkpoint.tolerableFailed)
      return { failure: CHECKPOINT_THRESHOLD };
    return {};
  }

  private withoutSubtask(w: number[], subtask: number): number[] {
    const drop = w[subtask] ?? 0;
    if (drop >= 1) return w.map(() => 0);
    return w.map((x, i) => (i === subtask ? 0 : x / (1 - drop)));
  }
}
