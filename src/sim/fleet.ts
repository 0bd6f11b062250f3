import type { Clock } from '../domain/clock.js';
import { hash32, hexId, noiseAt } from './random.js';
import { AGGREGATIONS, aggregate, metricCollection, requestedIds, type Aggregation } from './rest/format.js';
import { errors, json, type SimRequest, type SimResponse } from './rest/http.js';
import { Router } from './rest/router.js';
import { metricOperatorName } from './topology.js';
import { featuresOf, type SimFlinkVersion } from './versions.js';
import type { MetricMap } from './metric-store.js';

/**
 * Fleet mode: tens of thousands of jobs over a thousand JobManager origins, cheap enough that
 * the simulator is never the bottleneck of a fleet benchmark. Unlike the scenario model, nothing
 * is stepped or stored: every value is a closed-form function of (seed, origin, job, time),
 * computed on request, with the metric store's 10 s fetch granularity and 60 s averages taken
 * from the (smooth) input profile. Jobs have no restarts or faults; a seeded share of them is
 * overloaded (back-pressure, lag), skewed or GC-heavy so the fleet has findings.
 */

export interface FleetOptions {
  jobs: number;
  origins: number;
  seed: number;
  clock: Clock;
  flinkVersion?: SimFlinkVersion;
}

interface FleetVertex {
  id: string;
  name: string;
  parallelism: number;
  capacity: number;
  selectivity: number;
  skew: number;
}

export interface FleetJob {
  id: string;
  name: string;
  origin: number;
  vertices: FleetVertex[];
  baseRate: number;
  phase: number;
  condition: 'healthy' | 'overloaded' | 'skewed' | 'gc';
  startTime: number;
}

export interface FleetTaskManager {
  id: string;
  host: string;
  port: number;
  gc: boolean;
}

const SLOTS_PER_TM = 4;
const FETCH_MS = 10_000;
const CHECKPOINT_MS = 1200;
const SHAPES = [
  ['Source: Kafka events', 'Sink: Kafka out'],
  ['Source: Kafka events', 'Window Aggregate', 'Sink: Kafka out'],
  ['Source: Kafka events', 'Map', 'Keyed Process', 'Sink: JDBC'],
];

export class Fleet {
  readonly perOrigin: number;
  private readonly router = new Router();
  private origin = 0;
  private readonly start: number;
  private readonly features;

  constructor(readonly options: FleetOptions) {
    this.perOrigin = Math.ceil(options.jobs / options.origins);
    this.start = options.clock.now();
    this.features = featuresOf(options.flinkVersion ?? '1.20');
    this.routes();
  }

  jobsOf(origin: number): FleetJob[] {
    const count = Math.max(0, Math.min(this.perOrigin, this.options.jobs - origin * this.perOrigin));
    return Array.from({ length: count }, (_, k) => this.job(origin, k));
  }

  job(origin: number, k: number): FleetJob {
    const h = hash32(`${this.options.seed}/${origin}/${k}`);
    const shape = SHAPES[h % SHAPES.length] ?? [];
    const p = 1 + ((h >>> 4) % 4);
    const roll = (h >>> 8) % 100;
    const condition = roll < 5 ? 'overloaded' : roll < 8 ? 'skewed' : roll < 10 ? 'gc' : 'healthy';
    const name = `job-${origin}-${k}`;
    return {
      id: hexId(this.options.seed, 'fleet', origin, k),
      name,
      origin,
      baseRate: 500 + ((h >>> 12) % 5000),
      phase: ((h >>> 16) % 360) * (Math.PI / 180),
      condition,
      startTime: this.start - ((h >>> 20) % 86_400) * 1000,
      vertices: shape.map((vname, i) => ({
        id: hexId(this.options.seed, 'fleet-vertex', origin, k, i),
        name: vname,
        parallelism: p,
        capacity: i === 0 ? 20_000 : condition === 'overloaded' && i === shape.length - 2 ? 900 : 4000,
        selectivity: 1,
        skew: condition === 'skewed' && i === 1 ? 0.7 : 0,
      })),
    };
  }

