import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BullmqScheduler } from '../../../src/agent-manager/bullmq-scheduler.js';
import { Daemon, storeDetectStates, type JobSource } from '../../../src/agent-manager/daemon.js';
import { compileConfig } from '../../../src/config/load.js';
import { loadRules } from '../../../src/config/rule-files.js';
import { RealClock, type JobRef, type Snapshot } from '../../../src/domain/index.js';
import { RedisStore } from '../../../src/state/redis-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';

const url = `redis://127.0.0.1:${inject('redisPort')}`;
const redis = new Redis(url);
afterAll(() => redis.quit());
const log = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

/** Every collect of a job sees one more restart: a restart loop, whichever replica asks. */
class RestartingSource implements JobSource {
  readonly id = 'flink:dist';
  readonly collects = new Map<string, number>();
  listJobs(): Promise<JobRef[]> {
    return Promise.resolve(
      ['a', 'b', 'c'].map(n => ({
        jobKey: `rest:dist/${n}`,
        incarnation: n,
        origin: 'rest' as const,
        cluster: 'dist',
        name: n,
        flinkJobId: n,
        restUrl: 'http://127.0.0.1:1',
        labels: {},
      })),
    );
  }
  collect(job: JobRef, now: number): Promise<Snapshot> {
    const n = (this.collects.get(job.jobKey) ?? 0) + 1;
    this.collects.set(job.jobKey, n);
    return Promise.resolve({
      job,
      observedAt: now,
      sourceId: this.id,
      cluster: { reachable: true },
      jobStatus: { id: job.flinkJobId, name: job.name, state: 'RUNNING', startTime: 0, numRestarts: n },
      vertices: [],
      missing: [],
    });
  }
}

describe('distributed daemon: two replicas on one Redis', () => {
  it('share the jobs, keep one state in Redis and find the restart loop', async () => {
    const prefix = `dist-${process.pid}`;
    const config = compileConfig({ agent: { interval: 1000 }, redis: { url, prefix } });
    const rules = await loadRules();
    const source = new RestartingSource();
    const clock = new RealClock();
    const replica = (): Daemon => {
      const store = new RedisStore(redis, prefix);
      return new Daemon({
        config,
        clock,
        sources: [source],
        store,
        rules,
        rulesVersion: 'test',
        log,
        detectStates: storeDetectStates(store, clock, 3_600_000),
        scheduler: run =>
          new BullmqScheduler({
            redisUrl: url,
            prefix,
            intervalMs: 1000,
            concurrency: 4,
            run,
            store,
            log,
            drainTimeoutMs: 5000,
          }),
      });
    };
    const r1 = replica();
    const r2 = replica();
    await r1.start();
    await r2.start();
    await sleep(5000);
    await Promise.all([r1.close(), r2.close()]);

    const store = new RedisStore(redis, prefix);
    expect((await store.listJobKeys()).sort()).toEqual(['rest:dist/a', 'rest:dist/b', 'rest:dist/c']);
    for (const key of ['rest:dist/a', 'rest:dist/b', 'rest:dist/c']) {
      const state = await store.getJob(key);
      expect(state?.lastReport?.firstAction?.rule).toBe('job-restart-loop');
      expect(state?.scoreHistory.length).toBeGreaterThanOrEqual(3);
      expect(await store.getRecord('detect', key, Date.now())).toBeDefined();
    }
    // Both replicas ran cycles (their in-memory views are partial; the store has the whole).
    expect(r1.reports().length + r2.reports().length).toBeGreaterThanOrEqual(3);
  }, 30_000);
});
