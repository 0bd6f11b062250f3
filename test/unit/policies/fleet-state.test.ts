import { describe, expect, it } from 'vitest';
import {
  activePause,
  createSilence,
  deleteSilence,
  inhibited,
  isSilenced,
  listPauses,
  listSilences,
  pause,
  resume,
  silencedBy,
  type Silence,
} from '../../../src/agents/select/policies/fleet-state.js';
import type { Finding, JobRef } from '../../../src/domain/index.js';
import { MemoryStore } from '../../../src/state/memory-store.js';

const job: JobRef = {
  jobKey: 'k8s:shop/orders',
  incarnation: 'a1',
  origin: 'k8s',
  cluster: 'eu1',
  namespace: 'shop',
  name: 'orders',
  flinkJobId: 'a1',
  restUrl: 'http://jm:8081',
  labels: { team: 'checkout' },
};

function finding(over: Partial<Finding> & Pick<Finding, 'rule'>): Finding {
  const subject = over.subject ?? { kind: 'job' as const, id: job.jobKey, name: 'orders' };
  return {
    fingerprint: `${job.jobKey}|${over.rule}|${subject.kind}|${subject.id}`,
    ruleVersion: 1,
    category: 'lag',
    severity: 'medium',
    diagnosis: false,
    subject,
    title: over.rule,
    evidence: {},
    action: { kind: 'advice', text: '' },
    state: 'firing',
    firstSeen: 0,
    lastSeen: 0,
    ...over,
  };
}

const silence = (matchers: Silence['matchers'], startsAt = 0, endsAt = 1000): Silence => ({
  id: 's',
  matchers,
  author: 'ana',
  comment: 'deploy',
  createdAt: 0,
  startsAt,
  endsAt,
});

describe('pauses', () => {
  it('pause, list, find the widest in force, resume; expiry by until', async () => {
    const store = new MemoryStore();
    await pause(store, { kind: 'job', jobKey: job.jobKey }, { reason: 'deploy', author: 'ana' }, 10);
    await pause(
      store,
      { kind: 'cluster', cluster: 'eu1' },
      { reason: 'upgrade', author: 'bo', until: 100 },
      10,
    );
    expect((await activePause(store, job, 50))?.key).toBe('cluster:eu1');
    expect((await activePause(store, job, 100))?.key).toBe(`job:${job.jobKey}`);
    expect((await listPauses(store, 50)).map(p => [p.key, p.record.reason, p.record.author])).toEqual([
      ['cluster:eu1', 'upgrade', 'bo'],
      [`job:${job.jobKey}`, 'deploy', 'ana'],
    ]);
    expect(await resume(store, { kind: 'job', jobKey: job.jobKey }, 50)).toBe(true);
    expect(await resume(store, { kind: 'job', jobKey: job.jobKey }, 50)).toBe(false);
    expect(await activePause(store, job, 100)).toBeUndefined();
  });

  it('a pause record written by older code (reason only) still pauses', async () => {
    const store = new MemoryStore();
    await store.putRecord('pause', 'fleet', { reason: 'sale' });
    const p = await activePause(store, job, 0);
    expect(p?.scope).toEqual({ kind: 'fleet' });
    expect(p?.record.reason).toBe('sale');
  });
});

describe('silences', () => {
  const lag = finding({ rule: 'lag-high' });
  const rows: [string, Silence['matchers'], boolean][] = [
    ['rule =', [{ name: 'rule', op: '=', value: 'lag-high' }], true],
    ['rule = other', [{ name: 'rule', op: '=', value: 'gc' }], false],
    [
      'category and label',
      [
        { name: 'category', op: '=', value: 'lag' },
        { name: 'label:team', op: '=', value: 'checkout' },
      ],
      true,
    ],
    [
      'one matcher fails',
      [
        { name: 'category', op: '=', value: 'lag' },
        { name: 'label:team', op: '=', value: 'pay' },
      ],
      false,
    ],
    ['regex on jobKey', [{ name: 'jobKey', op: '=~', value: 'k8s:shop/.*' }], true],
    ['regex is anchored', [{ name: 'jobKey', op: '=~', value: 'shop' }], false],
    ['negative', [{ name: 'cluster', op: '!=', value: 'us1' }], true],
    ['negative regex', [{ name: 'namespace', op: '!~', value: 'sh.p' }], false],
    [
      'subject',
      [
        { name: 'subject', op: '=', value: job.jobKey },
        { name: 'subjectKind', op: '=', value: 'job' },
      ],
      true,
    ],
    ['missing label is empty', [{ name: 'label:env', op: '=', value: '' }], true],
  ];
  it.each(rows)('%s', (_t, matchers, expected) => {
    expect(isSilenced(lag, job, [silence(matchers)], 500)).toBe(expected);
  });

  it('only between startsAt and endsAt', () => {
    const s = [silence([{ name: 'rule', op: '=', value: 'lag-high' }], 100, 200)];
    expect(isSilenced(lag, job, s, 99)).toBe(false);
    expect(silencedBy(lag, job, s, 100)?.id).toBe('s');
    expect(isSilenced(lag, job, s, 200)).toBe(false);
  });

  it('are kept in the store until they end, validated, and can be deleted', async () => {
    const store = new MemoryStore();
    const s = await createSilence(
      store,
      { matchers: [{ name: 'rule', value: 'lag-high' }], author: 'ana', comment: 'backfill', endsAt: 1000 },
      10,
    );
    expect(s).toMatchObject({
      startsAt: 10,
      endsAt: 1000,
      matchers: [{ name: 'rule', op: '=', value: 'lag-high' }],
    });
    expect((await listSilences(store, 999)).map(x => x.id)).toEqual([s.id]);
    expect(await listSilences(store, 1000)).toEqual([]);
    await expect(
      createSilence(
        store,
        { matchers: [{ name: 'rule', op: '=~', value: '(' }], author: 'a', comment: 'c', endsAt: 5 },
        10,
      ),
    ).rejects.toThrow();
    expect(await deleteSilence(store, s.id, 20)).toBe(true);
    expect(await listSilences(store, 20)).toEqual([]);
  });
});

describe('inhibition', () => {
  it('a firing cluster-scope finding mutes the job’s other findings, not itself', () => {
    const cluster = finding({
      rule: 'no-slots',
      subject: { kind: 'cluster', id: 'eu1', name: 'eu1' },
      category: 'resources',
    });
    const lag = finding({ rule: 'lag-high' });
    const bp = finding({ rule: 'backpressure', subject: { kind: 'vertex', id: 'v1', name: 'map' } });
    const out = inhibited([lag, cluster, bp]);
    expect([...out.entries()]).toEqual([
      [lag.fingerprint, cluster.fingerprint],
      [bp.fingerprint, cluster.fingerprint],
    ]);
  });

  it('a firing job availability finding inhibits too; resolved or vertex ones do not', () => {
    const down = finding({ rule: 'restarting', category: 'availability' });
    const lag = finding({ rule: 'lag-high' });
    expect(inhibited([down, lag]).get(lag.fingerprint)).toBe(down.fingerprint);
    expect(inhibited([{ ...down, state: 'resolved' }, lag]).size).toBe(0);
    const vertexAvail = finding({
      rule: 'x',
      category: 'availability',
      subject: { kind: 'vertex', id: 'v', name: 'v' },
    });
    expect(inhibited([vertexAvail, lag]).size).toBe(0);
  });
});
