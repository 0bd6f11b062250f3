import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { HealthReport, JournalEntry } from '../../../src/domain/index.js';

/**
 * `npm run demo` headless: the real command as a separate process, stopped after a short run.
 * 25 s of real time at 40× is about 16 simulated minutes: the faults of the demo scenario have
 * started and should be found.
 */
describe('autopilot demo (headless)', () => {
  it('finds the faults of the demo scenario and serves the dashboard', async () => {
    const p = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'demo',
        '--port',
        '0',
        '--speed',
        '40',
        '--seconds',
        '25',
        '--json',
      ],
      {
        env: { ...process.env, NODE_OPTIONS: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let out = '';
    let dashboardStatus = 0;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const first = out.split('\n').find(l => l.startsWith('{"dashboard"'));
      if (first && dashboardStatus === 0) {
        dashboardStatus = -1;
        const { dashboard } = JSON.parse(first) as { dashboard: string };
        void fetch(dashboard).then(r => (dashboardStatus = r.status));
      }
    });
    const code = await new Promise<number | null>(r => p.on('exit', r));
    expect(code).toBe(0);
    expect(dashboardStatus).toBe(200);
    expect(out).toMatch(/JOB +SCORE +RISK +LAST RESCALE +FIRST ACTION/);
    const last = out
      .trim()
      .split('\n')
      .reverse()
      .find(l => l.startsWith('{"simTime"'));
    const { reports, journal } = JSON.parse(last ?? '{}') as {
      reports: HealthReport[];
      journal: JournalEntry[];
    };
    expect(reports).toHaveLength(12);
    const byName = new Map(reports.map(r => [r.name, r]));
    const rules = (name: string): string[] =>
      (byName.get(name)?.findings ?? []).filter(f => f.state === 'firing').map(f => f.rule);
    // The sink of inventory-sync cannot reach Kafka: a restart loop with the connector named.
    expect(rules('inventory-sync')).toContain('job-restart-loop');
    expect(byName.get('inventory-sync')?.risk).toBe('high');
    // ad-attribution cannot finish a checkpoint in time.
    expect(rules('ad-attribution').some(r => r.startsWith('checkpoint'))).toBe(true);
    // The slow Elasticsearch sink backpressures its pipeline: diagnosed (a finding, firing or
    // already resolved) or, the adaptive scheduler applying updates at once as real Flink does,
    // already fixed by a rescale of the sink (executed; verified once the job has settled).
    const indexer = byName.get('search-indexer');
    const fixed = journal.some(e => e.jobKey === indexer?.id && e.status === 'executed');
    expect((indexer?.findings.length ?? 0) > 0 || fixed).toBe(true);
    // The daemon acts in auto mode: at least one rescale went through the whole protocol and was
    // verified on the job's live parallelism.
    const verified = journal.filter(e => e.status === 'verified');
    expect(verified.length).toBeGreaterThan(0);
    for (const v of verified)
      expect(journal.some(e => e.actionId === v.actionId && e.status === 'executing')).toBe(true);
    // The announced Double-11 peak (midnight in Shanghai = 16:00Z) was pre-scaled from the calendar
    // before it started, to the floor of its window.
    const midnight = Date.parse('2026-11-10T16:00:00Z');
    const prescale = journal.find(
      e => e.jobKey.endsWith('/gmv-dashboard') && e.status === 'executed' && e.action?.origin === 'calendar',
    );
    expect(prescale?.action?.reason).toMatch(/calendar double-11-midnight: pre-scale .*GMV aggregate 2 → 12/);
    expect(prescale?.at).toBeLessThan(midnight);
    // healthy jobs stay green on their own subjects. Log findings (logs-*) are left out: a
    // TaskManager's warnings (GC pauses, Kafka client warnings of another job's connector) count
    // for every job with subtasks on it, and the demo packs twelve jobs onto shared TaskManagers.
    expect(
      byName
        .get('orders-enrichment')
        ?.findings.filter(
          f => (f.subject.kind === 'job' || f.subject.kind === 'vertex') && !f.rule.startsWith('logs-'),
        ),
    ).toEqual([]);
  }, 90_000);
});
