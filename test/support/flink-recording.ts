import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

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
