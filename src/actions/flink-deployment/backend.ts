import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { k8sIncarnation, type JobRef } from '../../domain/index.js';
import type { FlinkRestClient } from '../../sources/flink-rest/index.js';
import {
  describeK8sError,
  FLINK_GROUP,
  FLINK_VERSION,
  formatOverrides,
  httpStatusOf,
  nestedConfigKeys,
  OVERRIDES_KEY,
  parseOverrides,
  parseResource,
  PLURAL,
  withTimeout,
  type FlinkResource,
} from '../../sources/kubernetes/index.js';
import {
  assertSameGraph,
  ConflictError,
  liveFromJob,
  OutcomeUnknownError,
  RescaleRefusedError,
  type LiveState,
  type RescaleBackend,
} from '../backend.js';

/** Lifecycle states in which the operator accepts a spec change as a plain upgrade. */
const SETTLED = new Set(['STABLE', 'DEPLOYED']);

/** Markers of a resource whose spec a GitOps tool owns (a patch would be drift it reverts). */
const GITOPS_ANNOTATIONS = ['argocd.argoproj.io/tracking-id'];
const GITOPS_LABELS = [
  'argocd.argoproj.io/instance',
  'kustomize.toolkit.fluxcd.io/name',
  'helm.toolkit.fluxcd.io/name',
];
const GITOPS_MANAGERS = new Set(['argocd', 'flux', 'fluxcd', 'helm']);

export interface FlinkDeploymentBackendOptions {
  api: CustomObjectsApi;
  /** The REST client of the job's JobManager (actual vertex parallelism, the job graph). */
  clientFor: (job: JobRef) => FlinkRestClient;
  /** The opt-in annotation (`kubernetes.optInAnnotation`); a resource without it is never patched. */
  optInAnnotation: string;
  /** Patch resources managed by Argo CD / Flux / Helm too (`kubernetes.allowGitOpsDrift`). */
  allowGitOpsDrift: boolean;
  /** Per-request timeout of get and patch. */
  timeoutMs: number;
}

/**
 * Why this resource must not be patched, or undefined when it may be. Deliberately stricter than
 * "in-place scaling or a stateful upgrade mode": a `stateless` upgrade mode is refused even where
 * in-place scaling is available, because the operator falls back to a full redeploy when the
 * in-place rescale fails, and a stateless redeploy throws the job's state away.
 */
export function patchRefusal(
  res: FlinkResource,
  opts: Pick<FlinkDeploymentBackendOptions, 'optInAnnotation' | 'allowGitOpsDrift'>,
): string | undefined {
  const { metadata: md, spec, status } = res.object;
  const annotations = md.annotations ?? {};
  const labels = md.labels ?? {};
  if (annotations[opts.optInAnnotation]?.trim().toLowerCase() !== 'true')
    return `not opted in (metadata.annotations["${opts.optInAnnotation}"] is not "true")`;
  const conf = spec.flinkConfiguration ?? {};
  for (const key of ['job.autoscaler.enabled', 'kubernetes.operator.job.autoscaler.enabled']) {
    if (conf[key]?.trim().toLowerCase() === 'true')
      return `the operator's own autoscaler is on (spec.flinkConfiguration["${key}"] = "true")`;
  }
  if (!opts.allowGitOpsDrift) {
    const marker =
      GITOPS_ANNOTATIONS.find(a => annotations[a] !== undefined) ??
      GITOPS_LABELS.find(l => labels[l] !== undefined) ??
      (GITOPS_MANAGERS.has((labels['app.kubernetes.io/managed-by'] ?? '').toLowerCase())
        ? `app.kubernetes.io/managed-by=${labels['app.kubernetes.io/managed-by']}`
        : undefined);
    if (marker !== undefined)
      return `managed by GitOps (${marker}); set kubernetes.allowGitOpsDrift and ignore the overrides key there`;
  }
  const upgradeMode = spec.job?.upgradeMode ?? 'stateless';
  if (upgradeMode === 'stateless')
    return 'spec.job.upgradeMode is stateless: a redeploy would lose the job state (use savepoint or last-state)';
  if (spec.job?.state === 'suspended') return 'spec.job.state is suspended';
  const lifecycle = status?.lifecycleState;
  if (lifecycle === undefined || !SETTLED.has(lifecycle))
    return `status.lifecycleState is ${lifecycle ?? 'missing'} (needs STABLE or DEPLOYED)`;
  if ((status?.observedGeneration ?? md.generation) !== md.generation)
    return `the operator has not reconciled generation ${md.generation} yet (status.observedGeneration ${status?.observedGeneration})`;
  const jobState = status?.jobStatus?.state;
  if (jobState !== 'RUNNING') return `status.jobStatus.state is ${jobState ?? 'missing'} (needs RUNNING)`;
  if ([...nestedConfigKeys(conf)].some(k => k === OVERRIDES_KEY || k.startsWith(`${OVERRIDES_KEY}.`)))
    return `spec.flinkConfiguration holds ${OVERRIDES_KEY} nested; write it as one flat key`;
  return undefined;
}

