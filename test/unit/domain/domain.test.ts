import { describe, expect, it } from 'vitest';
import {
  fingerprint,
  k8sIncarnation,
  k8sJobKey,
  plannedActionId,
  RealClock,
  restJobKey,
  scopeOfFact,
  subjectsOfScope,
  summarize,
  VirtualClock,
  type HealthReport,
  type JobFacts,
} from '../../../src/domain/index.js';

describe('identity', () => {
  it('builds stable job keys and incarnations', () => {
    expect(restJobKey('prod-eu', 'orders')).toBe('rest:prod-eu/orders');
    expect(k8sJobKey('streaming', 'orders')).toBe('k8s:streaming/orders');
    expect(k8sIncarnation('abc', 7)).toBe('abc@7');
    expect(k8sIncarnation('abc', undefined)).toBe('abc');
  });

  it('fingerprints shared subjects without the job key', () => {
    expect(fingerprint('rest:c/a', 'busy', { kind: 'vertex', id: 'v1' })).toBe('rest:c/a|busy|vertex|v1');
    expect(fingerprint('rest:c/a', 'gc', { kind: 'taskmanager', id: 'tm1' })).toBe(
      fingerprint('rest:c/b', 'gc', { kind: 'taskmanager', id: 'tm1' }),
    );
  });
});

describe('planned action id', () => {
  const base = {
    kind: 'rescale' as const,
    jobKey: 'rest:c/a',
    incarnation: 'j1',
    basis: { parallelism: { a: 2, b: 4 }, observedAt: 1 },
    target: { a: 4, b: 4 },
  };
  it('is the same for the same action, whatever the key order or observation time', () => {
    expect(plannedActionId(base)).toBe(
      plannedActionId({
        ...base,
        basis: { parallelism: { b: 4, a: 2 }, observedAt: 99 },
        target: { b: 4, a: 4 },
      }),
    );
  });
  it('differs when the basis, target, incarnation or resource version differ', () => {
    const id = plannedActionId(base);
    expect(plannedActionId({ ...base, target: { a: 6, b: 4 } })).not.toBe(id);
    expect(plannedActionId({ ...base, basis: { parallelism: { a: 3, b: 4 }, observedAt: 1 } })).not.toBe(id);
    expect(plannedActionId({ ...base, incarnation: 'j2' })).not.toBe(id);
    expect(plannedActionId({ ...base, basis: { ...base.basis, resourceVersion: '7' } })).not.toBe(id);
  });
});

describe('facts helpers', () => {
  it('maps scopes to subjects and fact names to scopes', () => {
    const sf = (kind: 'cluster' | 'job' | 'source' | 'vertex' | 'taskmanager' | 'node') => ({
      subject: { kind, id: kind, name: kind },
      facts: {},
    });
    const facts: JobFacts = {
      jobKey: 'j',
      observedAt: 0,
      cluster: sf('cluster'),
      job: sf('job'),
      sources: [sf('source')],
      vertices: [sf('vertex')],
      taskmanagers: [sf('taskmanager')],
      nodes: [sf('node')],
    };
    for (const kind of ['cluster', 'job', 'source', 'vertex', 'taskmanager', 'node'] as const) {
      expect(subjectsOfScope(facts, kind).map(s => s.subject.kind)).toEqual([kind]);
    }
    expect(scopeOfFact('vertex.busyRatio.max')).toBe('vertex');
    expect(scopeOfFact('logs.x')).toBeUndefined();
  });

  it('summaries drop the evidence only', () => {
    const report = { findings: [{ rule: 'r', evidence: { x: 1 } }] } as unknown as HealthReport;
    expect(summarize(report).findings).toEqual([{ rule: 'r' }]);
  });
});

describe('clocks', () => {
  it('the virtual clock wakes sleepers in time order and only when advanced', async () => {
    const clock = new VirtualClock(1000);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    await clock.advance(50);
    expect(woke).toEqual([]);
    await clock.advance(500);
    expect(woke).toEqual(['a@1100', 'b@1300']);
    expect(clock.now()).toBe(1550);
    clock.set(5000);
    expect(clock.now()).toBe(5000);
  });

  it('the virtual clock honours abort signals', async () => {
    const clock = new VirtualClock(0);
    const ac = new AbortController();
    const p = clock.sleep(100, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    await expect(clock.sleep(1, ac.signal)).rejects.toThrow('stop');
    await clock.advance(200);
  });

  it('the real clock sleeps and can be aborted', async () => {
    const clock = new RealClock();
    const t0 = clock.now();
    await clock.sleep(5);
    expect(clock.now()).toBeGreaterThanOrEqual(t0);
    const ac = new AbortController();
    const p = clock.sleep(10_000, ac.signal);
    ac.abort();
    await expect(p).rejects.toThrow();
    await expect(clock.sleep(1, ac.signal)).rejects.toThrow();
  });
});
