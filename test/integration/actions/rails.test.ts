import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSilence, listSilences, pause } from '../../../src/agents/select/policies/fleet-state.js';
import { MODE_ANNOTATION } from '../../../src/agents/select/policies/policy.js';
import { ActionNotFoundError, ActionStateError, ApprovalExpiredError } from '../../../src/actions/errors.js';
import { OutcomeUnknownError } from '../../../src/actions/backend.js';
import { VirtualClock } from '../../../src/domain/index.js';
import { FileStore } from '../../../src/state/file-store.js';
import { boom, conflict, harness, jobRef } from './rails-fixtures.js';

const AUTO = { mode: 'auto' as const };

describe('executor: the protocol in auto mode', () => {
  it('locks, journals executing, re-reads, writes the absolute target, journals executed, starts the cooldown', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'executed' });
    expect(h.backend.writes).toEqual([
      { jobKey: job.jobKey, target: { v1: 4, v2: 2 }, resourceVersion: '1' },
    ]);
    expect((await h.journal(a.id)).map(e => e.status)).toEqual(['executing', 'executed']);
    expect(await h.store.getRecord('cooldown', job.jobKey, h.clock.now())).toMatchObject({ actionId: a.id });
  });

  it('replaying the same action never rescales twice', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    await h.executor.executeAction(a, job);
    h.backend.set(job, { v1: 2, v2: 2 }); // someone scaled it back: the old action must still not run again
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'executed', detail: 'replay' });
    await h.executor.execute(h.report(job), [a, a], job);
    expect(h.backend.writes).toHaveLength(1);
    expect((await h.journal(a.id)).map(e => e.status)).toEqual(['executing', 'executed']);
  });

  it('live = target → noop without a write', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 4, v2: 2 });
    const a = h.action(job, 2, 4);
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'noop' });
    expect(h.backend.writes).toEqual([]);
  });

  it('live ≠ basis or a new incarnation → skipped stale-basis; past expiresAt → expired', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 3, v2: 2 });
    const moved = h.action(job, 2, 4);
    expect(await h.executor.executeAction(moved, job)).toMatchObject({
      status: 'skipped',
      detail: 'stale-basis',
    });
    h.backend.set(job, { v1: 2, v2: 2 }, { incarnation: 'redeployed' });
    const redeployed = h.action(job, 2, 5);
    expect(await h.executor.executeAction(redeployed, job)).toMatchObject({ detail: 'stale-basis' });
    h.backend.set(job, { v1: 2, v2: 2 });
    const old = h.action(job, 2, 6, { expiresAt: h.clock.now() - 1 });
    expect(await h.executor.executeAction(old, job)).toMatchObject({ status: 'expired' });
    expect(h.backend.writes).toEqual([]);
  });

  it('a conflict is journaled failed (conflict) and the old body is never re-sent', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    h.backend.failWith = conflict;
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'failed', detail: 'conflict' });
    h.backend.failWith = undefined;
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'failed', detail: 'replay' });
    expect(h.backend.writes).toEqual([]);
  });

  it('killed between write and journal: the re-run finds the target live, journals executed, never writes twice', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    // The first run journaled `executing` and wrote, then the process died.
    await h.store.appendJournal({
      actionId: a.id,
      jobKey: job.jobKey,
      at: h.clock.now(),
      status: 'executing',
      action: a,
    });
    await h.backend.write(job, a.target, {});
    expect(await h.executor.executeAction(a, job)).toMatchObject({
      status: 'executed',
      detail: 'reconciled: target already live',
    });
    expect(h.backend.writes).toHaveLength(1);
    expect((await h.journal(a.id)).map(e => e.status)).toEqual(['executing', 'executed']);
  });

  it('a write whose answer is lost stays executing; reconcile journals it executed from the requested bounds, without a replan', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    // The request reached Flink (requirements updated, job not restarted yet); the answer was lost.
    h.backend.failWith = () => {
      h.backend.set(job, { v1: 2, v2: 2 }, { requested: { ...a.target } });
      return new OutcomeUnknownError('socket hang up');
    };
    expect(await h.executor.executeAction(a, job)).toMatchObject({
      status: 'deferred',
      detail: 'outcome-unknown',
    });
    expect((await h.journal(a.id)).map(e => e.status)).toEqual(['executing']);
    h.backend.failWith = undefined;
    // The next cycle plans nothing (the planner sees no need); reconcile closes the open action.
    await h.executor.reconcile(job, await h.store.readJournal({ jobKey: job.jobKey }));
    expect((await h.journal(a.id)).map(e => [e.status, e.detail])).toEqual([
      ['executing', expect.stringMatching(/^fence:/) as unknown],
      ['executed', 'reconciled: target already requested'],
    ]);
    expect(h.backend.writes).toHaveLength(0);
  });

  it('killed after executing but before the write: the re-run writes once', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    await h.store.appendJournal({
      actionId: a.id,
      jobKey: job.jobKey,
      at: h.clock.now(),
      status: 'executing',
      action: a,
    });
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'executed' });
    expect(h.backend.writes).toHaveLength(1);
  });

  it('verify: observed parallelism = target → verified, else ineffective', async () => {
    const h = harness(AUTO);
    const good = jobRef('good');
    const bad = jobRef('bad');
    h.backend.set(good, { v1: 2, v2: 2 });
    h.backend.set(bad, { v1: 2, v2: 2 });
    const a = h.action(good, 2, 4);
    const b = h.action(bad, 2, 4);
    await h.executor.executeAction(a, good);
    h.backend.ignoreWrites = true;
    await h.executor.executeAction(b, bad);
    expect(await h.executor.verify(a.id)).toMatchObject({ status: 'verified' });
    expect(await h.executor.verify(b.id, bad)).toMatchObject({
      status: 'ineffective',
      detail: 'observed v1=2,v2=2',
    });
    expect(await h.executor.verify(a.id)).toMatchObject({ status: 'verified', detail: 'replay' });
    await expect(h.executor.verify('nope', good)).rejects.toBeInstanceOf(ActionStateError);
  });
});

