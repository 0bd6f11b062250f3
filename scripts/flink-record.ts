/**
 * Records the REST API of a real local Flink cluster (scripts/flink-local start + the three canned
 * jobs) as a test fixture: every request the REST source makes (collectSnapshot through the real
 * client, plus the resource-requirements GET of the rescale backend) every few seconds, then ONE
 * PUT /jobs/:jobid/resource-requirements on the cpu job and the two minutes after it, with a 1 s
 * timeline of the job's state and parallelism. Also one PUT (same requirements) on the
 * closed-port job while it is RESTARTING, to record how Flink answers a PUT during a restart.
 *
 * Run through the wrapper: scripts/flink-local [--version V] record [--baseline 120] [--after 120]
 *   [--interval 5] [--out test/fixtures/flink-V/recording.json]
 */
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { FlinkRestClient } from '../src/sources/flink-rest/client.js';
import { httpDispatcher } from '../src/sources/flink-rest/transport.js';
import {
  ExchangeRecorder,
  RECORDING_FORMAT,
  sampleRound,
  timelinePoint,
  type Recording,
  type RecordedExchange,
  type TimelinePoint,
} from '../test/support/flink-recording.js';

const MODES = ['healthy', 'cpu', 'closed-port'] as const;
const MAX_BYTES = 1_400_000;

const { values } = parseArgs({
  options: {
    'run-dir': { type: 'string' },
    version: { type: 'string' },
    baseline: { type: 'string', default: '120' },
    after: { type: 'string', default: '120' },
    interval: { type: 'string', default: '5' },
    out: { type: 'string' },
  },
});
const runDir = values['run-dir'];
const version = values.version;
if (runDir === undefined || version === undefined) throw new Error('--run-dir and --version are required');
const baselineMs = Number(values.baseline) * 1000;
const afterMs = Number(values.after) * 1000;
const intervalMs = Number(values.interval) * 1000;
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const out = values.out ?? join(root, 'test', 'fixtures', `flink-${version}`, 'recording.json');

const baseUrl = readFileSync(join(runDir, 'rest-url'), 'utf8').trim();
const jobIds: Record<string, string> = {};
for (const mode of MODES) {
  const f = join(runDir, 'jobs', mode);
  if (!existsSync(f))
    throw new Error(`no ${mode} job recorded in ${runDir}/jobs (run: scripts/flink-local submit ${mode})`);
  jobIds[mode] = readFileSync(f, 'utf8').trim();
}

const started = Date.now();
const http = httpDispatcher();
const recorder = new ExchangeRecorder(http, baseUrl, () => Date.now() - started);
const recording = recorder.dispatch;
const exchanges = recorder.exchanges;
const bodies = recorder.bodies;

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function round(modes: readonly string[]): Promise<void> {
  await sampleRound(
    baseUrl,
    recording,
    modes.map(m => ({ name: `autopilot-${m}`, jobId: jobIds[m] ?? '' })),
    Date.now(),
  );
}

interface JobWire {
  state: string;
  vertices: { id: string; name: string; parallelism: number; status: string }[];
}

async function getJson<T>(path: string): Promise<T> {
  const res = await http({ method: 'GET', url: `${baseUrl}${path}`, signal: AbortSignal.timeout(5000) });
  if (res.status !== 200) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return JSON.parse(res.text) as T;
}

const point = (jid: string, vid: string): Promise<TimelinePoint> =>
  timelinePoint(baseUrl, http, jid, vid, Date.now() - started, started);

