import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { JobRef } from '../../src/domain/identity.js';
import { FlinkRestClient } from '../../src/sources/flink-rest/client.js';
import { collectSnapshot } from '../../src/sources/flink-rest/snapshot.js';
import * as wire from '../../src/sources/flink-rest/schemas.js';
import type { Dispatcher } from '../../src/sources/flink-rest/transport.js';

/**
 * Recordings of real Flink's REST API (scripts/flink-record.ts, committed under
 * test/fixtures/flink-<version>/recording.json): the exchanges in time order, response bodies
 * stored once by content hash, and the timeline around one PUT of resource requirements.
 */

export const RECORDING_FORMAT = 1;

export interface RecordedExchange {
  /** ms since the recording started. */
  t: number;
  method: string;
  path: string;
  template: string;
  status: number;
  /** Key into `bodies`. */
  body?: string;
  requestBody?: unknown;
}

export interface TimelinePoint {
  t: number;
  state: string;
  parallelism?: Record<string, number>;
  vertexStatus?: Record<string, string>;
  /** `timestamps.RUNNING` of the job, ms since the recording started. */
  runningSince?: number;
  busyAvg?: number;
  inRateSum?: number;
  error?: string;
}

export interface Recording {
  format: number;
  flinkVersion: string;
  recordedAt: string;
  setup: {
    taskManagers: number;
    slotsPerTaskManager: number;
    scheduler: string;
    checkpointIntervalMs: number;
    restartDelayMs: number;
    metricFetchIntervalMs: number;
    sampleIntervalMs: number;
    jobs: Record<'healthy' | 'cpu' | 'closed-port', { jobId: string; sourceRate: number }>;
  };
  exchanges: RecordedExchange[];
  bodies: Record<string, unknown>;
  rescale: {
    jobId: string;
    vertexId: string;
    vertexName: string;
    from: number;
    to: number;
    putAt: number;
    putStatus: number;
    timeline: TimelinePoint[];
  };
  putWhileRestarting?: { jobId: string; stateBefore: string; status: number };
}

const recordingSchema = z.object({
  format: z.literal(RECORDING_FORMAT),
  flinkVersion: z.string(),
  recordedAt: z.string(),
  setup: z.object({
    taskManagers: z.number(),
    slotsPerTaskManager: z.number(),
    scheduler: z.string(),
    checkpointIntervalMs: z.number(),
    restartDelayMs: z.number(),
    metricFetchIntervalMs: z.number(),
    sampleIntervalMs: z.number(),
    jobs: z.object({
      healthy: z.object({ jobId: z.string(), sourceRate: z.number() }),
      cpu: z.object({ jobId: z.string(), sourceRate: z.number() }),
      'closed-port': z.object({ jobId: z.string(), sourceRate: z.number() }),
    }),
  }),
  exchanges: z.array(
    z.object({
      t: z.number(),
      method: z.string(),
      path: z.string(),
      template: z.string(),
      status: z.number(),
      body: z.string().optional(),
      requestBody: z.unknown().optional(),
    }),
  ),
  bodies: z.record(z.string(), z.unknown()),
  rescale: z.object({
    jobId: z.string(),
    vertexId: z.string(),
    vertexName: z.string(),
    from: z.number(),
    to: z.number(),
    putAt: z.number(),
    putStatus: z.number(),
    timeline: z.array(
      z.object({
        t: z.number(),
        state: z.string(),
        parallelism: z.record(z.string(), z.number()).optional(),
        vertexStatus: z.record(z.string(), z.string()).optional(),
        runningSince: z.number().optional(),
        busyAvg: z.number().optional(),
        inRateSum: z.number().optional(),
        error: z.string().optional(),
      }),
    ),
  }),
  putWhileRestarting: z.object({ jobId: z.string(), stateBefore: z.string(), status: z.number() }).optional(),
});

/** `/jobs/<32 hex>/vertices/<32 hex>/…?get=…` → `/jobs/{jobid}/vertices/{vertexid}/…?get`. */
export function templateOf(path: string): string {
  const [p = '', query] = path.split('?', 2);
  const t = p
    .replace(/^\/jobs\/[0-9a-f]{32}/, '/jobs/{jobid}')
    .replace(/\/vertices\/[0-9a-f]{32}/, '/vertices/{vertexid}')
    .replace(/^\/taskmanagers\/[^/]+/, '/taskmanagers/{taskmanagerid}');
  if (query === undefined) return t;
  const names = [...new URLSearchParams(query).keys()].sort();
  return `${t}?${names.join('&')}`;
}

/** The REST source's zod schema of each endpoint template it asks for (see templateOf). */
export const SOURCE_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  '/config': wire.dashboardConfigSchema,
  '/overview': wire.clusterOverviewSchema,
  '/jobs/overview': wire.jobsOverviewSchema,
  '/jobs/{jobid}': wire.jobDetailsSchema,
  '/jobs/{jobid}/jobmanager/config': wire.configEntriesSchema,
  '/jobs/{jobid}/vertices/{vertexid}': wire.vertexDetailsSchema,
  '/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics': wire.metricNamesSchema,
  '/jobs/{jobid}/vertices/{vertexid}/subtasks/metrics?agg&get': wire.aggregatedMetricsSchema,
  '/jobs/{jobid}/checkpoints': wire.checkpointingSchema,
  '/jobs/{jobid}/checkpoints/config': wire.checkpointConfigSchema,
  '/jobs/{jobid}/exceptions?maxExceptions': wire.exceptionsSchema,
  '/jobs/{jobid}/metrics?get': wire.metricValuesSchema,
  '/taskmanagers': wire.taskManagersSchema,
  '/taskmanagers/{taskmanagerid}/metrics?get': wire.metricValuesSchema,
  '/jobmanager/metrics?get': wire.metricValuesSchema,
  '/jobs/{jobid}/resource-requirements': wire.resourceRequirementsSchema,
  '/jobmanager/logs': wire.logListSchema,
  '/taskmanagers/{taskmanagerid}/logs': wire.logListSchema,
};

