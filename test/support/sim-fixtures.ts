import { VirtualClock } from '../../src/domain/clock.js';
import type { JobRef } from '../../src/domain/identity.js';
import { scenarioSchema, type Scenario } from '../../src/sim/scenario.js';
import { Simulator } from '../../src/sim/server.js';
import { FlinkRestClient, type FlinkRestClientOptions } from '../../src/sources/flink-rest/client.js';
import { listJobs } from '../../src/sources/flink-rest/discovery.js';

export const START = Date.parse('2026-11-11T00:00:00Z');

/** A three-vertex pipeline: source (2 × 20k/s) → keyed aggregate (2 × 5k/s) → sink (2 × 20k/s). */
export function pipelineScenario(
  overrides: Record<string, unknown> = {},
  profile: Record<string, unknown> = { kind: 'step', rate: 4000, to: 12000, at: '5m', noise: 0 },
): Scenario {
  return scenarioSchema.parse({
    name: 'test-pipeline',
    seed: 7,
    cluster: { flinkVersion: '1.20', taskManagers: 2, slotsPerTaskManager: 4 },
    jobs: [
      {
        name: 'orders',
        maxParallelism: 8,
        vertices: [
          { name: 'Source: Kafka', parallelism: 2, partitions: 8, capacity: 20000, profile },
          { name: 'Aggregate', inputs: ['Source: Kafka'], parallelism: 2, capacity: 5000 },
          { name: 'Sink: Kafka', inputs: ['Aggregate'], parallelism: 2, capacity: 20000 },
        ],
      },
    ],
    ...overrides,
  });
}

export interface SimHarness {
  sim: Simulator;
  clock: VirtualClock;
  client: FlinkRestClient;
  job: JobRef;
  close(): Promise<void>;
}

/** A simulator on 127.0.0.1 (ephemeral port) in virtual time, a client over real HTTP, the job. */
export async function startHarness(
  scenario: Scenario,
  clientOptions: Partial<FlinkRestClientOptions> = {},
): Promise<SimHarness> {
  const clock = new VirtualClock(START);
  const sim = await new Simulator({ scenario, clock }).listen();
  const client = new FlinkRestClient({
    baseUrl: sim.url,
    timeoutMs: 2000,
    retries: 1,
    backoffMs: 1,
    clusterCacheMs: 0,
    ...clientOptions,
  });
  const [job] = await listJobs(client, { clusterLabel: 'test' });
  if (job === undefined) throw new Error('no job');
  return { sim, clock, client, job, close: () => sim.close() };
}

/** Advances virtual time to `seconds` after the start. */
export async function at(h: SimHarness, seconds: number): Promise<void> {
  await h.clock.advance(START + seconds * 1000 - h.clock.now());
}
