import type { JobModel, VertexState } from '../job-model.js';
import type { MetricMap } from '../metric-store.js';
import { aggregatedResponse } from './cluster-routes.js';
import { findJob, isResponse, type SurfaceContext } from './context.js';
import { metricCollection, metricString, parseIndexFilter } from './format.js';
import { errors, json, type SimResponse } from './http.js';
import type { Router } from './router.js';

function withVertex(
  ctx: SurfaceContext,
  jobId: string | undefined,
  vertexId: string | undefined,
  fn: (job: JobModel, v: VertexState, subtasks: MetricMap[]) => SimResponse,
): SimResponse {
  const job = findJob(ctx, jobId);
  if (isResponse(job)) return job;
  const v = job.vertices.find(x => x.id === vertexId);
  if (v === undefined) return errors(404, `Job vertex ${vertexId ?? ''} not found`);
  const subtasks = ctx.store.read(ctx.now()).jobs.get(job.id)?.subtasks.get(v.id) ?? [];
  return fn(job, v, subtasks);
}

function level(ratio: number): 'ok' | 'low' | 'high' {
  return ratio <= 0.1 ? 'ok' : ratio <= 0.5 ? 'low' : 'high';
}

function num(m: MetricMap, id: string): number {
  const v = m.get(id);
  return typeof v === 'number' ? v : 0;
}

/**
 * Flink's AggregatedTaskDetailsInfo: per field, min/max/avg/sum and percentiles over the subtasks
 * (booleans such as `read-bytes-complete` are not aggregated).
 */
