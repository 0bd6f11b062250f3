import { CoreV1Api, type CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../config/schema.js';
import { k8sIncarnation, k8sJobKey, type JobRef } from '../domain/index.js';
import { collectSnapshot, FlinkRestClient } from '../sources/flink-rest/index.js';
import {
  customObjectsApi,
  describeK8sError,
  FLINK_GROUP,
  FLINK_VERSION,
  InvalidResourceError,
  loadKubeConfig,
  parseResource,
  PLURAL,
  Reflector,
  REST_URL_ANNOTATION,
  withTimeout,
  type FlinkResource,
  type FlinkResourceKind,
} from '../sources/kubernetes/index.js';
import type { Logger } from '../telemetry/logger.js';
import { FlinkDeploymentBackend } from '../actions/flink-deployment/backend.js';
import type { JobSource } from './daemon.js';

export type KubernetesSettings = Config['kubernetes'];

/** Why a resource is not (yet) a watched job; `invalid` ones are logged as errors. */
export type Skip =
  | { kind: 'not-opted-in' }
  | { kind: 'no-job'; why: string }
  | { kind: 'invalid'; error: InvalidResourceError };

/** `{name}` and `{namespace}` filled into the REST URL template. */
export function restUrlFor(template: string, name: string, namespace: string): string {
  return template.replaceAll('{name}', name).replaceAll('{namespace}', namespace);
}

/**
 * One FlinkDeployment / FlinkSessionJob as a JobRef, or why it is not one:
 * - jobKey `k8s:<ns>/<resource name>` (stable across upgrades);
 * - incarnation = `status.jobStatus.jobId` + `@<metadata.generation>` (ARCHITECTURE §3): a new
 *   job id after an upgrade, or any spec change, starts a new incarnation under the same key;
 * - the REST URL from the annotation `autopilot.flink.apache.org/rest-url`, else the template with
 *   the FlinkDeployment's name (a session job's `spec.deploymentName`);
 * - a session cluster (a FlinkDeployment without `spec.job`) and a resource whose job has no id
 *   yet are not jobs; a resource without the opt-in annotation (when required) is not watched.
 */
export function toJobRef(kind: FlinkResourceKind, raw: unknown, cfg: KubernetesSettings): JobRef | Skip {
  let res: FlinkResource;
  try {
    res = parseResource(kind, raw);
  } catch (err) {
    if (err instanceof InvalidResourceError) return { kind: 'invalid', error: err };
    throw err;
  }
  const md = res.object.metadata;
  const annotations = md.annotations ?? {};
  if (cfg.requireOptIn && annotations[cfg.optInAnnotation]?.trim().toLowerCase() !== 'true')
    return { kind: 'not-opted-in' };
  if (res.kind === 'FlinkDeployment' && res.object.spec.job === undefined)
    return { kind: 'no-job', why: 'a session cluster (no spec.job)' };
  const jobId = res.object.status?.jobStatus?.jobId;
  if (jobId === undefined) return { kind: 'no-job', why: 'no status.jobStatus.jobId yet' };
  const cluster = res.kind === 'FlinkDeployment' ? md.name : res.object.spec.deploymentName;
  const override = annotations[REST_URL_ANNOTATION]?.trim();
  const restUrl = override || restUrlFor(cfg.restUrlTemplate, cluster, md.namespace);
  try {
    new URL(restUrl);
  } catch {
    return {
      kind: 'invalid',
      error: new InvalidResourceError(
        `${kind} ${md.namespace}/${md.name}`,
        override ? `metadata.annotations.${REST_URL_ANNOTATION}` : 'kubernetes.restUrlTemplate',
        `not a URL: ${JSON.stringify(restUrl)}`,
      ),
    };
  }
  return {
    jobKey: k8sJobKey(md.namespace, md.name),
    incarnation: k8sIncarnation(jobId.toLowerCase(), md.generation),
    origin: 'k8s',
    cluster: cfg.cluster,
    namespace: md.namespace,
    name: md.name,
    flinkJobId: jobId.toLowerCase(),
    restUrl,
    labels: { ...(md.labels ?? {}) },
    annotations: { ...annotations },
    resource: { kind, namespace: md.namespace, name: md.name, deployment: cluster },
  };
}

function isJobRef(v: JobRef | Skip): v is JobRef {
  return (v as JobRef).jobKey !== undefined;
}

export interface KubernetesJobSourceOptions {
  settings: KubernetesSettings;
  log: Logger;
  /** Default: loaded from `settings` (kubeconfig / in-cluster / defaults). */
  kubeConfig?: KubeConfig;
  /** Override of the REST client per JobManager URL (tests). */
  restClient?: (url: string) => FlinkRestClient;
}

/**
 * FlinkDeployments and FlinkSessionJobs of one Kubernetes cluster as a JobSource. One reflector
 * (list + watch) per kind and namespace (or one cluster-wide per kind) keeps an exact local copy;
 * `listJobs` maps it to JobRefs, `subscribe` tells the daemon at once when it changed. Metrics are
 * collected from each job's JobManager REST endpoint, one client (and request budget) per URL,
 * shared by the session jobs of one session cluster.
 */
export class KubernetesJobSource implements JobSource {
  readonly id: string;
  readonly kubeConfig: KubeConfig;
  readonly api: CustomObjectsApi;
  private readonly reflectors: { kind: FlinkResourceKind; reflector: Reflector }[] = [];
  private readonly clients = new Map<string, FlinkRestClient>();
  private readonly reported = new Map<string, string>();
  private readonly listeners = new Set<() => void>();
  /** What each resource last meant for the inventory (its JobRef or skip reason, as JSON). */
  private readonly projections = new Map<string, string>();
  private readonly mappings = new WeakMap<object, JobRef | Skip>();
  private started = false;
  private coreApi: CoreV1Api | undefined;

  constructor(private readonly opts: KubernetesJobSourceOptions) {
    const s = opts.settings;
    this.id = `k8s:${s.cluster}`;
    this.kubeConfig = opts.kubeConfig ?? loadKubeConfig(s);
    this.api = customObjectsApi(this.kubeConfig);
    const kinds: FlinkResourceKind[] = s.sessionJobs
      ? ['FlinkDeployment', 'FlinkSessionJob']
      : ['FlinkDeployment'];
    const scopes: (string | undefined)[] =
      s.namespaces.length === 0 ? [undefined] : [...new Set(s.namespaces)];
    for (const kind of kinds) {
      for (const namespace of scopes)
        this.reflectors.push({ kind, reflector: this.reflector(kind, namespace) });
    }
  }

  private reflector(kind: FlinkResourceKind, namespace: string | undefined): Reflector {
    const s = this.opts.settings;
    const plural = PLURAL[kind];
    const base = `/apis/${FLINK_GROUP}/${FLINK_VERSION}`;
    const path = namespace === undefined ? `${base}/${plural}` : `${base}/namespaces/${namespace}/${plural}`;
    const selector = s.labelSelector === undefined ? {} : { labelSelector: s.labelSelector };
    const what = `list ${path}`;
    return new Reflector({
      kubeConfig: this.kubeConfig,
      path,
      list: () =>
        withTimeout(s.timeout, what, () =>
          namespace === undefined
            ? this.api.listClusterCustomObject({
                group: FLINK_GROUP,
                version: FLINK_VERSION,
                plural,
                ...selector,
              })
            : this.api.listNamespacedCustomObject({
                group: FLINK_GROUP,
                version: FLINK_VERSION,
                namespace,
                plural,
                ...selector,
              }),
        ).catch((err: unknown) => {
          throw Object.assign(new Error(`${what}: ${describeK8sError(err)}`), {
            statusCode: (err as { code?: unknown }).code,
          });
        }),
      ...selector,
      watchTimeoutSeconds: Math.max(1, Math.round(s.watchTimeout / 1000)),
      backoffMs: s.backoff,
      maxBackoffMs: s.maxBackoff,
      log: this.opts.log,
      onChange: change => this.onChange(kind, change),
    });
  }

  /**
   * Tells the daemon about a change only when it changes the inventory: the operator rewrites
   * `.status` often (checkpoint info, timestamps), and each such event must not cost a discovery.
   */
  private onChange(kind: FlinkResourceKind, change?: { key: string; object: unknown }): void {
    if (change === undefined) {
      // A relist replaced the copy: what this kind means for the inventory is computed afresh.
      for (const key of [...this.projections.keys()])
        if (key.startsWith(`${kind}:`)) this.projections.delete(key);
      for (const r of this.reflectors) {
        if (r.kind !== kind) continue;
        for (const raw of r.reflector.items()) {
          const md = (raw as { metadata?: { namespace?: unknown; name?: unknown } }).metadata;
          if (typeof md?.name !== 'string') continue;
          const ns = typeof md.namespace === 'string' ? md.namespace : '';
          this.projections.set(`${kind}:${ns}/${md.name}`, JSON.stringify(this.mapped(kind, raw)));
        }
      }
    } else {
      const key = `${kind}:${change.key}`;
      if (change.object === undefined) this.projections.delete(key);
      else {
        const projection = JSON.stringify(this.mapped(kind, change.object));
        if (this.projections.get(key) === projection) return;
        this.projections.set(key, projection);
      }
    }
    for (const l of this.listeners) l();
  }

  /** Starts the list + watch loops (idempotent; listJobs starts them too). */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const r of this.reflectors) r.reflector.start();
  }

  /** Calls `listener` whenever a watched resource changed; returns the unsubscribe. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every reflector has listed once, or rejects after the request timeout. */
  private async synced(): Promise<void> {
    const deadline = Date.now() + this.opts.settings.timeout;
    while (this.reflectors.some(r => !r.reflector.hasSynced)) {
      if (Date.now() >= deadline) {
        const failing = this.reflectors.find(r => !r.reflector.hasSynced)?.reflector;
        throw new Error(`kubernetes: not listed yet (${failing?.lastError ?? 'waiting for the first list'})`);
      }
      await new Promise(r => setTimeout(r, 50));
    }
  }

  async listJobs(): Promise<JobRef[]> {
    this.start();
    await this.synced();
    const jobs: JobRef[] = [];
    const seen = new Set<string>();
    const problems = new Set<string>();
    for (const { kind, reflector } of this.reflectors) {
      for (const raw of reflector.items()) {
        const ref = this.mapped(kind, raw);
        if (isJobRef(ref)) {
          if (seen.has(ref.jobKey)) {
            this.reportOnce(problems, `${kind}:${ref.jobKey}`, ref.incarnation, () =>
              this.opts.log.warn(
                { resource: `${kind} ${ref.namespace}/${ref.name}`, jobKey: ref.jobKey },
                'two Flink resources share one jobKey; the FlinkDeployment is watched',
              ),
            );
            continue;
          }
          seen.add(ref.jobKey);
          jobs.push(ref);
        } else if (ref.kind === 'invalid') {
          const version = (raw as { metadata?: { resourceVersion?: unknown } }).metadata?.resourceVersion;
          this.reportOnce(problems, ref.error.resource, String(version), () =>
            this.opts.log.error(
              { resource: ref.error.resource, field: ref.error.field, err: ref.error.message },
              'invalid Flink resource skipped',
            ),
          );
        }
      }
    }
    for (const key of [...this.reported.keys()]) if (!problems.has(key)) this.reported.delete(key);
    return jobs.sort((a, b) => (a.jobKey < b.jobKey ? -1 : a.jobKey > b.jobKey ? 1 : 0));
  }

  /**
   * toJobRef, once per object: the reflector keeps an unchanged resource as the same object, so
   * a discovery maps only what changed since the last one (30,000 resources: see the benchmark).
   */
  private mapped(kind: FlinkResourceKind, raw: unknown): JobRef | Skip {
    if (typeof raw !== 'object' || raw === null) return toJobRef(kind, raw, this.opts.settings);
    let m = this.mappings.get(raw);
    if (m === undefined) {
      m = toJobRef(kind, raw, this.opts.settings);
      this.mappings.set(raw, m);
    }
    return m;
  }

  /** Logs a problem once per resource version (not on every discovery). */
  private reportOnce(problems: Set<string>, key: string, version: string, log: () => void): void {
    problems.add(key);
    if (this.reported.get(key) === version) return;
    this.reported.set(key, version);
    log();
  }

  /** The REST client of a JobManager URL (one per URL: session jobs share their cluster's budget). */
  client(url: string): FlinkRestClient {
    let c = this.clients.get(url);
    if (!c) {
      const s = this.opts.settings;
      c =
        this.opts.restClient?.(url) ??
        new FlinkRestClient({
          baseUrl: url,
          timeoutMs: s.restTimeout,
          budget: { maxInFlight: s.maxConcurrentRequests },
        });
      this.clients.set(url, c);
    }
    return c;
  }

  collect(job: JobRef, now: number) {
    return collectSnapshot(this.client(job.restUrl), job, now);
  }

  restClient(job: JobRef): FlinkRestClient {
    return this.client(job.restUrl);
  }

  /** The job's FlinkDeployment pods, for pod-log collection (`logs.kubernetes`). */
  podLogs(job: JobRef): { api: CoreV1Api; namespace: string; deployment: string } | undefined {
    const r = job.resource;
    if (r === undefined) return undefined;
    this.coreApi ??= this.kubeConfig.makeApiClient(CoreV1Api);
    return { api: this.coreApi, namespace: r.namespace, deployment: r.deployment ?? r.name };
  }

  /** Counters of the list/watch loops (lists, watches, errors, 410s) per collection. */
  stats(): { kind: FlinkResourceKind; lists: number; watches: number; errors: number; gone: number }[] {
    return this.reflectors.map(r => ({ kind: r.kind, ...r.reflector.stats }));
  }

  async close(): Promise<void> {
    this.listeners.clear();
    await Promise.all(this.reflectors.map(r => r.reflector.stop()));
    this.started = false;
  }
}

/** The Kubernetes source and its patch backend from config (both share the REST clients). */
export function kubernetesFromConfig(
  config: Config,
  log: Logger,
  kubeConfig?: KubeConfig,
): { source: KubernetesJobSource; backend: FlinkDeploymentBackend } | undefined {
  const s = config.kubernetes;
  if (!s.enabled) return undefined;
  const source = new KubernetesJobSource({ settings: s, log, ...(kubeConfig ? { kubeConfig } : {}) });
  const backend = new FlinkDeploymentBackend({
    api: source.api,
    clientFor: job => source.client(job.restUrl),
    optInAnnotation: s.optInAnnotation,
    allowGitOpsDrift: s.allowGitOpsDrift,
    timeoutMs: s.timeout,
  });
  return { source, backend };
}
