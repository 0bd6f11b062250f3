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
  /** `stream-graph` and `pending-operators` (2.0). */
  streamGraph: boolean;
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
    streamGraph: major >= 2,
    rescalesApi: n >= 203,
    fullRestartsMetric: major < 2,
    numRescalesMetric: major >= 2,
  };
}