/**
 * Rescaling through the Flink Kubernetes operator: a JSON merge patch of
 * `spec.flinkConfiguration["pipeline.jobvertex-parallelism-overrides"]` (the key the operator's
 * own autoscaler writes) listing every vertex of the running job at its absolute target, with the
 * re-read `metadata.resourceVersion` as precondition (409 → ConflictError, the planner re-plans).
 * The operator rescales in place where it can (Flink ≥ 1.18, adaptive scheduler) and otherwise
 * upgrades the job with its state (savepoint / last-state; `stateless` is refused).
 *
 * Live state: the resource (resourceVersion, generation, job id) and the job's actual vertex
 * parallelism from its JobManager (`GET /jobs/:id`), so verification sees what runs, not what
 * was asked for.
 */
export class FlinkDeploymentBackend implements RescaleBackend {
  constructor(private readonly opts: FlinkDeploymentBackendOptions) {}

  private target(job: JobRef): { kind: FlinkResource['kind']; namespace: string; name: string } {
    if (!job.resource) throw new RescaleRefusedError(`${job.jobKey} is not a Kubernetes resource`);
    return job.resource;
  }

  /** Re-reads the resource (GET), parsed; a malformed one is refused naming the field. */
  async read(job: JobRef): Promise<FlinkResource> {
    const r = this.target(job);
    const raw: unknown = await withTimeout(
      this.opts.timeoutMs,
      `get ${r.kind} ${r.namespace}/${r.name}`,
      () =>
        this.opts.api.getNamespacedCustomObject({
          group: FLINK_GROUP,
          version: FLINK_VERSION,
          namespace: r.namespace,
          plural: PLURAL[r.kind],
          name: r.name,
        }),
    ).catch((err: unknown) => {
      throw new Error(`get ${r.kind} ${r.namespace}/${r.name}: ${describeK8sError(err)}`, { cause: err });
    });
    return parseResource(r.kind, raw);
  }

  async readLive(job: JobRef): Promise<LiveState> {
    const res = await this.read(job);
    const md = res.object.metadata;
    const jobId = res.object.status?.jobStatus?.jobId?.toLowerCase();
    if (jobId === undefined)
      throw new Error(`${res.kind} ${md.namespace}/${md.name} has no running job (status.jobStatus.jobId)`);
    const d = await this.opts.clientFor(job).job(jobId);
    const live: LiveState = {
      ...liveFromJob(d, k8sIncarnation(jobId, md.generation)),
      resourceVersion: md.resourceVersion,
    };
    // The operator has not reconciled the latest spec yet: what runs is not the answer to it.
    const observed = res.object.status?.observedGeneration;
    if (observed !== undefined && md.generation !== undefined && observed < md.generation)
      live.settled = false;
    const requested = parseOverrides(res.object.spec.flinkConfiguration?.[OVERRIDES_KEY]);
    if (requested !== undefined && Object.keys(requested).length > 0) live.requested = requested;
    // The operator rolled the last change back (the new spec did not become healthy): the
    // rescale failed even if the job runs again; verification then counts it as a failure.
    const st = res.object.status;
    if (st?.lifecycleState === 'ROLLED_BACK' || st?.reconciliationStatus?.state === 'ROLLED_BACK')
      live.jobFailedSince ??= st.reconciliationStatus?.reconciliationTimestamp ?? Date.now();
    return live;
  }

  async write(
    job: JobRef,
    target: Record<string, number>,
    basis: { resourceVersion?: string },
  ): Promise<void> {
    const res = await this.read(job);
    const md = res.object.metadata;
    const what = `${res.kind} ${md.namespace}/${md.name}`;
    if (basis.resourceVersion !== undefined && basis.resourceVersion !== md.resourceVersion)
      throw new ConflictError(`${what} changed since it was read (resourceVersion ${md.resourceVersion})`);
    const refusal = patchRefusal(res, this.opts);
    if (refusal !== undefined) throw new RescaleRefusedError(`${what}: ${refusal}`);
    const jobId = res.object.status?.jobStatus?.jobId?.toLowerCase() ?? job.flinkJobId;
    const graph = await this.opts.clientFor(job).job(jobId);
    assertSameGraph(
      graph.vertices.map(v => v.id),
      target,
    );
    const bad = Object.entries(target).find(([, p]) => !Number.isInteger(p) || p < 1);
    if (bad)
      throw new RescaleRefusedError(
        `${what}: parallelism ${bad[1]} for vertex ${bad[0]} is not a positive integer`,
      );
    const body = {
      metadata: { resourceVersion: md.resourceVersion },
      spec: { flinkConfiguration: { [OVERRIDES_KEY]: formatOverrides(target) } },
    };
    try {
      await withTimeout(this.opts.timeoutMs, `patch ${what}`, () =>
        this.opts.api.patchNamespacedCustomObject(
          {
            group: FLINK_GROUP,
            version: FLINK_VERSION,
            namespace: md.namespace,
            plural: PLURAL[res.kind],
            name: md.name,
            body,
            fieldManager: 'flink-autopilot',
          },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        ),
      );
    } catch (err) {
      const code = httpStatusOf(err);
      if (code === 409) throw new ConflictError(`${what}: ${describeK8sError(err)}`, { cause: err });
      if (code === 422 || code === 400 || code === 403)
        throw new RescaleRefusedError(`${what}: the API server refused the patch (${describeK8sError(err)})`);
      // No status: the request may have reached the API server (reset, timeout): reconcile later.
      if (code === undefined)
        throw new OutcomeUnknownError(`patch ${what}: ${describeK8sError(err)}`, { cause: err });
      throw new Error(`patch ${what}: ${describeK8sError(err)}`, { cause: err });
    }
  }
}
