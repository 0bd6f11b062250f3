import { describe, expect, it } from 'vitest';
import { restJobSource } from '../../../src/agent-manager/rest-job-source.js';
import { FlinkRescaleBackend } from '../../../src/actions/flink-rescale/backend.js';
import { compileConfig } from '../../../src/config/load.js';
import { VirtualClock } from '../../../src/domain/index.js';
import { loadScenario, startSimulator } from '../../../src/sim/index.js';

describe('Flink adaptive-scheduler rescale backend (simulator over HTTP)', () => {
  it('writes an absolute target for every vertex; the job restarts at it; a repeated write is accepted as by real Flink', async () => {
    const scenario = await loadScenario('scenarios/healthy-pipeline.yaml');
    const clock = new VirtualClock(Date.parse(scenario.startTime));
    const sim = await startSimulator({ scenario, clock });
    try {
      const [cluster] = compileConfig({ flink: { clusters: [{ label: 'orders', url: sim.url }] } }).flink
        .clusters;
      if (!cluster) throw new Error('no cluster');
      const source = restJobSource(cluster);
      const [job] = await source.listJobs();
      if (!job) throw new Error('no job');
      const backend = new FlinkRescaleBackend(() => source.client);
      const before = await backend.readLive(job);
      expect(Object.values(before.parallelism)).toEqual([4, 4, 4]);
      expect(before.incarnation).toBe(job.incarnation);

      const [src, agg, sink] = Object.keys(before.parallelism);
      const target = { [src as string]: 4, [agg as string]: 8, [sink as string]: 4 };
      await backend.write(job, target, {});
      // Real Flink (1.20.3, 2.3.0 recordings) answers a second update 200, even during a restart.
      await expect(backend.write(job, target, {})).resolves.toBeUndefined();
      // Adaptive scheduler: not before scaling-interval.min (30 s) since the start, then restart
      // downtime; still the old parallelism meanwhile.
      await clock.advance(5_000);
      expect((await backend.readLive(job)).parallelism[agg as string]).toBe(4);
      await clock.advance(60_000);
      expect((await backend.readLive(job)).parallelism).toEqual(target);

      await expect(backend.write(job, { [src as string]: 4 }, {})).rejects.toThrow(/job graph changed/);
    } finally {
      await sim.close();
    }
  });
});
