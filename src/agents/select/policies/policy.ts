import type { Config } from '../../../config/schema.js';
import { POLICY_MODES, type PolicyEntry, type PolicyMode } from '../../../config/safety-schema.js';
import type { JobRef, ParamOverrides, ParamValue, ParallelismMap } from '../../../domain/index.js';
import type { CyclePolicy, Planner } from '../../agent.js';
import { compileSelector, type CompiledSelector } from './selector.js';

export { compileSelector, globToRegExp, specificityOf, type CompiledSelector } from './selector.js';

/**
 * Per-job policy: the config's `policies` (by selector) merged over the fleet defaults, and the
 * job's own opt-in annotation on top.
 *
 * Merge order, weakest first: fleet defaults (`mode`, `autoscaler.*`, `policyDefaults.*`,
 * `rules.*`), then each matching policy from least to most specific (ties: in config order, so
 * the later one wins), then the annotation `autopilot.flink.apache.org/mode`. For each field the
 * last writer wins; `vertices` and `params` merge per vertex / per rule param; lists
 * (`excludedVertices`, `alertRoutes`, `disabledRules`) are replaced whole, and the fleet-wide
 * `rules.disabled` always stays disabled.
 */
export const MODE_ANNOTATION = 'autopilot.flink.apache.org/mode';

export interface VertexBounds {
  min?: number;
  max?: number;
}

export type PolicyField =
  | 'mode'
  | 'minParallelism'
  | 'maxParallelism'
  | 'excludedVertices'
  | 'targetUtilization'
  | 'lagSlo'
  | 'catchUp'
  | 'owner'
  | 'alertRoutes'
  | 'disabledRules';

/** The merged policy of one job (shown in the job's API detail). */
export interface EffectivePolicy {
  /** off = never plan nor act; dry-run = advise; approve = ask first; auto = act. */
  mode: PolicyMode;
  minParallelism?: number;
  maxParallelism?: number;
  /** Bounds per vertex id or name. */
  vertices: Record<string, VertexBounds>;
  /** Vertex ids or names never rescaled. */
  excludedVertices: string[];
  targetUtilization: number;
  lagSloMs: number;
  catchUpMs: number;
  owner?: string;
  alertRoutes: string[];
  /** Rule param overrides: fleet-wide ones with the policies' on top. */
  params: ParamOverrides;
  disabledRules: string[];
  /** Ids of the matching policies, weakest first. */
  matched: string[];
  /** Who set each field: `default`, `config`, `annotation` or `policy:<id>`. */
  sources: Partial<Record<PolicyField, string>>;
  /** Things ignored while merging (an unknown annotation value). */
  problems: string[];
}

type PolicyConfig = Pick<Config, 'mode' | 'policies' | 'policyDefaults' | 'autoscaler' | 'rules'>;

interface CompiledPolicy {
  entry: PolicyEntry;
  index: number;
  selector: CompiledSelector;
}

const compiledCache = new WeakMap<readonly PolicyEntry[], CompiledPolicy[]>();

function compiled(policies: readonly PolicyEntry[]): CompiledPolicy[] {
  let out = compiledCache.get(policies);
  if (!out) {
    out = policies.map((entry, index) => ({ entry, index, selector: compileSelector(entry.selector) }));
    compiledCache.set(policies, out);
  }
  return out;
}

/** Matching policies, weakest first: by specificity, then by position in the config. */
export function matchingPolicies(job: JobRef, policies: readonly PolicyEntry[]): PolicyEntry[] {
  return compiled(policies)
    .filter(p => p.selector.matches(job))
    .sort((a, b) => a.selector.specificity - b.selector.specificity || a.index - b.index)
    .map(p => p.entry);
}

function isPolicyMode(v: string): v is PolicyMode {
  return (POLICY_MODES as readonly string[]).includes(v);
}

function mergeParams(base: ParamOverrides, over: PolicyEntry['params']): ParamOverrides {
  if (!over) return base;
  const out: Record<string, Record<string, ParamValue>> = {};
  for (const [rule, params] of Object.entries(base)) out[rule] = { ...params };
  for (const [rule, params] of Object.entries(over)) out[rule] = { ...out[rule], ...params };
  return out;
}

