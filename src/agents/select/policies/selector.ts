import type { Selector } from '../../../config/safety-schema.js';
import type { JobRef } from '../../../domain/index.js';

/**
 * Selector matching for policies, freezes and config opt-in. Every term a selector gives must
 * match the job; the number of terms (each label counts once) is its specificity, so
 * `{namespace: shop, labels: {tier: gold}}` (2) beats `{namespace: shop}` (1).
 */

/** A selector compiled once: the glob and the regex turned into anchored RegExps. */
export interface CompiledSelector {
  readonly specificity: number;
  matches(job: Pick<JobRef, 'cluster' | 'namespace' | 'name' | 'labels'>): boolean;
}

/** `*` any characters, `?` one character, everything else literal; over the whole name. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '.*';
    else if (ch === '?') out += '.';
    else out += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`, 's');
}

export function specificityOf(selector: Selector): number {
  return (
    (selector.cluster === undefined ? 0 : 1) +
    (selector.namespace === undefined ? 0 : 1) +
    (selector.name === undefined ? 0 : 1) +
    (selector.nameRegex === undefined ? 0 : 1) +
    Object.keys(selector.labels ?? {}).length
  );
}

export function compileSelector(selector: Selector): CompiledSelector {
  const namespaces =
    selector.namespace === undefined
      ? undefined
      : new Set(Array.isArray(selector.namespace) ? selector.namespace : [selector.namespace]);
  const name = selector.name === undefined ? undefined : globToRegExp(selector.name);
  const nameRegex = selector.nameRegex === undefined ? undefined : new RegExp(`^(?:${selector.nameRegex})$`);
  const labels = Object.entries(selector.labels ?? {});
  return {
    specificity: specificityOf(selector),
    matches(job) {
      if (selector.cluster !== undefined && job.cluster !== selector.cluster) return false;
      if (namespaces && (job.namespace === undefined || !namespaces.has(job.namespace))) return false;
      if (name && !name.test(job.name)) return false;
      if (nameRegex && !nameRegex.test(job.name)) return false;
      return labels.every(([k, v]) => job.labels[k] === v);
    },
  };
}
