import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { Queue, QueueEvents } from 'bullmq';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { BullmqScheduler, schedulerIdOf } from '../../../src/agent-manager/bullmq-scheduler.js';
import type { JobRef } from '../../../src/domain/index.js';
import { RedisStore } from '../../../src/state/redis-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { startRedis } from '../../setup/redis.global.js';

const url = `redis://127.0.0.1:${inject('redisPort')}`;
const redis = new Redis(url);
afterAll(() => redis.quit());
const log = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });

const ref = (i: number): JobRef => ({
  jobKey: `rest:c1/job-${i}`,
  incarnation: `j${i}`,
  origin: 'rest',
  cluster: 'c1',
  name: `job-${i}`,
  flinkJobId: `j${i}`,
  restUrl: 'http://127.0.0.1:1',
  labels: {},
});
/** Calls of EVALSHA (BullMQ's Lua scripts: every write) so far, from INFO commandstats. */
async function commandCounts(r: Redis): Promise<{ evalsha: number }> {
  const info = await r.info('commandstats');
  const m = /cmdstat_evalsha:calls=(\d+)/.exec(info);
  return { evalsha: Number(m?.[1] ?? 0) };
}
const sleep = (ms: number): Promise<void> => new Promise(r => setTimeout(r, ms));

describe('BullMQ scheduler (real redis-server)', () => {
  it('syncs one Job Scheduler per job, idempotently, and removes the ones that are gone', async () => {
    const prefix = `sync-${process.pid}`;
    // Its own redis-server: the command counts below must not see other test files.
    const own = await startRedis(['--appendonly', 'yes']);
    const ownUrl = `redis://127.0.0.1:${own.port}`;
    const ownRedis = new Redis(ownUrl);
    const s = new BullmqScheduler({
      redisUrl: ownUrl,
      prefix,
      intervalMs: 60_000,
      concurrency: 1,
      run: () => Promise.resolve(),
      store: new RedisStore(ownRedis, prefix),
      log,
    });
    const jobs = Array.from({ length: 50 }, (_, i) => ref(i));
    expect(await s.sync(jobs)).toEqual({ added: 50, removed: 0, updated: 0 });
    // An unchanged inventory writes nothing: no upsert, no removal.
    const before = await commandCounts(ownRedis);
    expect(await s.sync(jobs)).toEqual({ added: 0, removed: 0, updated: 0 });
    const after = await commandCounts(ownRedis);
    expect(after.evalsha - before.evalsha).toBe(0);
    // A new incarnation (new Flink job id after an upgrade) rewrites that job's scheduler only.
    const upgraded = jobs.map((j, i) => (i === 3 ? { ...j, incarnation: 'j3b', flinkJobId: 'j3b' } : j));
    expect(await s.sync(upgraded)).toEqual({ added: 0, removed: 0, updated: 1 });
    const queue = new Queue('cycles', { connection: ownRedis, prefix });
    const scheduler = await queue.getJobScheduler(schedulerIdOf('rest:c1/job-3'));
    await queue.close();
    expect((scheduler?.template?.data as JobRef | undefined)?.flinkJobId).toBe('j3b');
    expect(await s.sync(upgraded.slice(0, 40))).toEqual({ added: 0, removed: 10, updated: 0 });
    expect(await s.schedulerCount()).toBe(40);
    expect(schedulerIdOf('rest:c1/job-1')).not.toContain(':');
    await s.close();
    await ownRedis.quit();
    await own.stop();
  });

  it('two replicas share the work, never run one job twice at once, and one takes over when the other dies', async () => {
    const prefix = `share-${process.pid}`;
    const running = new Set<string>();
    let overlaps = 0;
    const runs: { job: string; replica: string; at: number }[] = [];
    const make = (replica: string): BullmqScheduler =>
      new BullmqScheduler({
        redisUrl: url,
        prefix,
        intervalMs: 1000,
        concurrency: 8,
        store: new RedisStore(redis, prefix),
        log,
        drainTimeoutMs: 5000,
        run: async job => {
          if (running.has(job.jobKey)) overlaps += 1;
          running.add(job.jobKey);
          runs.push({ job: job.jobKey, replica, at: Date.now() });
          await sleep(50);
          running.delete(job.jobKey);
        },
      });
    const a = make('a');
    const b = make('b');
    const jobs = Array.from({ length: 20 }, (_, i) => ref(i));
    await a.sync(jobs);
    await b.sync(jobs);
    a.start();
    b.start();
    await sleep(4500);
    expect(overlaps).toBe(0);
    const replicas = new Set(runs.map(r => r.replica));
    expect(replicas).toEqual(new Set(['a', 'b']));
    for (const j of jobs) expect(runs.filter(r => r.job === j.jobKey).length).toBeGreaterThanOrEqual(3);

    // Replica a dies (forced down): b keeps every job ticking.
    await a.close();
    const after = Date.now();
    await sleep(3500);
    for (const j of jobs) {
      const later = runs.filter(r => r.job === j.jobKey && r.at > after + 1000);
      expect(later.length, `${j.jobKey} ran after replica a died`).toBeGreaterThanOrEqual(1);
      expect(later.every(r => r.replica === 'b')).toBe(true);
    }
    expect(overlaps).toBe(0);
    await b.close();
  }, 30_000);

  it('drops a cycle job whose data is not a JobRef (boundary check)', async () => {
    const prefix = `bad-${process.pid}`;
    const seen: string[] = [];
    const s = new BullmqScheduler({
      redisUrl: url,
      prefix,
      intervalMs: 60_000,
      concurrency: 1,
      run: j => (seen.push(j.jobKey), Promise.resolve()),
      store: new RedisStore(redis, prefix),
      log,
    });
    const q = new Queue('cycles', { connection: redis, prefix });
    const eventsConnection = new Redis(url, { maxRetriesPerRequest: null });
    const events = new QueueEvents('cycles', { connection: eventsConnection, prefix });
    await events.waitUntilReady();
    const job = await q.add('cycle', { nope: true });
    s.start();
    const done: unknown = await job.waitUntilFinished(events, 10_000);
    expect(done).toEqual({ status: 'invalid' });
    expect(seen).toEqual([]);
    await events.close();
    await eventsConnection.quit();
    await q.close();
    await s.close();
  });
});
