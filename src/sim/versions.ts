/**
 * What differs on the wire between the Flink versions the simulator can pretend to be
 * (shared/research/flink-signals.md §1–2). One place, so the surface and its tests agree.
 */
export type SimFlinkVersion = '1.18' | '1.19' | '1.20' | '2.0' | '2.1' | '2.2' | '2.3';

export interface VersionFeatures {
  version: SimFlinkVersion;
  /** Full version string served in /config and /overview. */
  versionString: string;
  major: number;
  /** `agg=skew` on aggregated metric endpoints (FLINK-34025). */
  aggSkew: boolean;
  /** `Status.JVM.GarbageCollector.All.*` metrics (FLINK-33318). */
  gcAllMetrics: boolean;
  /** Deprecated top-level `root-exception`, `all-exceptions`, … in /exceptions (gone in 2.0). */
  legacyExceptionFields: boolean;
  /** `job-type` and `slotSharingGroupId` in job details. */
  jobTypeField: boolean;
  /** `pending-operators` in job details (2.0). */
  pendingOperators: boolean;
  /**
   * `stream-graph` in job details (2.0–2.2; real 2.3.0 sends none for a streaming job: recording).
   */
  streamGraph: boolean;
  /** `application-id` in job details (2.3.0 recording: the job id of a session job). */
  applicationId: boolean;
  /** Deprecated `host` of each subtask in vertex details (1.20.3 recording has it, 2.3.0 not). */
  subtaskHost: boolean;
  /**
   * Adaptive scheduler applies new resource requirements at the next completed checkpoint
   * (FLIP-461, 2.0); 1.x restarts with them at once (recordings: 0.4 s after the PUT in 1.20.3,
   * 9 s later, right after a checkpoint, in 2.3.0).
   */
  rescaleOnCheckpoint: boolean;
  /** Checkpoint triggered right after a restart when an interval has passed (2.x; see checkpoints.ts). */
  checkpointOnRestart: boolean;
  /** `schedulerType`, `jobType` in overviews and `/jobs/:jobid/rescales/*` (2.3). */
  rescalesApi: boolean;
  /** `fullRestarts` job metric (removed in 2.0). */
  fullRestartsMetric: boolean;
  /** `numRescales` job metric (2.0). */
  numRescalesMetric: boolean;
}

const PATCH: Readonly<Record<SimFlinkVersion, string>> = {
  '1.18': '1.18.1',
  '1.19': '1.19.3',
  '1.20': '1.20.2',
  '2.0': '2.0.0',
  '2.1': '2.1.1',
  '2.2': '2.2.0',
  '2.3': '2.3.0',
};

export function featuresOf(version: SimFlinkVersion): VersionFeatures {
  const [maj = '1', min = '0'] = version.split('.');
  const major = Number(maj);
  const n = major * 100 + Number(min);
  return {
    version,
    versionString: PATCH[version],
    major,
    aggSkew: n >= 120,
    gcAllMetrics: n >= 119,
    legacyExceptionFields: major < 2,
    jobTypeField: n >= 120,
    pendingOperators: major >= 2,
    streamGraph: major >= 2 && n < 203,
    applicationId: n >= 203,
    subtaskHost: major < 2,
    rescaleOnCheckpoint: major >= 2,
    checkpointOnRestart: major >= 2,
    rescalesApi: n >= 203,
    fullRestartsMetric: major < 2,
    numRescalesMetric: major >= 2,
  };
}
