import { detect } from '../../../src/agents/detect/detect.js';
import { DEFAULT_REACTIVE, type ReactiveSettings } from '../../../src/agents/select/autoscaler/planner.js';
import type { Finding, HealthReport, JobRef, Snapshot } from '../../../src/domain/index.js';

/** Planner test fixtures: one job of two vertices, source → a keyed downstream vertex. */

export const S = 1000;
export const MIN = 60 * S;

export function jobRef(name: string): JobRef {
  return {
    jobKey: `rest:c/${name}`,
    incarnation: 'j1',
    origin: 'rest',
    cluster: 'c',
    name,
    flinkJobId: 'j1',
    restUrl: 'http://x',
    labels: {},
  };
}

export const settings: ReactiveSettings = {
  ...DEFAULT_REACTIVE,
  catchUpMs: 5 * MIN,
  stabilizationMs: MIN,
  cooldownMs: 5 * MIN,
  scaleDownDelayMs: 10 * MIN,
  approvalTtlMs: 15 * MIN,
};

export interface PipelineSpec {
  at: number;
  /** Records per second through both vertices. */
  rate: number;
  downstream: { id: string; name: string; parallelism: number; busy: number };
  pending?: number;
  runningSince?: number;
  slotsAvailable?: number;
}

/** The source runs at p=2 and 50 % busy; the downstream vertex at its parallelism and busy ratio. */
export function pipelineSnapshot(job: JobRef, p: PipelineSpec): Snapshot {
  const busy = p.downstream.busy * 1000;
  return {
    job,
    observedAt: p.at,
    sourceId: 'flink:c',
    cluster: {
      reachable: true,
      ...(p.slotsAvailable === undefined ? {} : { slotsAvailable: p.slotsAvailable }),
    },
    jobStatus: {
      id: 'j1',
      name: job.name,
      state: 'RUNNING',
      startTime: 0,
      runningSince: p.runningSince ?? p.at - 10 * MIN,
    },
    vertices: [
      {
        id: 'src',
        name: 'Source',
        parallelism: 2,
        maxParallelism: 128,
        inputs: [],
        metrics: {
          busyTimeMsPerSecond: { max: 500, avg: 500 },
          backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
          numRecordsOutPerSecond: { sum: p.rate },
          pendingRecords: { sum: p.pending ?? 0 },
        },
      },
      {
        id: p.downstream.id,
        name: p.downstream.name,
        parallelism: p.downstream.parallelism,
        maxParallelism: 128,
        keyedInput: true,
        inputs: ['src'],
        metrics: {
          busyTimeMsPerSecond: { max: busy, avg: busy },
          backPressuredTimeMsPerSecond: { max: 0, avg: 0 },
          numRecordsInPerSecond: { sum: p.rate },
          numRecordsOutPerSecond: { sum: p.rate },
        },
      },
    ],
    missing: [],
  };
}

/** What the planner sees for a snapshot: its facts from detect and a report with these findings. */
export function planContext(s: Snapshot, findings: Finding[] = []) {
  const { facts } = detect(s, undefined, {
    windows: { short: 5 * MIN, medium: 15 * MIN, long: 60 * MIN, day: 1440 * MIN },
    catchUpMs: settings.catchUpMs,
  });
  return {
    job: s.job,
    snapshot: s,
    facts,
    report: { findings } as HealthReport,
    mode: 'auto' as const,
    now: s.observedAt,
  };
}