describe('verify-after-action: expected vs observed processing rate', () => {
  it('a scale-up whose processing rate did not follow is ineffective, and the vertex is blocked from scaling up again', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4, { expectedRate: { v1: { before: 1000, after: 2000 } } });
    await h.executor.executeAction(a, job);
    // Parallelism 4 is live, but v1 processes 1050/s: 5 % of the expected gain (an external bottleneck).
    expect(await h.executor.verify(a.id, job, { v1: 1050, v2: 900 })).toMatchObject({
      status: 'ineffective',
      detail: 'processing rate did not follow: v1 expected 2000/s, observed 1050/s (was 1000/s)',
    });
    const block = await h.store.getRecord('scale-up-block', job.jobKey, h.clock.now());
    expect(block).toMatchObject({ actionId: a.id, vertices: { v1: 4 } });
    // Blocked for actions.ineffectiveBlock (6h), then gone.
    expect(
      await h.store.getRecord('scale-up-block', job.jobKey, h.clock.now() + 6 * 3_600_000 + 1),
    ).toBeUndefined();
  });

  it('no verdict while the backend says the write is not acted on yet (operator has not observed it)', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    h.backend.ignoreWrites = true;
    await h.executor.executeAction(a, job);
    h.backend.set(job, { v1: 2, v2: 2 }, { settled: false });
    expect(await h.executor.verify(a.id, job)).toEqual({ status: 'executed', detail: 'not settled yet' });
    expect((await h.journal(a.id)).map(e => e.status)).toEqual(['executing', 'executed']);
    h.backend.set(job, { v1: 4, v2: 2 });
    expect(await h.executor.verify(a.id, job)).toMatchObject({ status: 'verified' });
  });

  it('a scale-up whose rate followed (even sub-linearly) is verified', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4, { expectedRate: { v1: { before: 1000, after: 2000 } } });
    await h.executor.executeAction(a, job);
    expect(await h.executor.verify(a.id, job, { v1: 1600 })).toMatchObject({ status: 'verified' });
    expect(await h.store.getRecord('scale-up-block', job.jobKey, h.clock.now())).toBeUndefined();
  });
});

