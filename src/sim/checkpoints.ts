import { CHECKPOINT_EXPIRED } from './faults.js';
import type { JobSpec } from './scenario.js';

/** One checkpoint as the simulator keeps it (wire shapes are built in rest/). */
export interface SimCheckpoint {
  id: number;
  status: 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  triggerTimestamp: number;
  latestAckTimestamp: number;
  endToEndDurationMs: number;
  stateSizeBytes: number;
  checkpointedSizeBytes: number;
  alignmentBufferedBytes: number;
  processedDataBytes: number;
  persistedDataBytes: number;
  numSubtasks: number;
  numAcknowledged: number;
  unaligned: boolean;
  failureTimestamp?: number;
  failureMessage?: string;
}

export interface CheckpointInputs {
  /** Highest back-pressure ratio (0–1) over all subtasks right now. */
  maxBackpressure: number;
  /** Multiplies the upload time (checkpoint-timeout fault, slow storage). */
  slowdown: number;
  numSubtasks: number;
}

const HISTORY = 10;

/**
 * What a checkpoint in flight fails with when the job stops (failover or rescale): both 1.20.3 and
 * 2.3.0 report this (test/fixtures/flink-<version>/recording.json).
 */
export const CHECKPOINT_SUSPENDING = 'Checkpoint Coordinator is suspending.';

/** Sync part of a checkpoint of tiny state: real Flink completes one in 6–15 ms (recordings). */
const SYNC_MS = 10;
/**
 * Aligned barriers queue behind the in-flight buffers of a back-pressured channel. Calibrated on the
 * recordings: a job whose source is back-pressured ~98 % of the time takes ~14.6 s per checkpoint
 * in 1.20.3 and 2.3.0 (state of a few hundred bytes, default network buffers).
 */
const ALIGNED_MS_PER_BACKPRESSURE = 15_000;
const UNALIGNED_MS_PER_BACKPRESSURE = 5_000;

/**
 * Periodic checkpoints: trigger every interval (after minPause), duration = sync part + upload of
 * the incremental state + barrier alignment that grows with back-pressure; a checkpoint longer
 * than the timeout expires ("Checkpoint expired before completing.").
 *
 * After a (re)start, 1.x waits a full interval before the first trigger; 2.x triggers as soon as
 * an interval has passed since the last trigger (the 2.3.0 recording: a job in a 2 s restart loop
 * gets a checkpoint triggered, and failed, in almost every run; 1.20.3 never triggers one).
 */
export class CheckpointTracker {
  readonly history: SimCheckpoint[] = [];
  counts = { restored: 0, total: 0, inProgress: 0, completed: 0, failed: 0 };
  latestCompleted: SimCheckpoint | undefined;
  latestFailed: SimCheckpoint | undefined;
  latestSavepoint: SimCheckpoint | undefined;
  restored: { id: number; at: number } | undefined;
  stateBytes: number;
  consecutiveFailures = 0;
  private nextId = 1;
  private nextTrigger = Number.POSITIVE_INFINITY;
  private current: { cp: SimCheckpoint; endsAt: number } | undefined;

  private lastTrigger = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly spec: JobSpec['checkpoint'],
    private readonly triggerOnRestart = false,
  ) {
    this.stateBytes = spec.stateBytes;
  }

  /** The job (re)started running at `now`: restore from the latest completed one, schedule the next. */
  onRunning(now: number): void {
    if (this.latestCompleted !== undefined) {
      this.counts.restored++;
      this.restored = { id: this.latestCompleted.id, at: now };
    }
    this.nextTrigger = this.triggerOnRestart
      ? Math.max(now, this.lastTrigger + this.spec.interval)
      : now + this.spec.interval;
  }

  /** The job stopped running (failover or rescale): an in-flight checkpoint is aborted. */
  onStopped(now: number): void {
    if (this.current !== undefined) this.finish(this.current.cp, now, 'FAILED', CHECKPOINT_SUSPENDING);
    this.current = undefined;
    this.nextTrigger = Number.POSITIVE_INFINITY;
  }

  /** One simulated second while RUNNING; returns true if a checkpoint just expired. */
  step(now: number, growthBytesPerSecond: number, input: CheckpointInputs): boolean {
    this.stateBytes = Math.max(0, this.stateBytes + growthBytesPerSecond);
    let expired = false;
    if (this.current !== undefined && now >= this.current.endsAt) {
      const { cp } = this.current;
      this.current = undefined;
      if (cp.endToEndDurationMs > this.spec.timeout) {
        this.finish(cp, cp.triggerTimestamp + this.spec.timeout, 'FAILED', CHECKPOINT_EXPIRED);
        expired = true;
      } else this.finish(cp, now, 'COMPLETED');
      this.nextTrigger = Math.max(cp.triggerTimestamp + this.spec.interval, now + this.spec.minPause);
    }
    if (this.current === undefined && now >= this.nextTrigger) this.trigger(now, input);
    return expired;
  }

  private trigger(now: number, input: CheckpointInputs): void {
    const incremental = Math.min(this.stateBytes, this.stateBytes * 0.05 + 4 * 1024 ** 2);
    const uploadMs = (incremental / this.spec.uploadBytesPerSecond) * 1000 * input.slowdown;
    const alignmentMs =
      input.maxBackpressure *
      (this.spec.unaligned ? UNALIGNED_MS_PER_BACKPRESSURE : ALIGNED_MS_PER_BACKPRESSURE);
    const duration = Math.round(SYNC_MS + uploadMs + alignmentMs);
    this.lastTrigger = now;
    const inflight = this.spec.unaligned ? Math.round(input.maxBackpressure * 64 * 1024 ** 2) : 0;
    const cp: SimCheckpoint = {
      id: this.nextId++,
      status: 'IN_PROGRESS',
      triggerTimestamp: now,
      latestAckTimestamp: now,
      endToEndDurationMs: duration,
      stateSizeBytes: Math.round(this.stateBytes),
      checkpointedSizeBytes: Math.round(incremental),
      alignmentBufferedBytes: 0,
      processedDataBytes: Math.round(input.maxBackpressure * 8 * 1024 ** 2),
      persistedDataBytes: inflight,
      numSubtasks: input.numSubtasks,
      numAcknowledged: 0,
      unaligned: this.spec.unaligned,
    };
    this.current = { cp, endsAt: now + Math.min(duration, this.spec.timeout) };
    this.counts.total++;
    this.counts.inProgress = 1;
    this.pushHistory(cp);
  }

  private finish(cp: SimCheckpoint, at: number, status: 'COMPLETED' | 'FAILED', failure?: string): void {
    cp.status = status;
    cp.latestAckTimestamp = at;
    this.counts.inProgress = 0;
    if (status === 'COMPLETED') {
      cp.numAcknowledged = cp.numSubtasks;
      this.counts.completed++;
      this.latestCompleted = cp;
      this.consecutiveFailures = 0;
    } else {
      cp.numAcknowledged = Math.floor(cp.numSubtasks / 2);
      cp.endToEndDurationMs = at - cp.triggerTimestamp;
      cp.failureTimestamp = at;
      if (failure !== undefined) cp.failureMessage = failure;
      this.counts.failed++;
      this.latestFailed = cp;
      this.consecutiveFailures++;
    }
  }

  private pushHistory(cp: SimCheckpoint): void {
    this.history.unshift(cp);
    if (this.history.length > HISTORY) this.history.length = HISTORY;
  }

  inProgress(): SimCheckpoint | undefined {
    return this.current?.cp;
  }
}
