/**
 * The structure of JSON values as a set of `path: type` lines, for comparing the simulator's
 * responses with real Flink's: array elements share the path `[]`, and object keys that are ids
 * (32-hex job/vertex ids, numbers, TaskManager resource ids) collapse to `{id}`, as do the keys of
 * maps keyed by data (job status timestamps).
 */

const ID_KEY = /^([0-9a-f]{32}|\d+|[0-9a-f-]{36}|.+:\d+-[0-9a-f]{6})$/;
/** Objects whose keys are data, not field names. */
const MAP_PATHS = [/(^|\.)timestamps$/, /(^|\.)status-counts$/, /(^|\.)tasks$/];

export type JsonType = 'null' | 'boolean' | 'number' | 'string' | 'array' | 'object';

export function typeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  const t = typeof v;
  if (t === 'boolean' || t === 'number' || t === 'string') return t;
  return 'object';
}

/** Adds the `path: type` lines of `value` to `out`. */
export function shapeLines(value: unknown, out: Set<string> = new Set(), path = '$'): Set<string> {
  const t = typeOf(value);
  out.add(`${path}: ${t}`);
  if (t === 'array') for (const item of value as unknown[]) shapeLines(item, out, `${path}[]`);
  else if (t === 'object') {
    const isMap = MAP_PATHS.some(re => re.test(path));
    for (const [k, v] of Object.entries(value as Record<string, unknown>))
      shapeLines(v, out, `${path}.${isMap || ID_KEY.test(k) ? '{id}' : k}`);
  }
  return out;
}

/** Paths (without the type) of a set of shape lines. */
export function pathsOf(lines: Iterable<string>): Set<string> {
  return new Set([...lines].map(l => l.slice(0, l.lastIndexOf(': '))));
}

export interface ShapeDiff {
  /** Paths real Flink sends that the simulator never does. */
  missing: string[];
  /** Paths the simulator sends that real Flink never did. */
  extra: string[];
  /** Paths both send, with types the simulator uses that Flink never did. */
  typeMismatch: string[];
}

/**
 * Compares two unions of shape lines. A type the simulator sends that the recording never showed
 * is a mismatch, except `null` for a field Flink did send: Flink writes null for a value that does
 * not exist yet (`latest.completed` before the first checkpoint, in the 1.20.3 recording), so a
 * null only says the simulated run was in that state when sampled.
 */
export function diffShapes(real: Set<string>, sim: Set<string>): ShapeDiff {
  const realPaths = pathsOf(real);
  const simPaths = pathsOf(sim);
  const missing = [...realPaths].filter(p => !simPaths.has(p)).sort();
  const extra = [...simPaths].filter(p => !realPaths.has(p)).sort();
  const typeMismatch = [...sim]
    .filter(l => {
      const p = l.slice(0, l.lastIndexOf(': '));
      return realPaths.has(p) && !real.has(l) && !l.endsWith(': null');
    })
    .sort();
  return { missing, extra, typeMismatch };
}