describe('rails: each one stops the write and says why in the journal', () => {
  it.each([
    { kind: 'fleet', scope: { kind: 'fleet' as const } },
    { kind: 'cluster', scope: { kind: 'cluster' as const, cluster: 'c1' } },
    { kind: 'job', scope: { kind: 'job' as const, jobKey: 'rest:c1/orders' } },
  ])('kill switch: a $kind pause → skipped paused:$kind', async ({ kind, scope }) => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    await pause(h.store, scope, { reason: 'incident', author: 'ana' }, h.clock.now());
    const a = h.action(job, 2, 4);
    expect(await h.executor.executeAction(a, job)).toMatchObject({
      status: 'skipped',
      detail: `paused:${kind}`,
    });
    expect(await h.journal(a.id)).toEqual([{ status: 'skipped', detail: `paused:${kind}` }]);
    expect(h.backend.writes).toEqual([]);
  });

  it('kill switch: a pause set after the rails passed still stops the write (checked right before it)', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    h.backend.onRead = () =>
      pause(h.store, { kind: 'fleet' }, { reason: 'red button', author: 'ops' }, h.clock.now()).then(
        () => undefined,
      );
    const a = h.action(job, 2, 4);
    expect(await h.executor.executeAction(a, job)).toMatchObject({
      status: 'skipped',
      detail: 'paused:fleet',
    });
    expect(
      (await h.journal(a.id)).map(e => `${e.status}${e.detail?.startsWith('paused') ? ` ${e.detail}` : ''}`),
    ).toEqual(['executing', 'skipped paused:fleet']);
    expect(h.backend.writes).toEqual([]);
    // The slot it held is given back.
    expect(await h.executor.caps.inFlight(h.clock.now())).toEqual([]);
  });

  it('freeze: reactive actions skipped freeze:<id>; a calendar floor passes where the freeze allows it', async () => {
    const clock = new VirtualClock(Date.parse('2026-11-11T02:00:00Z'));
    const h = harness(
      {
        ...AUTO,
        freezes: [
          {
            id: 'singles-day',
            start: '2026-11-11T00:00',
            end: '2026-11-12T00:00',
            timezone: 'Asia/Shanghai',
            allow: ['calendar'],
          },
        ],
      },
      undefined,
      clock,
    );
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const reactive = h.action(job, 2, 4);
    expect(await h.executor.executeAction(reactive, job)).toMatchObject({
      status: 'skipped',
      detail: 'freeze:singles-day',
    });
    expect(h.backend.writes).toEqual([]);
    const floor = h.action(job, 2, 8, { origin: 'calendar' });
    expect(await h.executor.executeAction(floor, job)).toMatchObject({ status: 'executed' });
    expect(h.backend.writes).toHaveLength(1);
  });

  it('dry-run (the default): skipped dry-run and the backend is never called', async () => {
    const h = harness();
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    await h.executor.execute(h.report(job), [a], job);
    expect(await h.journal(a.id)).toEqual([{ status: 'skipped', detail: 'dry-run' }]);
    expect(h.backend.reads).toBe(0);
    expect(h.backend.writes).toEqual([]);
  });

  it('opt-in: a job annotated off is skipped opt-out even when the fleet is auto', async () => {
    const h = harness(AUTO);
    const job = jobRef('orders', 'c1', { annotations: { [MODE_ANNOTATION]: 'off' } });
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'skipped', detail: 'opt-out' });
    expect(h.backend.writes).toEqual([]);
  });

  it('opt-in by config selector: only the selected jobs act', async () => {
    const h = harness({ policies: [{ id: 'pilot', selector: { name: 'orders*' }, mode: 'auto' }] });
    const inJob = jobRef('orders');
    const outJob = jobRef('billing');
    h.backend.set(inJob, { v1: 2, v2: 2 });
    h.backend.set(outJob, { v1: 2, v2: 2 });
    expect(await h.executor.executeAction(h.action(inJob, 2, 4), inJob)).toMatchObject({
      status: 'executed',
    });
    expect(await h.executor.executeAction(h.action(outJob, 2, 4), outJob)).toMatchObject({
      detail: 'dry-run',
    });
    expect(h.backend.writes.map(w => w.jobKey)).toEqual([inJob.jobKey]);
  });

  it('daily cap per job: the third action within the window is skipped cap:job-daily', async () => {
    const h = harness({ ...AUTO, rails: { maxActionsPerJobPerDay: 2 } });
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    await h.executor.executeAction(h.action(job, 2, 4), job);
    await h.clock.advance(60_000);
    await h.executor.executeAction(h.action(job, 4, 6), job);
    await h.clock.advance(60_000);
    const third = h.action(job, 6, 8);
    expect(await h.executor.executeAction(third, job)).toMatchObject({
      status: 'skipped',
      detail: 'cap:job-daily',
    });
    expect(h.backend.writes).toHaveLength(2);
    // Once the window has passed, the same plan made afresh goes through (a skip is not an outcome).
    await h.clock.advance(24 * 3_600_000);
    const replanned = h.action(job, 6, 8);
    expect(replanned.id).toBe(third.id);
    expect(await h.executor.executeAction(replanned, job)).toMatchObject({ status: 'executed' });
    expect(h.backend.writes).toHaveLength(3);
  });

  it('cluster cap: one more in-flight action in the cluster is skipped cap:cluster; other clusters go on', async () => {
    const h = harness({ ...AUTO, rails: { maxConcurrentPerCluster: 2 } });
    const jobs = ['a', 'b', 'c'].map(n => jobRef(n, 'c1'));
    const other = jobRef('d', 'c2');
    for (const j of [...jobs, other]) h.backend.set(j, { v1: 2, v2: 2 });
    const [a, b, c] = jobs.map(j => h.action(j, 2, 4));
    expect(await h.executor.executeAction(a!, jobs[0]!)).toMatchObject({ status: 'executed' });
    expect(await h.executor.executeAction(b!, jobs[1]!)).toMatchObject({ status: 'executed' });
    expect(await h.executor.executeAction(c!, jobs[2]!)).toMatchObject({
      status: 'skipped',
      detail: 'cap:cluster',
    });
    expect(await h.executor.executeAction(h.action(other, 2, 4), other)).toMatchObject({
      status: 'executed',
    });
    expect(h.backend.writes.map(w => w.jobKey)).toEqual([jobs[0]!.jobKey, jobs[1]!.jobKey, other.jobKey]);
    // Verification ends an action's flight: the skipped one may go on its next plan.
    await h.executor.verify(a!.id);
    expect(await h.executor.executeAction(c!, jobs[2]!)).toMatchObject({ status: 'executed' });
  });

  it('fleet cap: one more in-flight action in the fleet is skipped cap:fleet; in-flight slots time out', async () => {
    const h = harness({ ...AUTO, rails: { maxConcurrentFleet: 2 } });
    const jobs = ['a', 'b', 'c'].map((n, i) => jobRef(n, `c${i}`));
    for (const j of jobs) h.backend.set(j, { v1: 2, v2: 2 });
    const actions = jobs.map(j => h.action(j, 2, 4));
    const results = [];
    for (const [i, j] of jobs.entries()) results.push(await h.executor.executeAction(actions[i]!, j));
    expect(results.map(r => r.detail ?? r.status)).toEqual([
      expect.stringContaining('target'),
      expect.stringContaining('target'),
      'cap:fleet',
    ]);
    expect(await h.journal(actions[2]!.id)).toEqual([{ status: 'skipped', detail: 'cap:fleet' }]);
    expect(h.backend.writes).toHaveLength(2);
    await h.clock.advance(10 * 60_000); // rails.inFlightFor
    expect(await h.executor.executeAction(actions[2]!, jobs[2]!)).toMatchObject({ status: 'executed' });
  });

  it('circuit breaker: 3 failed writes in a cluster force it to approve mode, with one alert', async () => {
    const h = harness(AUTO);
    const jobs = ['a', 'b', 'c', 'd'].map(n => jobRef(n, 'c1'));
    const elsewhere = jobRef('e', 'c2');
    for (const j of [...jobs, elsewhere]) h.backend.set(j, { v1: 2, v2: 2 });
    h.backend.failWith = boom;
    for (const j of jobs.slice(0, 3)) {
      expect(await h.executor.executeAction(h.action(j, 2, 4), j)).toMatchObject({
        status: 'failed',
        detail: 'write-error:HTTP_503',
      });
    }
    h.backend.failWith = undefined;
    expect(h.circuitEvents).toHaveLength(1);
    expect(h.circuitEvents[0]?.cluster).toBe('c1');
    expect(h.circuitEvents[0]?.reason).toContain('3 of the last 3 actions in cluster c1');
    const held = h.action(jobs[3]!, 2, 4);
    expect(await h.executor.executeAction(held, jobs[3]!)).toMatchObject({
      status: 'waiting',
      detail: 'circuit-open:c1',
    });
    expect(await h.journal(held.id)).toEqual([
      { status: 'planned', detail: 'awaiting-approval:circuit-open:c1' },
    ]);
    expect(await h.executor.executeAction(h.action(elsewhere, 2, 4), elsewhere)).toMatchObject({
      status: 'executed',
    });
    expect(h.backend.writes.map(w => w.jobKey)).toEqual([elsewhere.jobKey]);
    // A person may still approve it; the alert is not repeated.
    expect(await h.executor.approve(held.id, 'ana')).toMatchObject({ status: 'executed' });
    expect(h.circuitEvents).toHaveLength(1);
  });

  it('circuit breaker: executed actions followed by a job failure within 10 minutes count too', async () => {
    const h = harness(AUTO);
    const jobs = ['a', 'b', 'c', 'd'].map(n => jobRef(n, 'c1'));
    for (const j of jobs) h.backend.set(j, { v1: 2, v2: 2 });
    for (const j of jobs.slice(0, 3)) {
      await h.executor.executeAction(h.action(j, 2, 4), j);
      await h.clock.advance(5 * 60_000);
      await h.executor.execute(h.report(j, 'FAILED'), [], j);
    }
    expect(h.circuitEvents.map(e => e.cluster)).toEqual(['c1']);
    expect(await h.executor.executeAction(h.action(jobs[3]!, 2, 4), jobs[3]!)).toMatchObject({
      detail: 'circuit-open:c1',
    });
    // A failure long after an action does not count.
    const h2 = harness(AUTO);
    for (const j of jobs) h2.backend.set(j, { v1: 2, v2: 2 });
    for (const j of jobs.slice(0, 3)) {
      await h2.executor.executeAction(h2.action(j, 2, 4), j);
      await h2.clock.advance(11 * 60_000);
      await h2.executor.execute(h2.report(j, 'FAILED'), [], j);
    }
    expect(h2.circuitEvents).toEqual([]);
  });
});