export const FIXTURES_DIR = join(import.meta.dirname, '..', 'fixtures');

/** The recorded versions present under test/fixtures (flink-<version>/recording.json). */
export const RECORDED_VERSIONS = ['1.20.3', '2.3.0'] as const;

export function recordingPath(version: string): string {
  return join(FIXTURES_DIR, `flink-${version}`, 'recording.json');
}

/** Loads and checks a recording; undefined when the file is absent. */
export function loadRecording(version: string): Recording | undefined {
  const file = recordingPath(version);
  if (!existsSync(file)) return undefined;
  const parsed = recordingSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) throw new Error(`${file}: not a recording: ${parsed.error.message}`);
  return parsed.data;
}

/** The body of an exchange (parsed JSON), or undefined. */
export function bodyOf(rec: Recording, ex: RecordedExchange): unknown {
  return ex.body === undefined ? undefined : rec.bodies[ex.body];
}

/**
 * Keeps every exchange that goes through `inner` (bodies once per content), with `t` from
 * `clock()`: the recorder uses it against real Flink, the recordings test against the simulator.
 */
export class ExchangeRecorder {
  readonly exchanges: RecordedExchange[] = [];
  readonly bodies = new Map<string, unknown>();

  constructor(
    private readonly inner: Dispatcher,
    private readonly baseUrl: string,
    private readonly clock: () => number,
  ) {}

  readonly dispatch: Dispatcher = async req => {
    const res = await this.inner(req);
    const path = req.url.slice(this.baseUrl.length);
    const ex: RecordedExchange = {
      t: this.clock(),
      method: req.method,
      path,
      template: templateOf(path),
      status: res.status,
    };
    const body = this.keep(res.text);
    if (body !== undefined) ex.body = body;
    if (req.body !== undefined) ex.requestBody = JSON.parse(req.body) as unknown;
    this.exchanges.push(ex);
    return res;
  };

  private keep(text: string): string | undefined {
    if (text === '') return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = text;
    }
    const key = createHash('sha1').update(text).digest('hex').slice(0, 12);
    if (!this.bodies.has(key)) this.bodies.set(key, parsed);
    return key;
  }
}

function refOf(baseUrl: string, name: string, jid: string): JobRef {
  return {
    jobKey: `rest:local/${name}`,
    incarnation: jid,
    origin: 'rest',
    cluster: 'local',
    name,
    flinkJobId: jid,
    restUrl: baseUrl,
    labels: {},
  };
}

/**
 * One sampling round: a fresh client (no caches across rounds), the job list, then per job every
 * request the REST source makes (collectSnapshot) plus the rescale backend's requirements GET.
 */
export async function sampleRound(
  baseUrl: string,
  dispatcher: Dispatcher,
  jobs: readonly { name: string; jobId: string }[],
  now: number,
): Promise<void> {
  const client = new FlinkRestClient({ baseUrl, dispatcher, clusterCacheMs: 0, retries: 0 });
  await client.jobsOverview().catch(() => undefined);
  await Promise.all(
    jobs.map(async j => {
      await collectSnapshot(client, refOf(baseUrl, j.name, j.jobId), now).catch(() => undefined);
      await client.getResourceRequirements(j.jobId).catch(() => undefined);
    }),
  );
}

interface JobWire {
  state: string;
  vertices: { id: string; name: string; parallelism: number; status: string }[];
  timestamps?: Record<string, number>;
}

async function getJson<T>(dispatcher: Dispatcher, url: string): Promise<T> {
  const res = await dispatcher({ method: 'GET', url, signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return JSON.parse(res.text) as T;
}

/**
 * The job's state and parallelism and one vertex's busy time and input rate, as a timeline point.
 * `started` is the epoch ms the timeline counts from.
 */
export async function timelinePoint(
  baseUrl: string,
  dispatcher: Dispatcher,
  jid: string,
  vertexId: string,
  t: number,
  started: number,
): Promise<TimelinePoint> {
  try {
    const job = await getJson<JobWire>(dispatcher, `${baseUrl}/jobs/${jid}`);
    const point: TimelinePoint = {
      t,
      state: job.state,
      parallelism: Object.fromEntries(job.vertices.map(v => [v.id, v.parallelism])),
      vertexStatus: Object.fromEntries(job.vertices.map(v => [v.id, v.status])),
    };
    if (job.timestamps?.RUNNING !== undefined) point.runningSince = job.timestamps.RUNNING - started;
    const rows = await getJson<{ id: string; avg?: number; sum?: number }[]>(
      dispatcher,
      `${baseUrl}/jobs/${jid}/vertices/${vertexId}/subtasks/metrics?get=busyTimeMsPerSecond,numRecordsInPerSecond&agg=avg,sum`,
    ).catch(() => []);
    for (const r of rows) {
      if (r.id === 'busyTimeMsPerSecond' && r.avg !== undefined) point.busyAvg = r.avg;
      if (r.id === 'numRecordsInPerSecond' && r.sum !== undefined) point.inRateSum = r.sum;
    }
    return point;
  } catch (err) {
    return { t, state: 'UNREADABLE', error: err instanceof Error ? err.message : String(err) };
  }
}