  /** Input rate averaged over the 60 s before `t` (six samples of a smooth curve + noise). */
  private rate(job: FleetJob, t: number): number {
    let sum = 0;
    for (let i = 0; i < 6; i++) {
      const s = t - i * 10_000;
      sum += job.baseRate * (1 + 0.3 * Math.sin((2 * Math.PI * s) / 86_400_000 + job.phase));
    }
    return (sum / 6) * (0.97 + 0.06 * noiseAt(job.id, Math.floor(t / FETCH_MS)));
  }

  /** Metric maps per subtask of every vertex at the last metric fetch before `now`. */
  subtaskMetrics(job: FleetJob, now: number): MetricMap[][] {
    const t = Math.floor(now / FETCH_MS) * FETCH_MS;
    const arriving = this.rate(job, t);
    let through = arriving;
    for (const v of job.vertices.slice(1))
      through = Math.min(through, v.capacity * v.parallelism * (1 - v.skew * 0.5));
    const throttled = through < arriving;
    const bottleneck = throttled
      ? job.vertices.findIndex((v, i) => i > 0 && v.capacity * v.parallelism * (1 - v.skew * 0.5) <= through)
      : -1;
    const lagSeconds = throttled ? 600 : 0;
    return job.vertices.map((v, i) => {
      const isSource = i === 0;
      return Array.from({ length: v.parallelism }, (_, s) => {
        const share =
          v.skew > 0
            ? s === 0
              ? v.skew + (1 - v.skew) / v.parallelism
              : (1 - v.skew) / v.parallelism
            : 1 / v.parallelism;
        const rec = through * share;
        const busy = Math.min(1, rec / v.capacity);
        const bp = throttled && i < bottleneck ? 1 - busy : 0;
        const m: MetricMap = new Map();
        m.set('busyTimeMsPerSecond', busy * 1000);
        m.set('backPressuredTimeMsPerSecond', Math.round(bp * 1000));
        m.set('idleTimeMsPerSecond', Math.round((1 - busy - bp) * 1000));
        m.set('numRecordsInPerSecond', isSource ? 0 : rec);
        m.set('numRecordsOutPerSecond', rec * v.selectivity);
        m.set('numRecordsIn', isSource ? 0 : Math.floor(rec * ((now - job.startTime) / 1000)));
        m.set('numRecordsOut', Math.floor(rec * ((now - job.startTime) / 1000)));
        if (!isSource) m.set('currentInputWatermark', t - 5000 - lagSeconds * 1000);
        const op = metricOperatorName(v.name);
        m.set(`${op}.numRecordsInPerSecond`, rec);
        if (isSource) {
          m.set(`${op}.pendingRecords`, Math.round(((arriving - through) * lagSeconds) / v.parallelism));
          m.set(`${op}.currentEmitEventTimeLag`, 150 + lagSeconds * 1000);
          m.set(`${op}.currentOutputWatermark`, t - 5000 - lagSeconds * 1000);
        }
        return m;
      });
    });
  }

  private readonly tmCache = new Map<number, FleetTaskManager[]>();

  /** The TaskManagers of an origin (fixed for the life of the fleet). */
  taskManagers(origin: number): FleetTaskManager[] {
    const hit = this.tmCache.get(origin);
    if (hit !== undefined) return hit;
    const tms = this.buildTaskManagers(origin);
    this.tmCache.set(origin, tms);
    return tms;
  }

  /** Where subtask `s` of the job in slot `k` of its origin runs (as `/jobs/:id/vertices/:v` says). */
  taskManagerOf(origin: number, k: number, s: number): FleetTaskManager | undefined {
    const tms = this.taskManagers(origin);
    return tms[(k + s) % tms.length];
  }

  private buildTaskManagers(origin: number): FleetTaskManager[] {
    const jobs = this.jobsOf(origin);
    const slots = jobs.reduce((a, j) => a + Math.max(...j.vertices.map(v => v.parallelism)), 0);
    const gc = jobs.some(j => j.condition === 'gc');
    return Array.from({ length: Math.max(1, Math.ceil(slots / SLOTS_PER_TM)) }, (_, i) => {
      const host = `10.${Math.floor(origin / 250)}.${origin % 250}.${i + 10}`;
      return {
        id: `${host}:6122-${hexId(this.options.seed, 'fleet-tm', origin, i).slice(0, 6)}`,
        host,
        port: 6122,
        gc: gc && i === 0,
      };
    });
  }