async function main(): Promise<void> {
  const cpu = jobIds.cpu ?? '';
  const closed = jobIds['closed-port'] ?? '';
  const cpuJob = await getJson<JobWire>(`/jobs/${cpu}`);
  const work = cpuJob.vertices.find(v => v.name.startsWith('cpu-work'));
  if (work === undefined) throw new Error(`the cpu job ${cpu} has no cpu-work vertex`);
  process.stderr.write(`recording ${baseUrl} (Flink ${version}) for ${(baselineMs + afterMs) / 1000} s\n`);

  // Phase 1: all three jobs, every interval.
  while (Date.now() - started < baselineMs) {
    const t0 = Date.now();
    await round(MODES);
    await sleep(Math.max(0, intervalMs - (Date.now() - t0)));
  }

  // One PUT on the closed-port job while it restarts: the same requirements (a no-op change).
  let putWhileRestarting: Recording['putWhileRestarting'];
  for (let i = 0; i < 40 && putWhileRestarting === undefined; i++) {
    const st = await getJson<{ state: string }>(`/jobs/${closed}`);
    if (st.state === 'RESTARTING') {
      const client = new FlinkRestClient({ baseUrl, dispatcher: recording, retries: 0 });
      const req = await client.getResourceRequirements(closed);
      const res = await recording({
        method: 'PUT',
        url: `${baseUrl}/jobs/${closed}/resource-requirements`,
        body: JSON.stringify(req),
        signal: AbortSignal.timeout(5000),
      });
      putWhileRestarting = { jobId: closed, stateBefore: st.state, status: res.status };
    } else await sleep(250);
  }

  // Phase 2: ONE PUT on the cpu job (cpu-work 1 -> 2), then a 1 s timeline and full rounds.
  const client = new FlinkRestClient({ baseUrl, dispatcher: recording, retries: 0 });
  const before = await client.getResourceRequirements(cpu);
  const target = Object.fromEntries(
    Object.entries(before).map(([vid, r]) => [
      vid,
      { parallelism: { lowerBound: 1, upperBound: vid === work.id ? 2 : r.parallelism.upperBound } },
    ]),
  );
  const timeline: TimelinePoint[] = [];
  for (let i = 0; i < 5; i++) {
    timeline.push(await point(cpu, work.id));
    await sleep(1000);
  }
  const putAt = Date.now() - started;
  const putRes = await recording({
    method: 'PUT',
    url: `${baseUrl}/jobs/${cpu}/resource-requirements`,
    body: JSON.stringify(target),
    signal: AbortSignal.timeout(5000),
  });
  const end = Date.now() + afterMs;
  let nextRound = Date.now();
  while (Date.now() < end) {
    const t0 = Date.now();
    timeline.push(await point(cpu, work.id));
    if (Date.now() >= nextRound) {
      nextRound += intervalMs;
      await round(['cpu']);
    }
    await sleep(Math.max(0, 1000 - (Date.now() - t0)));
  }

  const rec: Recording = {
    format: RECORDING_FORMAT,
    flinkVersion: version ?? '',
    recordedAt: new Date(started).toISOString(),
    setup: {
      taskManagers: 2,
      slotsPerTaskManager: 4,
      scheduler: 'adaptive',
      checkpointIntervalMs: 10_000,
      restartDelayMs: 2_000,
      metricFetchIntervalMs: 10_000,
      sampleIntervalMs: intervalMs,
      jobs: {
        healthy: { jobId: jobIds.healthy ?? '', sourceRate: 200 },
        cpu: { jobId: cpu, sourceRate: 1500 },
        'closed-port': { jobId: closed, sourceRate: 10 },
      },
    },
    exchanges,
    bodies: {},
    rescale: {
      jobId: cpu,
      vertexId: work.id,
      vertexName: work.name,
      from: work.parallelism,
      to: 2,
      putAt,
      putStatus: putRes.status,
      timeline,
    },
  };
  if (putWhileRestarting !== undefined) rec.putWhileRestarting = putWhileRestarting;
  const text = shrink(rec);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  process.stderr.write(
    `wrote ${out}: ${rec.exchanges.length} exchanges, ${Object.keys(rec.bodies).length} bodies, ${text.length} bytes\n`,
  );
}

/**
 * Serialises with the bodies deduplicated; when over budget, keeps at most `cap` distinct bodies
 * per endpoint template (evenly spread over time), lowering the cap until it fits. The PUTs and
 * anything after the PUT of the rescale are always kept.
 */
function shrink(rec: Recording): string {
  const all = exchanges;
  for (let cap = 400; cap >= 4; cap = Math.floor(cap * 0.7)) {
    const kept = new Set<RecordedExchange>();
    const byTemplate = new Map<string, RecordedExchange[]>();
    for (const ex of all) {
      if (ex.method !== 'GET') {
        kept.add(ex);
        continue;
      }
      const list = byTemplate.get(ex.template) ?? [];
      list.push(ex);
      byTemplate.set(ex.template, list);
    }
    for (const [template, list] of byTemplate) {
      const distinct = [...new Set(list.map(e => e.body))];
      // Exception histories are large (stack traces) and change only when a failure is added.
      const limit = template.startsWith('/jobs/{jobid}/exceptions') ? Math.min(cap, 8) : cap;
      const step = Math.max(1, distinct.length / limit);
      const allowed = new Set<string | undefined>();
      for (let i = 0; i < distinct.length; i += step) allowed.add(distinct[Math.floor(i)]);
      for (const e of list) if (allowed.has(e.body)) kept.add(e);
    }
    rec.exchanges = all.filter(e => kept.has(e));
    const used = new Set(rec.exchanges.map(e => e.body));
    rec.bodies = Object.fromEntries([...bodies].filter(([k]) => used.has(k)));
    const text = JSON.stringify(rec);
    if (text.length <= MAX_BYTES) return `${text}\n`;
  }
  throw new Error('the recording does not fit the size budget');
}

await main();
