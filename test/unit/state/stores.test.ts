import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { JournalEntry } from '../../../src/domain/index.js';
import { FileStore } from '../../../src/state/file-store.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import { RedisStore } from '../../../src/state/redis-store.js';
import { LockBusyError, type JobState, type Store } from '../../../src/state/store.js';

const job = (key: string, score = 90): JobState => ({
  jobKey: key,
  incarnation: 'a1',
  findings: {
    fp1: {
      fingerprint: 'fp1',
      rule: 'busy',
      subject: { kind: 'vertex', id: 'v', name: 'Map' },
      falseEvaluations: 0,
      firing: true,
      unknown: false,
      firstSeen: 1,
      lastSeen: 2,
      lastEvaluatedAt: 2,
      lastFiringAtBySeverity: { medium: 2 },
    },
  },
  scoreHistory: [{ at: 2, score }],
});
const entry = (actionId: string, status: JournalEntry['status'], at = 1): JournalEntry => ({
  actionId,
  jobKey: 'rest:c/j',
  at,
  status,
});

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'autopilot-store-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const redis = new Redis({ port: inject('redisPort'), host: '127.0.0.1', lazyConnect: true });
afterAll(() => redis.quit());
let prefixes = 0;

describe.each([
  ['memory', (): Store => new MemoryStore()],
  ['file', (): Store => FileStore.open(dir)],
  ['redis', (): Store => new RedisStore(redis, `test-${process.pid}-${++prefixes}`)],
])('%s store contract', (_name, make) => {
  it('stores, lists and deletes job state (copies, not references)', async () => {
    const s = make();
    const state = job('rest:c/a');
    await s.putJob(state);
    state.scoreHistory.push({ at: 3, score: 1 });
    expect((await s.getJob('rest:c/a'))?.scoreHistory).toHaveLength(1);
    expect(await s.listJobKeys()).toEqual(['rest:c/a']);
    await s.deleteJob('rest:c/a');
    expect(await s.getJob('rest:c/a')).toBeUndefined();
    await s.close();
  });

  it('journals (actionId, status) once and reads newest first with filters', async () => {
    const s = make();
    expect(await s.appendJournal(entry('x', 'executing', 1))).toBe(true);
    expect(await s.appendJournal(entry('x', 'executing', 1))).toBe(false);
    expect(await s.appendJournal(entry('x', 'executed', 2))).toBe(true);
    await s.appendJournal({ ...entry('y', 'planned', 3), jobKey: 'rest:c/other' });
    expect((await s.readJournal()).map(e => `${e.actionId}:${e.status}`)).toEqual([
      'y:planned',
      'x:executed',
      'x:executing',
    ]);
    expect(await s.readJournal({ actionId: 'x', limit: 1 })).toHaveLength(1);
    expect((await s.readJournal({ jobKey: 'rest:c/other' })).map(e => e.actionId)).toEqual(['y']);
    await s.close();
  });

  it('records expire', async () => {
    const s = make();
    await s.putRecord('pause', 'fleet', { reason: 'sale' }, 1000);
    await s.putRecord('silence', 's1', { by: 'ops' });
    expect(await s.getRecord('pause', 'fleet', 999)).toEqual({ reason: 'sale' });
    expect(await s.getRecord('pause', 'fleet', 1000)).toBeUndefined();
    expect(await s.listRecords('pause', 1000)).toEqual([]);
    expect((await s.listRecords('silence', 5)).map(r => r.key)).toEqual(['s1']);
    await s.deleteRecord('silence', 's1');
    expect(await s.getRecord('silence', 's1', 5)).toBeUndefined();
    await s.close();
  });

  it('locks are exclusive, released after use, and their fences grow', async () => {
    const s = make();
    const fences: number[] = [];
    await s.withLock('job:a', 1000, async fence => {
      fences.push(fence);
      await expect(s.withLock('job:a', 1000, () => Promise.resolve(1))).rejects.toBeInstanceOf(LockBusyError);
      await s.withLock('job:b', 1000, () => Promise.resolve());
    });
    await s.withLock('job:a', 1000, f => Promise.resolve(fences.push(f)));
    await expect(s.withLock('job:a', 1000, () => Promise.reject(new Error('inner')))).rejects.toThrow(
      'inner',
    );
    await s.withLock('job:a', 1000, f => Promise.resolve(fences.push(f)));
    expect(fences[1]).toBeGreaterThan(fences[0] ?? Infinity);
    expect(fences[2]).toBeGreaterThan(fences[1] ?? Infinity);
    await s.close();
  });
});