  /** A TaskManager's Status.* metrics (constant; a GC-heavy one on origins with a `gc` job). */
  taskManagerMetrics(tm: FleetTaskManager): MetricMap {
    const m: MetricMap = new Map<string, number>([
      ['Status.JVM.Memory.Heap.Used', tm.gc ? 2_000_000_000 : 900_000_000],
      ['Status.JVM.Memory.Heap.Max', 2_147_483_648],
      ['Status.JVM.CPU.Load', 0.4],
      ['Status.JVM.GarbageCollector.G1_Young_Generation.Time', 10_000],
      ['Status.JVM.GarbageCollector.G1_Old_Generation.Time', 0],
    ]);
    if (this.features.gcAllMetrics)
      m.set('Status.JVM.GarbageCollector.All.TimeMsPerSecond', tm.gc ? 420 : 12);
    return m;
  }

  /** The job's last completed checkpoint at `now` (one a minute since start, 1.2 s each). */
  checkpointAt(job: FleetJob, now: number): { count: number; triggeredAt: number } {
    const count = Math.floor((now - job.startTime) / 60_000);
    return { count, triggeredAt: job.startTime + count * 60_000 };
  }

  /** JobManager-side job metrics (the `jobmanager_job` scope) at `now`. */
  jobMetrics(job: FleetJob, now: number): MetricMap {
    const { count, triggeredAt } = this.checkpointAt(job, now);
    const m: MetricMap = new Map<string, number>([
      ['numRestarts', 0],
      ['numberOfCompletedCheckpoints', count],
      ['numberOfFailedCheckpoints', 0],
      ['numberOfInProgressCheckpoints', 0],
      ['totalNumberOfCheckpoints', count],
    ]);
    if (count > 0) {
      m.set('lastCompletedCheckpointId', count);
      m.set('lastCheckpointDuration', CHECKPOINT_MS);
      m.set('lastCheckpointFullSize', 268_435_456);
      m.set('lastCheckpointSize', 8_388_608);
      m.set('lastCheckpointCompletedTimestamp', triggeredAt + CHECKPOINT_MS);
    }
    return m;
  }

  private aggs(query: URLSearchParams): readonly Aggregation[] | SimResponse {
    const text = query.get('agg');
    if (text === null) return this.features.aggSkew ? AGGREGATIONS : AGGREGATIONS.filter(a => a !== 'skew');
    const out = text.split(',').map(a => a.trim()) as Aggregation[];
    if (out.some(a => !AGGREGATIONS.includes(a) || (a === 'skew' && !this.features.aggSkew)))
      return errors(400, `Cannot resolve query parameter (agg) from value "${text}".`);
    return out;
  }

  private findJob(id: string | undefined): FleetJob | undefined {
    return this.jobsOf(this.origin).find(j => j.id === id);
  }

