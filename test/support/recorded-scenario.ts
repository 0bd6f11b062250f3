import { scenarioSchema, type Scenario } from '../../src/sim/scenario.js';
import type { SimFlinkVersion } from '../../src/sim/versions.js';
import type { Recording } from './flink-recording.js';

/** The simulator version that stands for a recorded Flink version ("1.20.3" → "1.20"). */
export function simVersionOf(flinkVersion: string): SimFlinkVersion {
  const v = /^(\d+\.\d+)/.exec(flinkVersion)?.[1];
  if (v !== '1.20' && v !== '2.3') throw new Error(`no simulator version for Flink ${flinkVersion}`);
  return v;
}

/**
 * The recorded setup (scripts/flink-local + scripts/flink-jobs/AutopilotJobs.java) as a simulator
 * scenario: the same cluster (2 TaskManagers × 4 slots, adaptive scheduler, 2 s fixed-delay
 * restarts, checkpoints every 10 s), the same three jobs with the same vertex names, parallelism
 * and source rates. `cpuCapacity` is the records/s one cpu-work subtask handles when saturated,
 * measured in the recording; `restartDowntime` is how long a restart keeps a job down on that
 * machine (local processes: well under a second, the simulator's 1 s step).
 */
export function recordedScenario(rec: Recording, cpuCapacity: number): Scenario {
  const jobs = rec.setup.jobs;
  const checkpoint = { interval: rec.setup.checkpointIntervalMs, stateBytes: 20_000 };
  const restartDelay = rec.setup.restartDelayMs;
  return scenarioSchema.parse({
    name: `recorded-${rec.flinkVersion}`,
    seed: 11,
    cluster: {
      flinkVersion: simVersionOf(rec.flinkVersion),
      taskManagers: rec.setup.taskManagers,
      slotsPerTaskManager: rec.setup.slotsPerTaskManager,
      restartDowntime: 1000,
      metricFetchInterval: rec.setup.metricFetchIntervalMs,
    },
    jobs: [
      {
        name: 'autopilot-healthy',
        restartDelay,
        checkpoint,
        vertices: [
          {
            name: 'Source: generator',
            parallelism: 1,
            capacity: 200_000,
            profile: { kind: 'constant', rate: jobs.healthy.sourceRate, noise: 0 },
            backlog: false,
          },
          {
            name: 'enrich -> discard: Writer',
            inputs: ['Source: generator'],
            parallelism: 2,
            capacity: 200_000,
          },
        ],
      },
      {
        name: 'autopilot-cpu',
        restartDelay,
        checkpoint,
        vertices: [
          {
            name: 'Source: generator',
            parallelism: 1,
            capacity: 200_000,
            profile: { kind: 'constant', rate: jobs.cpu.sourceRate, noise: 0 },
            backlog: false,
          },
          {
            name: 'cpu-work -> discard: Writer',
            inputs: ['Source: generator'],
            parallelism: 1,
            capacity: cpuCapacity,
          },
        ],
      },
      {
        name: 'autopilot-closed-port',
        restartDelay,
        checkpoint,
        vertices: [
          {
            name: 'Source: generator -> closed-port-sink -> discard: Writer',
            parallelism: 1,
            capacity: 200_000,
            profile: { kind: 'constant', rate: jobs['closed-port'].sourceRate, noise: 0 },
            backlog: false,
          },
        ],
      },
    ],
    faults: [
      {
        kind: 'connector-unreachable',
        job: 'autopilot-closed-port',
        from: 0,
        params: { failAfterSeconds: 1 },
      },
    ],
  });
}
