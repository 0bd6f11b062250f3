import { z } from 'zod';

/**
 * Identity of a watched job.
 *
 * - `jobKey` is the stable logical id, surviving redeploys: `k8s:<ns>/<resource name>` or
 *   `rest:<cluster label>/<job name>`. Cooldowns, the journal, pauses, score history, alert
 *   fingerprints and calendar floors are keyed by it.
 * - `incarnation` is the Flink JobID (plus `metadata.generation` on Kubernetes). Metric windows and
 *   restart counters are keyed by it and reset when it changes.
 */
export type JobKey = string;

export type JobOrigin = 'rest' | 'k8s';

export interface JobRef {
  jobKey: JobKey;
  incarnation: string;
  origin: JobOrigin;
  /** Cluster label (REST) or the Kubernetes cluster/context name. */
  cluster: string;
  namespace?: string;
  /** Human name: the Flink job name or the Kubernetes resource name. */
  name: string;
  flinkJobId: string;
  /** Base URL of the JobManager REST endpoint that serves this job. */
  restUrl: string;
  labels: Readonly<Record<string, string>>;
  annotations?: Readonly<Record<string, string>>;
  /**
   * Kubernetes resource behind the job, when there is one; `deployment` is the FlinkDeployment
   * whose pods run it (its own name, or a session job's spec.deploymentName).
   */
  resource?: {
    kind: 'FlinkDeployment' | 'FlinkSessionJob';
    namespace: string;
    name: string;
    deployment?: string;
  };
}

export function restJobKey(clusterLabel: string, jobName: string): JobKey {
  return `rest:${clusterLabel}/${jobName}`;
}

export function k8sJobKey(namespace: string, resourceName: string): JobKey {
  return `k8s:${namespace}/${resourceName}`;
}

export function k8sIncarnation(flinkJobId: string, generation: number | undefined): string {
  return generation === undefined ? flinkJobId : `${flinkJobId}@${generation}`;
}

/** A JobRef crossing a process boundary (a queue, the store) is parsed again. */
export const JobRefSchema = z.object({
  jobKey: z.string(),
  incarnation: z.string(),
  origin: z.enum(['rest', 'k8s']),
  cluster: z.string(),
  namespace: z.string().optional(),
  name: z.string(),
  flinkJobId: z.string(),
  restUrl: z.string(),
  labels: z.record(z.string(), z.string()),
  annotations: z.record(z.string(), z.string()).optional(),
  resource: z
    .object({
      kind: z.enum(['FlinkDeployment', 'FlinkSessionJob']),
      namespace: z.string(),
      name: z.string(),
      deployment: z.string().optional(),
    })
    .optional(),
}) satisfies z.ZodType<JobRef>;