function statsOver(rows: readonly Record<string, unknown>[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  const keys = [...new Set(rows.flatMap(r => Object.keys(r)))];
  for (const k of keys) {
    const values = rows.map(r => r[k]).filter((x): x is number => typeof x === 'number');
    if (values.length === 0) continue;
    const sorted = [...values].sort((a, b) => a - b);
    const pct = (p: number): number =>
      sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    const sum = values.reduce((a, b) => a + b, 0);
    out[k] = {
      min: sorted[0] ?? 0,
      max: sorted[sorted.length - 1] ?? 0,
      avg: Math.round(sum / values.length),
      sum,
      median: pct(0.5),
      p25: pct(0.25),
      p75: pct(0.75),
      p95: pct(0.95),
    };
  }
  return out;
}

export function registerMetricRoutes(router: Router, ctx: SurfaceContext): void {
  const { cluster } = ctx;
  router.add('GET', '/jobs/metrics', req => {
    const view = ctx.store.read(ctx.now());
    const filter = req.query.get('jobs');
    const ids = filter === null ? [...view.jobs.keys()] : filter.split(',');
    const maps = ids.map(id => view.jobs.get(id)?.job).filter((m): m is MetricMap => m !== undefined);
    return aggregatedResponse(ctx, maps, req.query);
  });
  router.add('GET', '/jobs/:jobid/metrics', (req, p) => {
    const job = findJob(ctx, p.jobid);
    if (isResponse(job)) return job;
    return json(metricCollection(ctx.store.read(ctx.now()).jobs.get(job.id)?.job, req.query));
  });
  router.add('GET', '/jobs/:jobid/vertices/:vertexid', (_r, p) =>
    withVertex(ctx, p.jobid, p.vertexid, (job, v, subtasks) => {
      const now = ctx.now();
      const infos = v.subtasks.map((s, i) => {
        const tm = cluster.taskManagers[s.tm];
        const m = subtasks[i];
        const info: Record<string, unknown> = {
          subtask: i,
          status: 'RUNNING',
          attempt: job.attempt - 1,
        };
        // Deprecated duplicates real Flink still sends: `host` (1.x only) and `start_time`.
        if (cluster.features.subtaskHost) info.host = tm?.host ?? '';
        return {
          ...info,
          endpoint: tm === undefined ? '' : `${tm.host}:${tm.dataPort}`,
          'start-time': job.runningSince,
          'end-time': -1,
          duration: now - job.runningSince,
          metrics: {
            'read-bytes': m === undefined ? 0 : num(m, 'numBytesIn'),
            'read-bytes-complete': true,
            'write-bytes': m === undefined ? 0 : num(m, 'numBytesOut'),
            'write-bytes-complete': true,
            'read-records': m === undefined ? 0 : num(m, 'numRecordsIn'),
            'read-records-complete': true,
            'write-records': m === undefined ? 0 : num(m, 'numRecordsOut'),
            'write-records-complete': true,
            'accumulated-backpressured-time': m === undefined ? 0 : num(m, 'accumulateBackPressuredTimeMs'),
            'accumulated-idle-time': m === undefined ? 0 : num(m, 'accumulateIdleTimeMs'),
            'accumulated-busy-time': m === undefined ? 0 : num(m, 'accumulateBusyTimeMs'),
          },
          'taskmanager-id': tm?.resourceId ?? '',
          'status-duration': {
            CREATED: 1,
            SCHEDULED: 5,
            DEPLOYING: 400,
            INITIALIZING: 300,
            RUNNING: now - job.runningSince,
          },
          start_time: job.runningSince,
        };
      });
      return json({
        id: v.id,
        name: v.spec.name,
        parallelism: v.parallelism,
        maxParallelism: v.maxParallelism,
        now,
        subtasks: infos,
        aggregated: {
          metrics: statsOver(infos.map(s => s.metrics)),
          'status-duration': statsOver(infos.map(s => s['status-duration'])),
        },
      });
    }),
  );
  router.add('GET', '/jobs/:jobid/vertices/:vertexid/metrics', (req, p) =>
    withVertex(ctx, p.jobid, p.vertexid, (_job, _v, subtasks) => {
      const flat: MetricMap = new Map();
      subtasks.forEach((m, i) => {
        for (const [id, value] of m) flat.set(`${i}.${id}`, value);
      });
      return json(metricCollection(flat, req.query));
    }),
  );
  router.add('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', (req, p) =>
    withVertex(ctx, p.jobid, p.vertexid, (_job, _v, subtasks) => {
      const picked = parseIndexFilter(req.query.get('subtasks'), subtasks.length)
        .map(i => subtasks[i])
        .filter((m): m is MetricMap => m !== undefined);
      return aggregatedResponse(ctx, picked, req.query);
    }),
  );
  router.add('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/:subtaskindex/metrics', (req, p) =>
    withVertex(ctx, p.jobid, p.vertexid, (_job, v, subtasks) => {
      const i = Number(p.subtaskindex);
      if (!Number.isInteger(i) || i < 0 || i >= v.parallelism)
        return errors(400, `Invalid subtask index ${p.subtaskindex ?? ''}`);
      return json(metricCollection(subtasks[i], req.query));
    }),
  );
  router.add('GET', '/jobs/:jobid/vertices/:vertexid/backpressure', (_r, p) =>
    withVertex(ctx, p.jobid, p.vertexid, (_job, _v, subtasks) => {
      if (subtasks.length === 0) return json({ status: 'deprecated' });
      const infos = subtasks.map((m, i) => {
        const ratio = num(m, 'backPressuredTimeMsPerSecond') / 1000;
        return {
          subtask: i,
          'attempt-number': 0,
          backpressureLevel: level(ratio),
          ratio,
          idleRatio: num(m, 'idleTimeMsPerSecond') / 1000,
          busyRatio: num(m, 'busyTimeMsPerSecond') / 1000,
          'other-concurrent-attempts': [],
        };
      });
      const max = Math.max(...infos.map(s => s.ratio));
      return json({
        status: 'ok',
        backpressureLevel: level(max),
        'end-timestamp': ctx.store.read(ctx.now()).fetchedAt,
        subtasks: infos,
      });
    }),
  );
  router.add('GET', '/jobs/:jobid/vertices/:vertexid/watermarks', (_r, p) =>
    withVertex(ctx, p.jobid, p.vertexid, (_job, v, subtasks) =>
      json(
        subtasks.map((m, i) => {
          const op = [...m.keys()].find(k => k.endsWith('.currentOutputWatermark'));
          const value = v.isSource
            ? op === undefined
              ? undefined
              : m.get(op)
            : m.get('currentInputWatermark');
          return {
            id: `${i}.currentInputWatermark`,
            value: metricString(
              'currentInputWatermark',
              typeof value === 'number' ? value : -9223372036854775808,
            ),
          };
        }),
      ),
    ),
  );
}