describe('approvals', () => {
  it('approve mode: planned and waiting (an approval record with the TTL); approve runs it', async () => {
    const h = harness({ mode: 'approve' });
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    expect(await h.executor.executeAction(a, job)).toMatchObject({
      status: 'waiting',
      detail: 'approve-mode',
    });
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'waiting' });
    expect(await h.store.getRecord('approval', a.id, h.clock.now())).toMatchObject({
      state: 'pending',
      expiresAt: h.clock.now() + 15 * 60_000,
    });
    expect(h.backend.writes).toEqual([]);
    expect(await h.executor.approve(a.id, 'ana')).toEqual({ status: 'executed', detail: 'target v1=4,v2=2' });
    expect((await h.journal(a.id)).map(e => e.status)).toEqual([
      'planned',
      'approved',
      'executing',
      'executed',
    ]);
    await expect(h.executor.approve(a.id, 'ana')).rejects.toBeInstanceOf(ActionStateError);
    expect(h.backend.writes).toHaveLength(1);
  });

  it('an approval after its TTL is refused (expired) and nothing is written', async () => {
    const h = harness({ mode: 'approve' });
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    await h.executor.executeAction(a, job);
    await h.clock.advance(15 * 60_000);
    await expect(h.executor.approve(a.id, 'ana')).rejects.toBeInstanceOf(ApprovalExpiredError);
    expect(await h.journal(a.id)).toEqual([
      { status: 'planned', detail: 'awaiting-approval:approve-mode' },
      { status: 'expired', detail: 'approval-ttl' },
    ]);
    expect(h.backend.writes).toEqual([]);
    await expect(h.executor.approve('unknown', 'ana')).rejects.toBeInstanceOf(ActionNotFoundError);
  });

  it('an approved action re-runs step 3: the job moved while it waited → stale-basis', async () => {
    const h = harness({ mode: 'approve' });
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    await h.executor.executeAction(a, job);
    h.backend.set(job, { v1: 3, v2: 2 });
    expect(await h.executor.approve(a.id, 'ana')).toEqual({ status: 'skipped', detail: 'stale-basis' });
    expect(h.backend.writes).toEqual([]);
  });

  it('an approved action still meets the kill switch', async () => {
    const h = harness({ mode: 'approve' });
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    await h.executor.executeAction(a, job);
    await pause(
      h.store,
      { kind: 'cluster', cluster: 'c1' },
      { reason: 'upgrade', author: 'bo' },
      h.clock.now(),
    );
    expect(await h.executor.approve(a.id, 'ana')).toEqual({ status: 'skipped', detail: 'paused:cluster' });
    expect(h.backend.writes).toEqual([]);
  });

  it('reject: journaled skipped with who; the same plan is not asked again', async () => {
    const h = harness({ mode: 'approve' });
    const job = jobRef('orders');
    h.backend.set(job, { v1: 2, v2: 2 });
    const a = h.action(job, 2, 4);
    await h.executor.executeAction(a, job);
    expect(await h.executor.reject(a.id, 'bo', 'not during the sale')).toEqual({ status: 'skipped' });
    expect(await h.executor.executeAction(a, job)).toMatchObject({ status: 'skipped', detail: 'rejected' });
    expect((await h.journal(a.id)).at(-1)).toEqual({ status: 'skipped', detail: 'rejected:bo' });
    expect(h.backend.writes).toEqual([]);
  });
});

