import { stringify } from 'yaml';
import { parseScenario, type FaultKind, type Scenario } from '../src/sim/index.js';
import { Rng } from '../src/sim/random.js';

/**
 * Seeded scenario generator of the accuracy benchmark: scenarios that were never used to tune
 * the rule library. Each has one job (a chain of 2–4 vertices with random parallelism and
 * capacities), one fault (kind, onset, length, magnitude through its params) and is validated
 * with `parseScenario`. Generated in memory; never written under scenarios/.
 */

export const GENERATOR_SEED = 20_261_111;
export const GENERATED_COUNT = 8;

/** Fault kinds the generator draws from (job-, TaskManager- and node-scoped ones). */
const POOL: readonly FaultKind[] = [
  'connector-unreachable',
  'checkpoint-timeout',
  'gc-pressure',
  'hot-key',
  'slow-sink',
  'stalled-watermark',
  'heap-oom',
  'cpu-steal',
  'container-oom-kill',
  'serialization-error',
  'no-slots',
  'state-growth',
];

/** The simulator's seeded PRNG as a function (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.next();
}

interface GenVertex {
  name: string;
  inputs?: string[];
  parallelism: number;
  capacity: number;
  partitions?: number;
  profile?: { kind: 'constant'; rate: number; noise: number };
}

export interface GeneratedScenario {
  scenario: Scenario;
  yaml: string;
}

export function generateScenarios(seed = GENERATOR_SEED, count = GENERATED_COUNT): GeneratedScenario[] {
  const rnd = prng(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
  const real = (lo: number, hi: number): number => lo + rnd() * (hi - lo);
  const round = (x: number, step: number): number => Math.max(step, Math.round(x / step) * step);
  // A shuffled pool, cycled, so that the kinds vary before any repeats.
  const kinds = [...POOL];
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = int(0, i);
    const a = kinds[i];
    const b = kinds[j];
    if (a !== undefined && b !== undefined) [kinds[i], kinds[j]] = [b, a];
  }
  const out: GeneratedScenario[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length] ?? 'slow-sink';
    const taskManagers = int(3, 5);
    const slots = 4;
    const nVertices = int(2, 4);
    const rate = round(real(2_000, 20_000), 100);
    const vertices: GenVertex[] = [];
    for (let v = 0; v < nVertices; v++) {
      const parallelism = int(2, Math.min(6, taskManagers * slots));
      // Baseline utilisation 25–50 % per subtask: healthy without the fault.
      const utilisation = real(0.25, 0.5);
      const capacity = round(rate / (parallelism * utilisation), 100);
      const isSource = v === 0;
      const isSink = v === nVertices - 1;
      const name = isSource ? 'Source: Kafka events' : isSink ? 'Sink: Kafka out' : `Operator ${v}`;
      const prev = vertices[v - 1];
      vertices.push({
        name,
        ...(prev === undefined ? {} : { inputs: [prev.name] }),
        parallelism,
        capacity,
        ...(isSource
          ? {
              partitions: parallelism * int(1, 4),
              profile: { kind: 'constant' as const, rate, noise: round(real(0.01, 0.05), 0.01) },
            }
          : {}),
      });
    }
    const source = vertices[0];
    const sink = vertices[vertices.length - 1];
    const keyed = vertices[Math.min(1, vertices.length - 1)];
    if (source === undefined || sink === undefined || keyed === undefined) throw new Error('no vertices');
    const job = `gen-${i + 1}-${kind}`;
    const onsetMin = int(5, 15);
    const lengthMin = kind === 'state-growth' ? int(40, 45) : int(20, 35);
    const params: Record<string, number> = {};
    let target: { vertex?: string; taskManager?: number; node?: number } = {};
    switch (kind) {
      case 'connector-unreachable':
        target = { vertex: rnd() < 0.5 ? source.name : sink.name };
        break;
      case 'checkpoint-timeout':
        params.factor = round(real(500, 3_000), 50);
        break;
      case 'gc-pressure':
        params.gcMsPerSecond = round(real(300, 600), 10);
        target = { taskManager: int(0, taskManagers - 1) };
        break;
      case 'hot-key': {
        // The hot key's records overload its subtask (share × rate = 1.1–1.5 × capacity) while
        // the vertex as a whole keeps headroom (4+ subtasks).
        params.share = Math.round(real(0.4, 0.8) * 100) / 100;
        keyed.parallelism = Math.max(keyed.parallelism, 4);
        keyed.capacity = round((rate * params.share) / real(1.1, 1.5), 100);
        target = { vertex: keyed.name };
        break;
      }
      case 'slow-sink':
        params.factor = Math.round(real(0.1, 0.4) * 100) / 100;
        target = { vertex: sink.name };
        break;
      case 'stalled-watermark':
        params.subtask = int(0, source.parallelism - 1);
        target = { vertex: source.name };
        break;
      case 'cpu-steal':
        params.steal = Math.round(real(0.3, 0.5) * 100) / 100;
        target = { node: int(0, taskManagers - 1) };
        break;
      case 'container-oom-kill':
        params.everySeconds = round(real(180, 420), 10);
        target = { taskManager: int(0, taskManagers - 1) };
        break;
      case 'no-slots':
        params.count = int(2, taskManagers - 1);
        break;
      case 'state-growth':
        params.bytesPerSecond = round(real(4, 16) * 1024 ** 2, 1024);
        break;
      default:
        break;
    }
    const doc = {
      name: `generated-${i + 1}-${kind}`,
      description: `Generated (seed ${seed}, #${i + 1}): ${kind} on a ${nVertices}-vertex chain.`,
      seed: int(1, 1_000_000),
      duration: '1h',
      cluster: { label: `gen-${i + 1}`, taskManagers, slotsPerTaskManager: slots },
      jobs: [{ name: job, vertices }],
      faults: [
        {
          kind,
          job,
          ...target,
          from: `${onsetMin}m`,
          to: `${onsetMin + lengthMin}m`,
          params,
        },
      ],
    };
    const yaml = stringify(doc);
    out.push({ scenario: parseScenario(yaml, doc.name), yaml });
  }
  return out;
}
