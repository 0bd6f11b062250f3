/** What the REST source may ask of a Flink version (1.18 to 2.x). */
export interface FlinkFeatures {
  version: string;
  major: number;
  minor: number;
  /** `agg=skew` (1.20+). */
  aggSkew: boolean;
  /** `Status.JVM.GarbageCollector.All.TimeMsPerSecond` (1.19+). */
  gcAllMetrics: boolean;
  /** GET/PUT `/jobs/:jobid/resource-requirements` (1.18+). */
  resourceRequirements: boolean;
  /** `/jobs/:jobid/rescales/*` (2.3+). */
  rescalesApi: boolean;
}

export function featuresFor(version: string): FlinkFeatures {
  const m = /^(\d+)\.(\d+)/.exec(version);
  const major = Number(m?.[1] ?? 1);
  const minor = Number(m?.[2] ?? 18);
  const n = major * 100 + minor;
  return {
    version,
    major,
    minor,
    aggSkew: n >= 120,
    gcAllMetrics: n >= 119,
    resourceRequirements: n >= 118,
    rescalesApi: n >= 203,
  };
}

/** Features assumed when the version cannot be read: the oldest supported (1.18). */
export const FALLBACK_FEATURES = featuresFor('1.18');
