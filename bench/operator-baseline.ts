import { requiredCapacity, targetParallelism } from '../src/agents/select/autoscaler/sizing.js';
import type { FlinkRescaleBackend } from '../src/actions/flink-rescale/backend.js';
import type { JobRef, Snapshot } from '../src/domain/index.js';

/**
 * The Flink Kubernetes Operator's autoscaler (release 1.15, standalone with the rescale API),
 * reimplemented for the scaling benchmark from ../shared/research/flink-autoscaler.md §1.2–1.9
 * with its defaults: 15-min metric window, 5-min stabilization after every (re)start, target
 * utilization 0.7 with the band [0.4, 1.0], restart time 5 min, catch-up 30 min, backlog mode
 * above 5 min of lag, scale-down at most 60 % per step and only after a 1-h scale-down interval
 * (to the highest recommendation of that interval), legacy EVENLY_SPREAD alignment, no
 * ineffective-scaling blocking (off by default), observed TPR for catching-up sources.
 * The per-vertex arithmetic (§1.5, §1.6) is the product's sizing.ts, which reproduces the
 * operator's published numeric cases.
 */

const S = 1000;
const MIN = 60 * S;
export const OPERATOR_DEFAULTS = {
  windowMs: 15 * MIN,
  stabilizationMs: 5 * MIN,
  target: 0.7,
  uMax: 1.0,
  uMin: 0.4,
  restartSec: 300,
  catchUpSec: 1800,
  backlogLagSec: 300,
  scaleDownIntervalMs: 60 * MIN,
  scaleDownMaxFactor: 0.6,
  scaleUpMaxFactor: 100_000,
  vertexMin: 1,
  vertexMax: 200,
  observedLagThresholdSec: 30,
  switchThreshold: 0.15,
  minObservations: 2,
};

interface Sample {
  t: number;
  load: Record<string, number>;
  inRate: Record<string, number>;
  lag: Record<string, number>;
  /** Observed TPR of catching-up sources (§1.3), when defined. */
  observed: Record<string, number>;
}

const mean = (xs: number[]): number =>
  xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length;

export class OperatorBaseline {
  private samples: Sample[] = [];
  private firstAfterStable: number | undefined;
  private runningTs: number | undefined;
  /** Delayed scale-down per vertex: first trigger and the highest recommendation since. */
  private readonly pendingDown = new Map<string, { since: number; max: number }>();
  rescales = 0;

  constructor(
    private readonly job: JobRef,
    private readonly backend: FlinkRescaleBackend,
    private readonly o = OPERATOR_DEFAULTS,
  ) {}

  async step(snap: Snapshot, now: number): Promise<void> {
    const status = snap.jobStatus;
    if (status?.state !== 'RUNNING' || status.runningSince === undefined) return;
    if (this.runningTs !== status.runningSince) {
      // Redeploy (or first sight): the metric history starts over.
      this.runningTs = status.runningSince;
      this.samples = [];
      this.firstAfterStable = undefined;
    }
    if (now < status.runningSince + this.o.stabilizationMs) return;
    const sample: Sample = { t: now, load: {}, inRate: {}, lag: {}, observed: {} };
    for (const v of snap.vertices) {
      const m = v.metrics;
      const busy = m.busyTimeMsPerSecond?.max;
      if (busy !== undefined) sample.load[v.id] = Math.max(busy / 1000, 0.001);
      const isSource = v.inputs.length === 0;
      const rate = isSource ? m.numRecordsOutPerSecond?.sum : m.numRecordsInPerSecond?.sum;
      if (rate !== undefined) sample.inRate[v.id] = rate;
      if (isSource) {
        const lag = m.pendingRecords?.sum ?? 0;
        sample.lag[v.id] = lag;
        const bp = (m.backPressuredTimeMsPerSecond?.avg ?? 0) / 1000;
        if (rate !== undefined && rate > 0 && lag >= this.o.observedLagThresholdSec * rate && bp < 1)
          sample.observed[v.id] = rate / (1 - bp);
      }
    }
    this.firstAfterStable ??= now;
    this.samples.push(sample);
    const full = now >= this.firstAfterStable + this.o.windowMs;
    if (full) this.samples = this.samples.filter(x => x.t >= now - this.o.windowMs);
    if (!full || this.samples.length < 2) return;
    await this.decide(snap, now);
  }

