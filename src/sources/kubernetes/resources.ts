import { z } from 'zod';

/**
 * The parts of FlinkDeployment and FlinkSessionJob (group flink.apache.org, version v1beta1)
 * the daemon reads: identity, opt-in, the running job, its configuration and the operator's
 * view of the rollout. Anything else on the object is ignored; a field used here with the wrong
 * shape makes the resource invalid (named with the field's path) and it is skipped.
 */
export const FLINK_GROUP = 'flink.apache.org';
export const FLINK_VERSION = 'v1beta1';

export type FlinkResourceKind = 'FlinkDeployment' | 'FlinkSessionJob';

export const PLURAL: Readonly<Record<FlinkResourceKind, string>> = {
  FlinkDeployment: 'flinkdeployments',
  FlinkSessionJob: 'flinksessionjobs',
};

/** Per-resource REST URL override (ingress, port-forward, a proxy). */
export const REST_URL_ANNOTATION = 'autopilot.flink.apache.org/rest-url';

/** The operator's key for per-vertex parallelism (JobVertexID:parallelism, comma-separated). */
export const OVERRIDES_KEY = 'pipeline.jobvertex-parallelism-overrides';

const StringMap = z.record(z.string(), z.string());

const Metadata = z.object({
  name: z.string().min(1),
  namespace: z.string().min(1),
  uid: z.string().optional(),
  resourceVersion: z.string().min(1),
  generation: z.int().nonnegative().optional(),
  labels: StringMap.optional(),
  annotations: StringMap.optional(),
});

type ConfigValue = string | number | boolean | { [key: string]: ConfigValue };
const ConfigValueSchema: z.ZodType<ConfigValue> = z.lazy(() =>
  z.union([z.string(), z.number(), z.boolean(), z.record(z.string(), ConfigValueSchema)]),
);

function flatten(prefix: string, value: ConfigValue, out: Record<string, string>): void {
  if (typeof value !== 'object') out[prefix] = String(value);
  else for (const [k, v] of Object.entries(value)) flatten(prefix === '' ? k : `${prefix}.${k}`, v, out);
}

/**
 * flinkConfiguration (the CRD keeps unknown fields): flat `key: "value"` entries, or nested YAML
 * (`pipeline: {jobvertex-parallelism-overrides: …}`) read as dotted keys; scalars kept as text.
 */
const FlinkConfiguration = z.record(z.string(), ConfigValueSchema).transform(m => {
  const out: Record<string, string> = {};
  const nested = new Set<string>();
  for (const [k, v] of Object.entries(m)) {
    const one: Record<string, string> = {};
    flatten(k, v, one);
    if (typeof v === 'object') for (const key of Object.keys(one)) nested.add(key);
    Object.assign(out, one);
  }
  NESTED.set(out, nested);
  return out;
});

const NESTED = new WeakMap<Readonly<Record<string, string>>, ReadonlySet<string>>();

/** Keys of a parsed flinkConfiguration that were written nested (`pipeline: {…}`), as dotted keys. */
export function nestedConfigKeys(conf: Readonly<Record<string, string>>): ReadonlySet<string> {
  return NESTED.get(conf) ?? new Set();
}

const JobSpec = z.object({
  parallelism: z.int().positive().optional(),
  upgradeMode: z.enum(['last-state', 'savepoint', 'stateless']).optional(),
  state: z.enum(['running', 'suspended']).optional(),
});

const JobStatus = z.object({
  jobId: z
    .string()
    .regex(/^[0-9a-fA-F]{32}$/, 'a Flink JobID (32 hex characters)')
    .optional(),
  jobName: z.string().optional(),
  state: z.string().optional(),
});

const Status = z.object({
  jobStatus: JobStatus.optional(),
  lifecycleState: z.string().optional(),
  observedGeneration: z.int().nonnegative().optional(),
  error: z.string().optional(),
  reconciliationStatus: z
    .object({ state: z.string().optional(), reconciliationTimestamp: z.number().optional() })
    .optional(),
});

export const FlinkDeploymentSchema = z.object({
  metadata: Metadata,
  spec: z.object({
    flinkVersion: z.string().optional(),
    flinkConfiguration: FlinkConfiguration.optional(),
    job: JobSpec.optional(),
  }),
  status: Status.optional(),
});

export const FlinkSessionJobSchema = z.object({
  metadata: Metadata,
  spec: z.object({
    deploymentName: z.string().min(1),
    flinkConfiguration: FlinkConfiguration.optional(),
    job: JobSpec.optional(),
  }),
  status: Status.optional(),
});

export type FlinkDeploymentObject = z.infer<typeof FlinkDeploymentSchema>;
export type FlinkSessionJobObject = z.infer<typeof FlinkSessionJobSchema>;

/** One parsed resource, whichever kind. */
export type FlinkResource =
  | { kind: 'FlinkDeployment'; object: FlinkDeploymentObject }
  | { kind: 'FlinkSessionJob'; object: FlinkSessionJobObject };

/** A resource that does not have the shape the daemon relies on. */
export class InvalidResourceError extends Error {
  readonly code = 'K8S_INVALID_RESOURCE';
  constructor(
    readonly resource: string,
    readonly field: string,
    problem: string,
  ) {
    super(`${resource}: ${field || '(object)'}: ${problem}`);
    this.name = 'InvalidResourceError';
  }
}

/** `FlinkDeployment ns/name`, from whatever the raw object has (for error messages). */
export function describeRaw(kind: FlinkResourceKind, raw: unknown): string {
  const md = (raw as { metadata?: { namespace?: unknown; name?: unknown } } | null)?.metadata;
  const ns = typeof md?.namespace === 'string' ? md.namespace : '?';
  const name = typeof md?.name === 'string' ? md.name : '?';
  return `${kind} ${ns}/${name}`;
}

/** Parses one raw object; throws InvalidResourceError naming the resource and the first bad field. */
export function parseResource(kind: FlinkResourceKind, raw: unknown): FlinkResource {
  const fail = (issues: readonly z.core.$ZodIssue[]): never => {
    const issue = issues[0];
    throw new InvalidResourceError(
      describeRaw(kind, raw),
      (issue?.path ?? []).map(String).join('.'),
      issue?.message ?? 'invalid',
    );
  };
  if (kind === 'FlinkDeployment') {
    const r = FlinkDeploymentSchema.safeParse(raw);
    return r.success ? { kind, object: r.data } : fail(r.error.issues);
  }
  const r = FlinkSessionJobSchema.safeParse(raw);
  return r.success ? { kind, object: r.data } : fail(r.error.issues);
}

/** Parses `a:4,b:8`; a malformed entry makes the whole value invalid (undefined). */
export function parseOverrides(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined || text.trim() === '') return {};
  const out: Record<string, number> = {};
  for (const part of text.split(',')) {
    const m = /^\s*([0-9a-fA-F]{32})\s*:\s*(\d+)\s*$/.exec(part);
    if (!m?.[1] || !m[2]) return undefined;
    out[m[1]] = Number(m[2]);
  }
  return out;
}

/** The overrides value for an absolute target, vertex ids sorted (a stable text for equal targets). */
export function formatOverrides(target: Readonly<Record<string, number>>): string {
  return Object.keys(target)
    .sort()
    .map(id => `${id}:${target[id]}`)
    .join(',');
}
