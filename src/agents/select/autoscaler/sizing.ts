/**
 * Per-vertex sizing: how many subtasks a vertex needs to process its target rate at the target
 * utilization. The arithmetic follows the Flink Kubernetes Operator's autoscaler (so its
 * published numeric cases hold here too, see the tests); where this planner differs, it says so.
 *
 * Units: rates in records per second, durations in seconds.
 */

export interface CapacityInput {
  /** Records/s the vertex must keep up with (source input, propagated through the graph). */
  targetRate: number;
  /** Extra records/s to work off the backlog within the catch-up duration. */
  catchUpRate: number;
  /** Utilization the vertex is sized for (0–1]. */
  utilization: number;
  /** Seconds a rescale costs (restart downtime): the backlog it creates must be caught up too. */
  restartSec: number;
  /** Seconds the backlog should take to work off; 0 disables backlog-based sizing. */
  catchUpSec: number;
  withRestart: boolean;
}

/**
 * Records/s the vertex must be able to process: catch-up + (restart backlog) + target / u.
 * Rounded like Java's Math.round. u = 0 → Infinity.
 */
export function requiredCapacity(c: CapacityInput): number {
  const u = Math.min(1, Math.max(0, c.utilization));
  if (u === 0) return Infinity;
  const restart = c.withRestart && c.catchUpSec > 0 ? (c.targetRate * c.restartSec) / c.catchUpSec : 0;
  return Math.round(c.catchUpRate + restart + c.targetRate / u);
}

export interface Band {
  /** Scale up when the true processing rate is below this. */
  scaleUpBelow: number;
  /** Scale down when the true processing rate is above this. */
  scaleDownAbove: number;
}

/**
 * The utilization band as processing-rate thresholds. While a backlog is being worked off the
 * band widens to [0, 1]: no scale-down while catching up.
 */
export function utilizationBand(
  c: Omit<CapacityInput, 'utilization' | 'withRestart'>,
  u: { max: number; min: number },
  backlog: boolean,
): Band {
  const uMax = backlog ? 1 : u.max;
  const uMin = backlog ? 0 : u.min;
  return {
    scaleUpBelow: requiredCapacity({ ...c, utilization: uMax, withRestart: false }),
    scaleDownAbove: requiredCapacity({ ...c, utilization: uMin, withRestart: true }),
  };
}

export type AlignmentMode = 'evenly-spread' | 'maximize-utilisation' | 'balanced' | 'off';

export interface SizingInput {
  parallelism: number;
  /** True processing rate of the vertex at its current parallelism (records/s at 100 % busy). */
  trueProcessingRate: number;
  capacity: number;
  maxParallelism: number;
  /** Policy bounds. */
  minParallelism: number;
  maxParallelismBound: number;
  /** One step goes no lower than (1 − this) × p. */
  scaleDownMaxFactor: number;
  /** One step goes no higher than (1 + this) × p. */
  scaleUpMaxFactor: number;
  /** Source partitions, when the vertex is a source that reports them. */
  partitions?: number;
  /** Keyed input (hash edge) or a partitioned source: align to key groups / partitions. */
  align: boolean;
  alignment: AlignmentMode;
}

/** New parallelism for one vertex, bounded and aligned; equals `parallelism` for no change. */
export function targetParallelism(s: SizingInput): number {
  const p = s.parallelism;
  if (!(s.trueProcessingRate > 0) || !Number.isFinite(s.capacity)) return p;
  let factor = s.capacity / s.trueProcessingRate;
  factor = Math.min(Math.max(factor, 1 - s.scaleDownMaxFactor), 1 + s.scaleUpMaxFactor);
  const raw = Math.ceil(roundTiny(factor * p));
  const lower = Math.min(p, s.minParallelism);
  const upper = Math.max(p, s.maxParallelismBound);
  const bounded = Math.min(Math.max(lower, raw), Math.min(s.maxParallelism, upper));
  if (bounded === p || !s.align || s.alignment === 'off') return bounded;
  const n = s.partitions !== undefined && s.partitions > 0 ? s.partitions : s.maxParallelism;
  return alignParallelism({
    newP: bounded,
    p,
    n,
    lower,
    upper: Math.min(s.maxParallelism, upper),
    mode: s.alignment,
  });
}

/** Guards ceil() against binary noise: 1.6 × 10 must be 16, not 16.000000000000004 → 17. */
function roundTiny(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) < 1e-9 ? r : x;
}

export interface AlignInput {
  newP: number;
  p: number;
  /** Key groups (max parallelism) or source partitions. */
  n: number;
  lower: number;
  upper: number;
  mode: Exclude<AlignmentMode, 'off'>;
}

/**
 * Moves newP to a parallelism that spreads key groups / partitions evenly.
 *
 * - evenly-spread: the first divisor of n at or above newP (up to the cap);
 * - maximize-utilisation: also accepts a q where each subtask gets fewer units than at newP;
 * - both fall back downwards (the first q whose per-subtask share grows, +1 if not a divisor)
 *   and keep the current p rather than invert the direction of the change;
 * - balanced (the operator's newer default) accepts either test and never falls back.
 *
 * Unlike `balanced` on the operator's main branch, the search is always capped at n: more
 * subtasks than partitions or key groups only idle.
 */
export function alignParallelism(a: AlignInput): number {
  const { newP, p, n, lower, mode } = a;
  const cap = Math.min(n, a.upper);
  const limit = newP > p ? cap : Math.min(p, cap);
  const share = Math.floor(n / newP);
  for (let q = newP; q <= limit; q++) {
    if (n % q === 0) return q;
    if (mode !== 'evenly-spread' && Math.floor(n / q) < share) return q;
  }
  if (mode === 'balanced') return Math.min(newP, cap);
  let q = newP;
  while (q > 1 && Math.floor(n / q) <= share) q--;
  if (n % q !== 0) q += 1;
  const result = Math.max(q, lower);
  const inverted = (newP > p && result < p) || (newP < p && result > p);
  return inverted ? p : result;
}