export function resolvePolicy(job: JobRef, config: PolicyConfig): EffectivePolicy {
  const eff: EffectivePolicy = {
    mode: config.mode,
    vertices: {},
    excludedVertices: [],
    targetUtilization: config.autoscaler.targetUtilization,
    lagSloMs: config.policyDefaults.lagSlo,
    catchUpMs: config.autoscaler.catchUp,
    alertRoutes: [],
    params: config.rules.params,
    disabledRules: [],
    matched: [],
    sources: { mode: 'config', targetUtilization: 'config', lagSlo: 'config', catchUp: 'config' },
    problems: [],
  };
  for (const p of matchingPolicies(job, config.policies)) {
    const by = `policy:${p.id}`;
    eff.matched.push(p.id);
    const take = <T>(field: PolicyField, value: T | undefined, assign: (v: T) => void): void => {
      if (value === undefined) return;
      assign(value);
      eff.sources[field] = by;
    };
    take('mode', p.mode, v => (eff.mode = v));
    take('minParallelism', p.minParallelism, v => (eff.minParallelism = v));
    take('maxParallelism', p.maxParallelism, v => (eff.maxParallelism = v));
    take('excludedVertices', p.excludedVertices, v => (eff.excludedVertices = [...v]));
    take('targetUtilization', p.targetUtilization, v => (eff.targetUtilization = v));
    take('lagSlo', p.lagSlo, v => (eff.lagSloMs = v));
    take('catchUp', p.catchUp, v => (eff.catchUpMs = v));
    take('owner', p.owner, v => (eff.owner = v));
    take('alertRoutes', p.alertRoutes, v => (eff.alertRoutes = [...v]));
    take('disabledRules', p.disabledRules, v => (eff.disabledRules = [...v]));
    for (const [vertex, bounds] of Object.entries(p.vertices ?? {}))
      eff.vertices[vertex] = { ...eff.vertices[vertex], ...bounds };
    eff.params = mergeParams(eff.params, p.params);
  }
  eff.disabledRules = [...new Set([...config.rules.disabled, ...eff.disabledRules])];
  const annotation = job.annotations?.[MODE_ANNOTATION]?.trim();
  if (annotation !== undefined) {
    if (isPolicyMode(annotation)) {
      eff.mode = annotation;
      eff.sources.mode = 'annotation';
    } else {
      eff.problems.push(
        `ignored ${MODE_ANNOTATION}=${JSON.stringify(annotation)} (use ${POLICY_MODES.join('|')})`,
      );
    }
  }
  return eff;
}

/**
 * What the agent cycle needs. `off` plans nothing (see `withOptIn`) and acts on nothing (the
 * executor skips with `opt-out`); the cycle itself has no `off`, so it runs as dry-run.
 */
export function toCyclePolicy(eff: EffectivePolicy): CyclePolicy {
  return {
    mode: eff.mode === 'off' ? 'dry-run' : eff.mode,
    overrides: eff.params,
    disabledRules: new Set(eff.disabledRules),
  };
}

/** A planner that plans nothing for jobs whose mode is `off`. */
export function withOptIn(
  planner: Planner,
  policyFor: (job: JobRef) => Pick<EffectivePolicy, 'mode'>,
): Planner {
  return {
    plan: ctx => (policyFor(ctx.job).mode === 'off' ? Promise.resolve([]) : planner.plan(ctx)),
  };
}

/** The bounds of one vertex: its own (by id, then by name) over the job-wide ones. */
export function vertexBounds(eff: EffectivePolicy, vertex: { id: string; name?: string }): VertexBounds {
  const own = eff.vertices[vertex.id] ?? (vertex.name === undefined ? undefined : eff.vertices[vertex.name]);
  const min = own?.min ?? eff.minParallelism;
  const max = own?.max ?? eff.maxParallelism;
  return { ...(min === undefined ? {} : { min }), ...(max === undefined ? {} : { max }) };
}

export function isExcluded(eff: EffectivePolicy, vertex: { id: string; name?: string }): boolean {
  return (
    eff.excludedVertices.includes(vertex.id) ||
    (vertex.name !== undefined && eff.excludedVertices.includes(vertex.name))
  );
}

/**
 * A planner's target made to respect the policy: excluded vertices stay at their current
 * parallelism, every other vertex is clamped to its bounds.
 */
export function applyPolicyToTarget(
  eff: EffectivePolicy,
  basis: ParallelismMap,
  target: ParallelismMap,
  names: Readonly<Record<string, string>> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [id, p] of Object.entries(target)) {
    const vertex = names[id] === undefined ? { id } : { id, name: names[id] };
    if (isExcluded(eff, vertex)) {
      out[id] = basis[id] ?? p;
      continue;
    }
    const { min, max } = vertexBounds(eff, vertex);
    out[id] = Math.min(max ?? Infinity, Math.max(min ?? 1, p));
  }
  return out;
}
