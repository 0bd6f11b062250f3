import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../../src/telemetry/metrics.js';
import { fleet, report } from '../../integration/api/fixtures.js';

async function text(m: ReturnType<typeof createMetrics>): Promise<string> {
  return m.registry.metrics();
}

describe('self-observability metrics', () => {
  it('observes stage durations, lag and failures in seconds on its own registry', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.observeCycle({ collect: 120, detect: 3, analyze: 4, select: 2, execute: 0, store: 1 });
    m.observeLag(2500);
    m.observeFailure('collect');
    m.observeFailure('collect');
    m.setRulesLoaded(42);
    const out = await text(m);
    expect(out).toContain('autopilot_cycle_stage_duration_seconds_sum{stage="collect"} 0.12');
    expect(out).toContain('autopilot_cycle_stage_duration_seconds_count{stage="store"} 1');
    expect(out).toContain('autopilot_cycle_lag_seconds_bucket{le="2.5"} 1');
    expect(out).toContain('autopilot_cycle_lag_seconds_bucket{le="1"} 0');
    expect(out).toContain('autopilot_cycle_failures_total{stage="collect"} 2');
    expect(out).toContain('autopilot_cycle_failures_total{stage="execute"} 0');
    expect(out).toContain('autopilot_rules_loaded 42');
    expect(out).not.toContain('process_cpu');
  });

  it('counts jobs by risk including unobservable, and paused jobs', async () => {
    const m = createMetrics({ defaultMetrics: false });
    m.observeReports(fleet());
    const out = await text(m);
    expect(out).toContain('autopilot_jobs_tracked 7');
    for (const [risk, n] of [
      ['high', 2],
      ['medium', 2],
      ['low', 2],
      ['unobservable', 1],
    ] as const)
      expect(out).toContain(`autopilot_jobs_by_risk{risk="${risk}"} ${n}`);
    expect(out).toContain('autopilot_jobs_paused 1');
  });

  it('exports per-job scores for the worst jobs only, up to the cap, and says how many were left out', async () => {
    const m = createMetrics({ defaultMetrics: false, maxJobSeries: 2 });
    m.observeReports(fleet());
    let out = await text(m);
    const series = out.split('\n').filter(l => l.startsWith('autopilot_job_health_score{'));
    expect(series).toEqual([
      'autopilot_job_health_score{job="rest:prod/payments"} 46',
      'autopilot_job_health_score{job="rest:prod/fraud"} 58',
    ]);
    // 6 jobs have a score (ghost is unobservable: no series, not counted as omitted).
    expect(out).toContain('autopilot_job_health_score_omitted 4');

    // A job that disappears loses its series.
    m.observeReports([report({ name: 'orders', score: 95, risk: 'low' })]);
    out = await text(m);
    expect(out.split('\n').filter(l => l.startsWith('autopilot_job_health_score{'))).toEqual([
      'autopilot_job_health_score{job="rest:prod/orders"} 95',
    ]);
    expect(out).toContain('autopilot_job_health_score_omitted 0');
  });

  it('reads reports at scrape time from the callback', async () => {
    let reports = fleet();
    const m = createMetrics({ defaultMetrics: false, reports: () => reports });
    expect(await text(m)).toContain('autopilot_jobs_tracked 7');
    reports = reports.slice(0, 3);
    await new Promise<void>(r => setImmediate(r));
    expect(await text(m)).toContain('autopilot_jobs_tracked 3');
  });

  it('adds default process metrics with the autopilot_ prefix, per registry', async () => {
    const a = createMetrics();
    const b = createMetrics();
    expect(await text(a)).toContain('autopilot_process_cpu_user_seconds_total');
    expect(await text(b)).toContain('autopilot_nodejs_heap_size_total_bytes');
  });
});