  private routes(): void {
    const r = this.router;
    const f = this.features;
    const now = (): number => this.options.clock.now();
    const gone = (id: string | undefined): SimResponse => errors(404, `Job ${id ?? ''} not found`);
    r.add('GET', '/config', () =>
      json({
        'refresh-interval': 3000,
        'timezone-name': 'UTC',
        'timezone-offset': 0,
        'flink-version': f.versionString,
        'flink-revision': 'fleet',
        features: { 'web-submit': false, 'web-cancel': false, 'web-rescale': false, 'web-history': false },
      }),
    );
    r.add('GET', '/overview', () => {
      const tms = this.taskManagers(this.origin);
      const used = this.jobsOf(this.origin).reduce(
        (a, j) => a + Math.max(...j.vertices.map(v => v.parallelism)),
        0,
      );
      return json({
        taskmanagers: tms.length,
        'slots-total': tms.length * SLOTS_PER_TM,
        'slots-available': tms.length * SLOTS_PER_TM - used,
        'slots-free-and-blocked': 0,
        'taskmanagers-blocked': 0,
        'jobs-running': this.jobsOf(this.origin).length,
        'jobs-finished': 0,
        'jobs-cancelled': 0,
        'jobs-failed': 0,
        'flink-version': f.versionString,
        'flink-commit': 'fleet',
      });
    });
    r.add('GET', '/jobs/overview', () =>
      json({
        jobs: this.jobsOf(this.origin).map(j => ({
          jid: j.id,
          name: j.name,
          state: 'RUNNING',
          'start-time': j.startTime,
          'end-time': -1,
          duration: now() - j.startTime,
          'last-modification': j.startTime,
          tasks: { total: j.vertices.reduce((a, v) => a + v.parallelism, 0) },
        })),
      }),
    );
    r.add('GET', '/jobs/:jobid', (_q, p) => {
      const j = this.findJob(p.jobid);
      if (j === undefined) return gone(p.jobid);
      return json({
        jid: j.id,
        name: j.name,
        isStoppable: false,
        state: 'RUNNING',
        'start-time': j.startTime,
        'end-time': -1,
        duration: now() - j.startTime,
        maxParallelism: 128,
        now: now(),
        timestamps: { CREATED: j.startTime, RUNNING: j.startTime },
        vertices: j.vertices.map(v => ({
          id: v.id,
          name: v.name,
          parallelism: v.parallelism,
          maxParallelism: 128,
          status: 'RUNNING',
          'start-time': j.startTime,
          'end-time': -1,
          duration: now() - j.startTime,
          tasks: { RUNNING: v.parallelism },
          metrics: {},
        })),
        'status-counts': { RUNNING: j.vertices.length },
        plan: {
          jid: j.id,
          name: j.name,
          type: 'STREAMING',
          nodes: j.vertices.map((v, i) => ({
            id: v.id,
            parallelism: v.parallelism,
            operator: '',
            operator_strategy: '',
            description: v.name,
            inputs:
              i === 0
                ? []
                : [
                    {
                      num: 0,
                      id: j.vertices[i - 1]?.id ?? '',
                      ship_strategy: 'HASH',
                      exchange: 'pipelined_bounded',
                    },
                  ],
            optimizer_properties: {},
          })),
        },
      });
    });
    r.add('GET', '/jobs/:jobid/jobmanager/config', (_q, p) =>
      this.findJob(p.jobid) === undefined
        ? gone(p.jobid)
        : json([{ key: 'jobmanager.scheduler', value: 'adaptive' }]),
    );
    r.add('GET', '/jobs/:jobid/vertices/:vertexid', (_q, p) => {
      const j = this.findJob(p.jobid);
      const v = j?.vertices.find(x => x.id === p.vertexid);
      if (j === undefined || v === undefined) return gone(p.jobid);
      const tms = this.taskManagers(this.origin);
      const slot = this.jobsOf(this.origin).indexOf(j);
      return json({
        id: v.id,
        name: v.name,
        parallelism: v.parallelism,
        maxParallelism: 128,
        now: now(),
        subtasks: Array.from({ length: v.parallelism }, (_, s) => ({
          subtask: s,
          status: 'RUNNING',
          attempt: 0,
          'taskmanager-id': tms[(slot + s) % tms.length]?.id ?? '',
        })),
      });
    });
    r.add('GET', '/jobs/:jobid/vertices/:vertexid/subtasks/metrics', (q, p) => {
      const j = this.findJob(p.jobid);
      const vi = j?.vertices.findIndex(x => x.id === p.vertexid) ?? -1;
      if (j === undefined || vi < 0) return gone(p.jobid);
      const maps = this.subtaskMetrics(j, now())[vi] ?? [];
      const ids = requestedIds(q.query);
      if (ids === undefined) return json([...(maps[0]?.keys() ?? [])].map(id => ({ id })));
      const aggs = this.aggs(q.query);
      if (!Array.isArray(aggs)) return aggs as SimResponse;
      return json(
        ids.flatMap(id => {
          const values = maps.map(m => m.get(id)).filter((x): x is number => typeof x === 'number');
          return values.length === 0 ? [] : [{ id, ...aggregate(values, aggs) }];
        }),
      );
    });
    r.add('GET', '/jobs/:jobid/checkpoints', (_q, p) => {
      const j = this.findJob(p.jobid);
      if (j === undefined) return gone(p.jobid);
      const { count: n, triggeredAt: last } = this.checkpointAt(j, now());
      const cp = {
        className: 'completed',
        id: n,
        status: 'COMPLETED',
        is_savepoint: false,
        trigger_timestamp: last,
        latest_ack_timestamp: last + CHECKPOINT_MS,
        end_to_end_duration: CHECKPOINT_MS,
        state_size: 268_435_456,
        checkpointed_size: 8_388_608,
      };
      return json({
        counts: { restored: 0, total: n, in_progress: 0, completed: n, failed: 0 },
        summary: {},
        latest: { completed: n > 0 ? cp : null, savepoint: null, failed: null, restored: null },
        history: n > 0 ? [cp] : [],
      });
    });
    r.add('GET', '/jobs/:jobid/checkpoints/config', (_q, p) =>
      this.findJob(p.jobid) === undefined
        ? gone(p.jobid)
        : json({
            mode: 'EXACTLY_ONCE',
            interval: 60_000,
            timeout: 600_000,
            min_pause: 0,
            max_concurrent: 1,
            unaligned_checkpoints: false,
            tolerable_failed_checkpoints: 0,
          }),
    );
    r.add('GET', '/jobs/:jobid/exceptions', (_q, p) =>
      this.findJob(p.jobid) === undefined
        ? gone(p.jobid)
        : json({ exceptionHistory: { entries: [], truncated: false } }),
    );
    r.add('GET', '/jobs/:jobid/metrics', (q, p) => {
      const j = this.findJob(p.jobid);
      return j === undefined ? gone(p.jobid) : json(metricCollection(this.jobMetrics(j, now()), q.query));
    });
    r.add('GET', '/taskmanagers', () =>
      json({
        taskmanagers: this.taskManagers(this.origin).map(tm => ({
          id: tm.id,
          path: `pekko.tcp://flink@${tm.host}:${tm.port}/user/rpc/taskmanager_0`,
          dataPort: 6121,
          jmxPort: -1,
          timeSinceLastHeartbeat: now() - 3000,
          slotsNumber: SLOTS_PER_TM,
          freeSlots: 0,
        })),
      }),
    );
    r.add('GET', '/taskmanagers/:taskmanagerid/metrics', (q, p) => {
      const tm = this.taskManagers(this.origin).find(t => t.id === p.taskmanagerid);
      if (tm === undefined) return errors(404, 'Could not find TaskManager');
      return json(metricCollection(this.taskManagerMetrics(tm), q.query));
    });
    r.add('GET', '/jobmanager/metrics', q => {
      const tms = this.taskManagers(this.origin);
      return json(
        metricCollection(
          new Map<string, number>([
            ['taskSlotsTotal', tms.length * SLOTS_PER_TM],
            ['taskSlotsAvailable', 0],
            ['numRegisteredTaskManagers', tms.length],
            ['numPendingTaskManagers', 0],
          ]),
          q.query,
        ),
      );
    });
  }

