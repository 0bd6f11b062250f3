import { hash32 } from './random.js';
import type { VertexSpec } from './scenario.js';

/** Share of records per subtask of a keyed vertex: Zipf over subtasks plus one hot key. */
export function keyWeights(spec: VertexSpec, parallelism: number, extraHotShare = 0): number[] {
  const raw = Array.from({ length: parallelism }, (_, i) => 1 / (i + 1) ** spec.keySkew);
  const total = raw.reduce((a, b) => a + b, 0);
  const hot = Math.min(1, spec.hotKeyShare + extraHotShare);
  const hotIndex = hash32(spec.name) % parallelism;
  return raw.map((w, i) => (1 - hot) * (w / total) + (i === hotIndex ? hot : 0));
}

/** Share of records per source subtask: partitions are assigned round-robin to subtasks. */
export function partitionWeights(partitions: number | undefined, parallelism: number): number[] {
  const p = partitions ?? parallelism;
  const counts = new Array<number>(parallelism).fill(0);
  for (let j = 0; j < p; j++) counts[j % parallelism] = (counts[j % parallelism] ?? 0) + 1;
  return counts.map(c => c / p);
}

/** For each vertex, the indices of every vertex upstream of it (transitively). */
export function ancestors(vertices: readonly { inputs: readonly number[] }[]): Set<number>[] {
  const out: Set<number>[] = [];
  vertices.forEach((v, i) => {
    const set = new Set<number>();
    for (const u of v.inputs) {
      set.add(u);
      for (const a of out[u] ?? []) set.add(a);
    }
    out[i] = set;
  });
  return out;
}

/** Flink's metric id form of an operator name (MetricQueryService#replaceInvalidChars). */
export function metricOperatorName(name: string): string {
  return name.replace(/[ .:,]/g, '_').slice(0, 80);
}