  private async decide(snap: Snapshot, now: number): Promise<void> {
    const o = this.o;
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined) return;
    const spanSec = (last.t - first.t) / 1000;
    const inputRate: Record<string, number> = {};
    const target: Record<string, number> = {};
    const catchUp: Record<string, number> = {};
    const tpr: Record<string, number> = {};
    let backlog = false;
    for (const v of snap.vertices) {
      const rate = mean(this.samples.map(x => x.inRate[v.id]).filter((x): x is number => x !== undefined));
      const busy = mean(this.samples.map(x => x.load[v.id]).filter((x): x is number => x !== undefined));
      if (!Number.isFinite(rate) || !Number.isFinite(busy)) return;
      inputRate[v.id] = rate;
      const busyTpr = rate === 0 ? Number.POSITIVE_INFINITY : rate / busy;
      const obsList = this.samples.map(x => x.observed[v.id]).filter((x): x is number => x !== undefined);
      const obs = obsList.length >= o.minObservations ? mean(obsList) : Number.NaN;
      tpr[v.id] = Number.isNaN(obs)
        ? busyTpr
        : !Number.isFinite(busyTpr) || busyTpr > obs * (1 + o.switchThreshold)
          ? obs
          : busyTpr;
      if (v.inputs.length === 0) {
        const lagRate = ((last.lag[v.id] ?? 0) - (first.lag[v.id] ?? 0)) / Math.max(spanSec, 1);
        target[v.id] = Math.max(0, rate + lagRate);
        catchUp[v.id] = (last.lag[v.id] ?? 0) / o.catchUpSec;
        if (rate > 0 && (last.lag[v.id] ?? 0) / rate > o.backlogLagSec) backlog = true;
      }
    }
    // Topological order: the snapshot lists vertices in job-graph order (inputs first).
    for (const v of snap.vertices) {
      if (v.inputs.length === 0) continue;
      let t = 0;
      let c = 0;
      for (const u of v.inputs) {
        const ratio = (inputRate[u] ?? 0) === 0 ? 0 : (inputRate[v.id] ?? 0) / (inputRate[u] ?? 1);
        t += (target[u] ?? 0) * ratio;
        c += (catchUp[u] ?? 0) * ratio;
      }
      target[v.id] = t;
      catchUp[v.id] = c;
    }
    const uMax = backlog ? 1 : o.uMax;
    const uMin = backlog ? 0 : o.uMin;
    const next: Record<string, number> = {};
    let outside = false;
    let changed = false;
    for (const v of snap.vertices) {
      const cap = (u: number, withRestart: boolean): number =>
        requiredCapacity({
          targetRate: target[v.id] ?? 0,
          catchUpRate: catchUp[v.id] ?? 0,
          utilization: u,
          restartSec: o.restartSec,
          catchUpSec: o.catchUpSec,
          withRestart,
        });
      const rate = tpr[v.id] ?? Number.NaN;
      const up = cap(uMax, false);
      const down = uMin === 0 ? Number.POSITIVE_INFINITY : cap(uMin, true);
      const out = rate < up || rate > down;
      let p = targetParallelism({
        parallelism: v.parallelism,
        trueProcessingRate: rate,
        capacity: cap(o.target, true),
        maxParallelism: v.maxParallelism ?? 128,
        minParallelism: o.vertexMin,
        maxParallelismBound: o.vertexMax,
        scaleDownMaxFactor: o.scaleDownMaxFactor,
        scaleUpMaxFactor: o.scaleUpMaxFactor,
        ...(v.partitions === undefined ? {} : { partitions: v.partitions }),
        align: v.keyedInput === true || v.partitions !== undefined,
        alignment: 'evenly-spread',
      });
      // §1.8 delayed scale-down: the highest recommendation of the interval, once it has passed.
      if (p < v.parallelism) {
        const pend = this.pendingDown.get(v.id) ?? { since: now, max: p };
        pend.max = Math.max(pend.max, p);
        this.pendingDown.set(v.id, pend);
        p = now - pend.since < o.scaleDownIntervalMs ? v.parallelism : pend.max;
      } else this.pendingDown.delete(v.id);
      next[v.id] = p;
      if (p !== v.parallelism) {
        changed = true;
        if (out) outside = true;
      }
    }
    // §1.7: nothing unless a vertex with a change is outside the band.
    if (!changed || !outside) return;
    await this.backend.write(this.job, next, {});
    this.pendingDown.clear();
    this.rescales++;
  }
}