describe('redis store', () => {
  it('reports AOF and the eviction policy (the test server runs with AOF and noeviction)', async () => {
    expect(await new RedisStore(redis, 'dur').durability()).toEqual({
      appendonly: true,
      maxmemoryPolicy: 'noeviction',
    });
  });

  it('keeps a lock alive while its holder works past the ttl', async () => {
    const s = new RedisStore(redis, `test-${process.pid}-renew`);
    await s.withLock('slow', 300, async () => {
      await new Promise(r => setTimeout(r, 700));
      await expect(s.withLock('slow', 300, () => Promise.resolve())).rejects.toBeInstanceOf(LockBusyError);
    });
  });

  it('state written by one client is read by another (any replica can run any job)', async () => {
    const other = new Redis({ port: inject('redisPort'), host: '127.0.0.1' });
    const prefix = `test-${process.pid}-shared`;
    await new RedisStore(redis, prefix).putJob(job('rest:c/shared', 42));
    expect((await new RedisStore(other, prefix).getJob('rest:c/shared'))?.scoreHistory).toEqual([
      { at: 2, score: 42 },
    ]);
    await other.quit();
  });
});

describe('file store durability', () => {
  it('keeps jobs, journal and records across a restart', async () => {
    const a = FileStore.open(dir);
    await a.putJob(job('rest:c/a', 77));
    await a.appendJournal(entry('x', 'executed'));
    await a.putRecord('pause', 'job:rest:c/a', { reason: 'deploy' });
    await a.putRecord('cooldown', 'rest:c/a', { until: 5 }, 10);
    await a.close();

    const b = FileStore.open(dir);
    expect(b.problems).toEqual([]);
    expect((await b.getJob('rest:c/a'))?.scoreHistory).toEqual([{ at: 2, score: 77 }]);
    expect((await b.getJob('rest:c/a'))?.findings.fp1?.firing).toBe(true);
    expect(await b.readJournal()).toEqual([entry('x', 'executed')]);
    expect(await b.appendJournal(entry('x', 'executed'))).toBe(false);
    expect(await b.getRecord('pause', 'job:rest:c/a', 0)).toEqual({ reason: 'deploy' });
    expect(await b.getRecord('cooldown', 'rest:c/a', 9)).toEqual({ until: 5 });
    await b.close();
  });

  it('drops a torn last journal line and appends cleanly after it', async () => {
    const a = FileStore.open(dir);
    await a.appendJournal(entry('x', 'executing'));
    await a.close();
    appendFileSync(join(dir, 'journal.jsonl'), '{"actionId":"x","jobKey":"rest:c/j","at":2,"sta');
    const b = FileStore.open(dir);
    expect(b.problems.map(p => p.message)).toEqual([expect.stringMatching(/torn last line/)]);
    await b.appendJournal(entry('x', 'executed'));
    await b.close();
    const lines = readFileSync(join(dir, 'journal.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map(l => (JSON.parse(l) as JournalEntry).status)).toEqual(['executing', 'executed']);
  });

  it('sets a corrupt job file aside and keeps the others', async () => {
    const a = FileStore.open(dir);
    await a.putJob(job('rest:c/good'));
    await a.close();
    writeFileSync(join(dir, 'jobs', 'bad.json'), '{"jobKey": 1');
    const b = FileStore.open(dir);
    expect(b.problems).toHaveLength(1);
    expect(b.problems[0]?.file).toMatch(/bad\.json$/);
    expect(await b.listJobKeys()).toEqual(['rest:c/good']);
    expect(readdirSync(join(dir, 'jobs')).some(n => n.startsWith('bad.json.corrupt-'))).toBe(true);
    await b.close();
  });

  it('refuses a state directory held by another live process', () => {
    writeFileSync(join(dir, 'daemon.lock'), String(process.ppid));
    expect(() => FileStore.open(dir)).toThrow(/in use by process/);
  });

  it('takes over a lock left by a dead process', async () => {
    writeFileSync(join(dir, 'daemon.lock'), '999999999');
    const s = FileStore.open(dir);
    await s.close();
  });

  it('leaves no temp files and refuses writes after close', async () => {
    const s = FileStore.open(dir);
    await Promise.all([1, 2, 3, 4, 5].map(i => s.putJob(job('rest:c/a', i))));
    await s.close();
    expect(readdirSync(join(dir, 'jobs'))).toEqual([`${encodeURIComponent('rest:c/a')}.json`]);
    const reopened = FileStore.open(dir);
    expect((await reopened.getJob('rest:c/a'))?.scoreHistory[0]?.score).toBe(5);
    await reopened.close();
    await expect(reopened.putJob(job('x'))).rejects.toThrow(/closed/);
  });
});
