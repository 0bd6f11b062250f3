import type { Category } from '../src/domain/index.js';
import type { FaultKind } from '../src/sim/index.js';

/**
 * Ground truth of the accuracy benchmark: for each simulator fault kind, which findings count as
 * a correct detection. Derived from what the model does for each kind (src/sim/faults.ts,
 * job-model.ts, cluster.ts) and the rule categories (src/domain/severity.ts).
 *
 * - `detect`: categories (or rule ids) whose firing while the fault is active counts as detecting
 *   it (recall, detection delay).
 * - `consequence`: categories (or rule ids) that are a true positive for precision too, because
 *   the fault causes them in the model (e.g. a fault that fails the job every N seconds causes a
 *   restart loop), but that alone do not count as detecting the fault.
 * - `fast`: availability and connector faults, held to the <= 90 s detection target at a 10 s tick.
 *
 * Frozen with the benchmark: do not edit it to make figures better, only to fix a wrong mapping.
 */
export interface FaultTruth {
  detect: readonly (Category | `rule:${string}`)[];
  consequence: readonly (Category | `rule:${string}`)[];
  fast: boolean;
}

export const TRUTH: Readonly<Record<FaultKind, FaultTruth>> = {
  // The connector times out and fails the job after 60 s of RUNNING: a restart loop naming Kafka.
  'connector-unreachable': { detect: ['availability', 'connector'], consequence: ['lag'], fast: true },
  // Checkpoint duration × factor: checkpoints expire; past the tolerable count the job restarts.
  'checkpoint-timeout': { detect: ['checkpoint'], consequence: ['availability'], fast: false },
  // GC milliseconds per second on one TaskManager: its subtasks slow down.
  'gc-pressure': { detect: ['gc', 'memory'], consequence: ['backpressure', 'skew'], fast: false },
  // OutOfMemoryError fails the job after N s of RUNNING (restart loop).
  'heap-oom': { detect: ['memory', 'availability'], consequence: [], fast: true },
  'metaspace-oom': { detect: ['memory', 'availability'], consequence: [], fast: true },
  'direct-oom': { detect: ['memory', 'availability'], consequence: [], fast: true },
  // The container is killed every N s: TaskManager lost, job fails over.
  'container-oom-kill': { detect: ['memory', 'availability'], consequence: ['resources'], fast: true },
  // One TaskManager's heartbeat times out once: TaskManager lost, failover.
  'tm-heartbeat-timeout': { detect: ['availability'], consequence: ['resources'], fast: true },
  // TaskManagers lost and not replaced: no slots, the job waits for resources.
  'no-slots': { detect: ['resources', 'availability'], consequence: [], fast: true },
  // One key carries a share of the records: one subtask saturated.
  'hot-key': { detect: ['skew'], consequence: ['backpressure', 'lag', 'scaling'], fast: false },
  // Input rate × factor: the job is far bigger than it needs.
  'idle-over-provisioned': { detect: ['resources', 'scaling'], consequence: [], fast: false },
  // One source subtask's watermark stops.
  'stalled-watermark': { detect: ['watermark'], consequence: ['lag'], fast: false },
  // Node faults: CPU steal, a full disk (which also fails the job), NIC errors (which also fail it).
  'cpu-steal': { detect: ['node'], consequence: ['backpressure', 'skew', 'resources'], fast: false },
  'disk-full': { detect: ['node'], consequence: ['availability'], fast: false },
  'nic-errors': { detect: ['node'], consequence: ['availability'], fast: false },
  // State grows by N bytes/s: checkpoints get bigger and slower.
  'state-growth': { detect: ['state'], consequence: ['checkpoint'], fast: false },
  // A Kryo exception fails the job after 20 s of RUNNING (restart loop).
  'serialization-error': { detect: ['config', 'availability'], consequence: [], fast: true },
  // The sink's capacity × factor: backpressure upstream, the sink needs more subtasks.
  'slow-sink': { detect: ['backpressure', 'scaling'], consequence: ['lag', 'resources'], fast: false },
  // The JobManager's REST API refuses connections: the source cannot be observed.
  'jobmanager-unreachable': { detect: ['availability'], consequence: [], fast: true },
};

/** Does a finding (rule id, category) match one of these truth entries? */
export function matches(
  entries: readonly (Category | `rule:${string}`)[],
  rule: string,
  category: Category,
): boolean {
  return entries.some(e => e === category || e === `rule:${rule}`);
}