  /** One request to origin `origin` (0-based). */
  handle(origin: number, req: SimRequest): SimResponse {
    this.origin = origin;
    return this.router.handle(req);
  }

  /** Prometheus exposition of one origin (Flink reporter names, kube-style labels). */
  prometheus(origin: number): string {
    const lines: string[] = ['# TYPE flink_taskmanager_job_task_busyTimeMsPerSecond gauge'];
    const back: string[] = ['# TYPE flink_taskmanager_job_task_backPressuredTimeMsPerSecond gauge'];
    const now = this.options.clock.now();
    for (const j of this.jobsOf(origin)) {
      this.subtaskMetrics(j, now).forEach((subtasks, vi) => {
        const v = j.vertices[vi];
        subtasks.forEach((m, s) => {
          const labels = `job_id="${j.id}",job_name="${j.name}",task_id="${v?.id ?? ''}",task_name="${(v?.name ?? '').replace(/[^a-zA-Z0-9:_]/g, '_')}",subtask_index="${s}",namespace="fleet",pod="origin-${origin}-taskmanager-1-1",node="node-${origin}"`;
          lines.push(
            `flink_taskmanager_job_task_busyTimeMsPerSecond{${labels}} ${Number(m.get('busyTimeMsPerSecond'))}`,
          );
          back.push(
            `flink_taskmanager_job_task_backPressuredTimeMsPerSecond{${labels}} ${Number(m.get('backPressuredTimeMsPerSecond'))}`,
          );
        });
      });
    }
    return `${[...lines, ...back].join('\n')}\n`;
  }
}