describe('durable across a restart (file store)', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('pauses, silences, pending approvals and an open circuit survive; the approval still works after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'autopilot-rails-'));
    dirs.push(dir);
    const clock = new VirtualClock();
    const config = { mode: 'approve' as const };
    const job = jobRef('orders', 'c1');
    const paused = jobRef('paused', 'c9');
    const failing = ['x', 'y', 'z'].map(n => jobRef(n, 'c2'));

    const first = harness(config, FileStore.open(dir), clock);
    first.backend.set(job, { v1: 2, v2: 2 });
    const a = first.action(job, 2, 4);
    expect(await first.executor.executeAction(a, job)).toMatchObject({ status: 'waiting' });
    await pause(
      first.store,
      { kind: 'cluster', cluster: 'c9' },
      { reason: 'upgrade', author: 'bo' },
      clock.now(),
    );
    const silence = await createSilence(
      first.store,
      {
        matchers: [{ name: 'rule', value: 'lag-high' }],
        author: 'ana',
        comment: 'backfill',
        endsAt: clock.now() + 3_600_000,
      },
      clock.now(),
    );
    for (const j of failing) {
      await first.executor.breaker.record(
        j.cluster,
        { actionId: j.name, jobKey: j.jobKey, at: clock.now(), result: 'failed' },
        clock.now(),
      );
    }
    expect(first.circuitEvents).toHaveLength(1);
    await first.store.close();

    await clock.advance(60_000);
    const second = harness({ ...config, mode: 'auto' }, FileStore.open(dir), clock);
    second.backend.set(job, { v1: 2, v2: 2 });
    second.backend.set(paused, { v1: 2, v2: 2 });
    second.backend.set(failing[0]!, { v1: 2, v2: 2 });
    expect((await listSilences(second.store, clock.now())).map(s => s.id)).toEqual([silence.id]);
    expect(await second.executor.executeAction(second.action(paused, 2, 4), paused)).toMatchObject({
      detail: 'paused:cluster',
    });
    expect(await second.executor.executeAction(second.action(failing[0]!, 2, 4), failing[0]!)).toMatchObject({
      status: 'waiting',
      detail: 'circuit-open:c2',
    });
    expect(await second.executor.approve(a.id, 'ana')).toMatchObject({ status: 'executed' });
    expect(second.backend.writes.map(w => w.jobKey)).toEqual([job.jobKey]);
    expect(second.circuitEvents).toEqual([]);
    await second.store.close();
  });
});
