import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../src/domain/clock.js';
import { Simulator } from '../../../src/sim/server.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { httpDispatcher } from '../../../src/sources/flink-rest/transport.js';
import {
  ExchangeRecorder,
  RECORDED_VERSIONS,
  RECORDING_FORMAT,
  SOURCE_SCHEMAS,
  bodyOf,
  loadRecording,
  recordingPath,
  sampleRound,
  timelinePoint,
  type Recording,
  type TimelinePoint,
} from '../../support/flink-recording.js';
import { diffShapes, shapeLines } from '../../support/json-shape.js';
import { recordedScenario, simVersionOf } from '../../support/recorded-scenario.js';

/**
 * The simulator held to recordings of real Flink (scripts/flink-local record; committed under
 * test/fixtures/flink-<version>/recording.json). The recorded run is replayed on the simulator in
 * virtual time with the same cluster, jobs, sampling and the same PUT of resource requirements;
 * then:
 *
 * - every recorded response parses with the REST source's schemas;
 * - per endpoint, the simulator sends the same fields with the same JSON types as real Flink;
 * - dynamics at the same load: busy and back-pressure ratios within ±0.1; the rescale's reaction
 *   and downtime within ±50 % or 2 s, whichever is larger (the simulator steps in whole seconds
 *   and a PUT lands between steps, so a real restart of 0.2–0.4 s cannot be matched closer than a
 *   step or two); metric smoothing after the rescale within one metric fetch interval (10 s).
 */

const START = Date.parse('2026-11-11T00:00:00Z');
const CPU_WORK = 'cpu-work -> discard: Writer';
const SOURCE = 'Source: generator';
const ENRICH = 'enrich -> discard: Writer';
const FETCH_INTERVAL_S = 10;

interface JobBody {
  jid: string;
  'start-time': number;
  vertices: { id: string; name: string }[];
  timestamps: Record<string, number>;
}
interface CheckpointsBody {
  history: { status: string; latest_ack_timestamp?: number }[];
}
type AggRow = { id: string; avg?: number; sum?: number };

function jobBodies(rec: Recording, jobId: string): { t: number; body: JobBody }[] {
  return rec.exchanges
    .filter(e => e.method === 'GET' && e.path === `/jobs/${jobId}` && e.status === 200)
    .map(e => ({ t: e.t, body: bodyOf(rec, e) as JobBody }));
}

function vertexId(rec: Recording, jobId: string, name: string): string {
  const id = jobBodies(rec, jobId)[0]?.body.vertices.find(v => v.name === name)?.id;
  if (id === undefined) throw new Error(`${rec.flinkVersion}: no vertex "${name}" in job ${jobId}`);
  return id;
}

/** Aggregated metric `id`.`agg` of a vertex over time (per-mille metrics as ratios 0–1). */
function series(
  rec: Recording,
  mode: 'healthy' | 'cpu',
  vertex: string,
  id: string,
  agg: 'avg' | 'sum',
): { t: number; v: number }[] {
  const jobId = rec.setup.jobs[mode].jobId;
  const prefix = `/jobs/${jobId}/vertices/${vertexId(rec, jobId, vertex)}/subtasks/metrics?get=`;
  const out: { t: number; v: number }[] = [];
  for (const e of rec.exchanges) {
    if (e.method !== 'GET' || !e.path.startsWith(prefix)) continue;
    const row = (bodyOf(rec, e) as AggRow[]).find(r => r.id === id);
    const v = row?.[agg];
    if (v !== undefined) out.push({ t: e.t, v: id.endsWith('MsPerSecond') ? v / 1000 : v });
  }
  return out;
}

function mean(points: { v: number }[]): number {
  if (points.length === 0) return Number.NaN;
  return points.reduce((a, p) => a + p.v, 0) / points.length;
}

function window(points: { t: number; v: number }[], from: number, to: number): { t: number; v: number }[] {
  return points.filter(p => p.t >= from && p.t < to);
}

/** The new run after the PUT: when it started (ms, recording time) and its CREATED timestamp. */
function rescaleRun(rec: Recording): { runningSince: number; created: number } {
  const { putAt, timeline, vertexId: vid, to } = rec.rescale;
  const first = timeline.find(
    p => p.t > putAt && p.parallelism?.[vid] === to && p.runningSince !== undefined,
  );
  if (first?.runningSince === undefined)
    throw new Error(`${rec.flinkVersion}: never ran at parallelism ${to}`);
  const started = Date.parse(rec.recordedAt);
  const body = jobBodies(rec, rec.rescale.jobId).find(
    b =>
      b.body.timestamps.RUNNING !== undefined && b.body.timestamps.RUNNING - started === first.runningSince,
  );
  const created = body === undefined ? first.runningSince : (body.body.timestamps.CREATED ?? 0) - started;
  return { runningSince: first.runningSince, created };
}

/** Completed checkpoints of the cpu job: ack times, recording time. */
function checkpointAcks(rec: Recording): number[] {
  const started = Date.parse(rec.recordedAt);
  const acks = new Set<number>();
  for (const e of rec.exchanges)
    if (e.method === 'GET' && e.path === `/jobs/${rec.rescale.jobId}/checkpoints`)
      for (const h of (bodyOf(rec, e) as CheckpointsBody).history)
        if (h.status === 'COMPLETED' && h.latest_ack_timestamp !== undefined)
          acks.add(h.latest_ack_timestamp - started);
  return [...acks].sort((a, b) => a - b);
}

/**
 * How long after the PUT (or after the checkpoint the scheduler waited for, when one completed
 * after the PUT and before the restart) the job ran again at the new parallelism, in seconds.
 */
function reactionSeconds(rec: Recording): number {
  const { runningSince } = rescaleRun(rec);
  const acks = checkpointAcks(rec).filter(a => a >= rec.rescale.putAt && a <= runningSince);
  return (runningSince - Math.max(rec.rescale.putAt, ...acks)) / 1000;
}

/** Seconds after the restart until `pick` of the timeline reaches `reached(final)` for good. */
function settleSeconds(
  rec: Recording,
  pick: (p: TimelinePoint) => number | undefined,
  reached: (v: number, final: number) => boolean,
): number {
  const { runningSince } = rescaleRun(rec);
  const after = rec.rescale.timeline.filter(p => p.t >= runningSince && pick(p) !== undefined);
  const last = after.filter(p => p.t >= (after.at(-1)?.t ?? 0) - 20_000);
  const final = last.reduce((a, p) => a + (pick(p) ?? 0), 0) / Math.max(1, last.length);
  let since: number | undefined;
  for (const p of after) {
    if (reached(pick(p) ?? Number.NaN, final)) since ??= p.t;
    else since = undefined;
  }
  return ((since ?? Number.POSITIVE_INFINITY) - runningSince) / 1000;
}

/**
 * Replays the recorded run on the simulator, in virtual time over real HTTP: same jobs, the same
 * sampling every interval from the same point in the jobs' lives, the PUT during a restart, the
 * PUT on the cpu job at the same moment, then a 1 s timeline. Returns it as a Recording.
 */
async function replay(rec: Recording): Promise<Recording> {
  const realStarted = Date.parse(rec.recordedAt);
  const cpuJob = jobBodies(rec, rec.setup.jobs.cpu.jobId)[0]?.body;
  if (cpuJob === undefined) throw new Error(`${rec.flinkVersion}: no /jobs/:jobid of the cpu job`);
  // Records/s one cpu-work subtask handles when saturated, measured just before the PUT.
  const before = (id: string, agg: 'avg' | 'sum') =>
    mean(window(series(rec, 'cpu', CPU_WORK, id, agg), rec.rescale.putAt - 60_000, rec.rescale.putAt));
  const capacity = before('numRecordsInPerSecond', 'sum') / before('busyTimeMsPerSecond', 'avg');
  const clock = new VirtualClock(START);
  const sim = await new Simulator({ scenario: recordedScenario(rec, capacity), clock }).listen();
  try {
    // The recording started this long after the cpu job did; the simulated jobs start at START.
    const started = START + (realStarted - cpuJob['start-time']);
    const recorder = new ExchangeRecorder(httpDispatcher(), sim.url, () => clock.now() - started);
    const probe = new FlinkRestClient({ baseUrl: sim.url, retries: 0, clusterCacheMs: 0 });
    const byName = new Map((await probe.jobsOverview()).jobs.map(j => [j.name, j.jid]));
    const idOf = (mode: string): string => byName.get(`autopilot-${mode}`) ?? '';
    const modes = ['healthy', 'cpu', 'closed-port'] as const;
    const all = modes.map(m => ({ name: `autopilot-${m}`, jobId: idOf(m) }));
    const at = (t: number) => clock.advance(started + t - clock.now());
    const interval = rec.setup.sampleIntervalMs;
    const { putAt } = rec.rescale;
    for (let t = 0; t < putAt - 5000; t += interval) {
      await at(t);
      await sampleRound(sim.url, recorder.dispatch, all, clock.now());
    }
    // The PUT during a restart of the closed-port job (the same requirements).
    const client = new FlinkRestClient({ baseUrl: sim.url, dispatcher: recorder.dispatch, retries: 0 });
    let putWhileRestarting: Recording['putWhileRestarting'];
    for (let i = 0; i < 10 && putWhileRestarting === undefined; i++) {
      const closed = await probe.job(idOf('closed-port'));
      if (closed.state === 'RESTARTING') {
        const req = await client.getResourceRequirements(idOf('closed-port'));
        const status = await client
          .putResourceRequirements(idOf('closed-port'), req)
          .then(() => 200)
          .catch((e: { details?: { status?: number } }) => e.details?.status ?? 0);
        putWhileRestarting = { jobId: idOf('closed-port'), stateBefore: closed.state, status };
      } else await clock.advance(1000);
    }
    const cpu = idOf('cpu');
    const work = (await probe.job(cpu)).vertices.find(v => v.name === CPU_WORK);
    if (work === undefined) throw new Error('no cpu-work vertex in the simulator');
    const timeline: TimelinePoint[] = [];
    for (let t = putAt - 5000; t < putAt; t += 1000) {
      await at(t);
      timeline.push(await timelinePoint(sim.url, httpDispatcher(), cpu, work.id, t, started));
    }
    await at(putAt);
    const current = await client.getResourceRequirements(cpu);
    const target = Object.fromEntries(
      Object.entries(current).map(([vid, r]) => [
        vid,
        {
          parallelism: {
            lowerBound: 1,
            upperBound: vid === work.id ? rec.rescale.to : r.parallelism.upperBound,
          },
        },
      ]),
    );
    const putStatus = await client
      .putResourceRequirements(cpu, target)
      .then(() => 200)
      .catch((e: { details?: { status?: number } }) => e.details?.status ?? 0);
    const end = putAt + (rec.rescale.timeline.at(-1)?.t ?? putAt) - putAt;
    for (let t = putAt + 1000; t <= end; t += 1000) {
      await at(t);
      timeline.push(await timelinePoint(sim.url, httpDispatcher(), cpu, work.id, t, started));
      if ((t - putAt) % interval === 0)
        await sampleRound(sim.url, recorder.dispatch, [{ name: 'autopilot-cpu', jobId: cpu }], clock.now());
    }
    const out: Recording = {
      format: RECORDING_FORMAT,
      flinkVersion: rec.flinkVersion,
      recordedAt: new Date(started).toISOString(),
      setup: {
        ...rec.setup,
        jobs: {
          healthy: { ...rec.setup.jobs.healthy, jobId: idOf('healthy') },
          cpu: { ...rec.setup.jobs.cpu, jobId: cpu },
          'closed-port': { ...rec.setup.jobs['closed-port'], jobId: idOf('closed-port') },
        },
      },
      exchanges: recorder.exchanges,
      bodies: Object.fromEntries(recorder.bodies),
      rescale: {
        jobId: cpu,
        vertexId: work.id,
        vertexName: work.name,
        from: work.parallelism,
        to: rec.rescale.to,
        putAt,
        putStatus,
        timeline,
      },
    };
    if (putWhileRestarting !== undefined) out.putWhileRestarting = putWhileRestarting;
    return out;
  } finally {
    await sim.close();
  }
}

function shapesByTemplate(rec: Recording): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const e of rec.exchanges) {
    if (e.method !== 'GET' || e.status !== 200) continue;
    const set = out.get(e.template) ?? new Set<string>();
    out.set(e.template, shapeLines(bodyOf(rec, e), set));
  }
  return out;
}

for (const version of RECORDED_VERSIONS) {
  const rec = loadRecording(version);
  if (rec === undefined)
    console.warn(
      `skipped: no recording of Flink ${version} at ${recordingPath(version)} (scripts/flink-local record)`,
    );
  describe.skipIf(rec === undefined)(`Flink ${version} recording vs the simulator`, () => {
    let real: Recording;
    let sim: Recording;
    beforeAll(async () => {
      if (rec === undefined) return;
      real = rec;
      sim = await replay(rec);
    }, 120_000);
    afterAll(() => undefined);

    it('every recorded response parses with the REST source schemas', () => {
      const failures: string[] = [];
      let checked = 0;
      for (const e of real.exchanges) {
        if (e.method !== 'GET') continue;
        const schema = SOURCE_SCHEMAS[e.template];
        if (schema === undefined) {
          failures.push(`${e.template}: no schema (the REST source does not ask for it)`);
          continue;
        }
        checked++;
        const r = schema.safeParse(bodyOf(real, e));
        if (!r.success) failures.push(`${e.path}: ${r.error.message}`);
      }
      expect(checked).toBeGreaterThan(500);
      expect([...new Set(failures)]).toEqual([]);
    });

    it(`the simulator (${simVersionOf(version)}) sends the same fields and types per endpoint`, () => {
      const realShapes = shapesByTemplate(real);
      const simShapes = shapesByTemplate(sim);
      const problems: string[] = [];
      for (const [template, shapes] of realShapes) {
        const s = simShapes.get(template);
        if (s === undefined) {
          problems.push(`${template}: never answered by the simulator`);
          continue;
        }
        const d = diffShapes(shapes, s);
        problems.push(
          ...d.missing.map(p => `${template}: simulator never sends ${p}`),
          ...d.extra.map(p => `${template}: simulator sends ${p}, Flink ${version} never did`),
          ...d.typeMismatch.map(p => `${template}: simulator type ${p} not seen from Flink ${version}`),
        );
      }
      expect(problems).toEqual([]);
    });

    it('busy and back-pressure ratios at the same load within ±0.1', () => {
      const { putAt } = real.rescale;
      const end = real.rescale.timeline.at(-1)?.t ?? putAt;
      const cases = [
        ['cpu', CPU_WORK, 'busyTimeMsPerSecond', putAt - 60_000, putAt],
        ['cpu', SOURCE, 'backPressuredTimeMsPerSecond', putAt - 60_000, putAt],
        ['cpu', CPU_WORK, 'busyTimeMsPerSecond', end - 30_000, end + 1],
        ['cpu', SOURCE, 'backPressuredTimeMsPerSecond', end - 30_000, end + 1],
        ['healthy', ENRICH, 'busyTimeMsPerSecond', putAt - 60_000, putAt],
        ['healthy', SOURCE, 'busyTimeMsPerSecond', putAt - 60_000, putAt],
      ] as const;
      const rows = cases.map(([mode, vertex, metric, from, to]) => {
        const r = mean(window(series(real, mode, vertex, metric, 'avg'), from, to));
        const s = mean(window(series(sim, mode, vertex, metric, 'avg'), from, to));
        return { mode, vertex, metric, window: `${from / 1000}..${to / 1000} s`, real: r, sim: s };
      });
      console.table(rows);
      for (const row of rows) {
        expect(Number.isFinite(row.real), `${row.vertex} ${row.metric}: recorded`).toBe(true);
        expect(Math.abs(row.sim - row.real), `${row.mode} ${row.vertex} ${row.metric}`).toBeLessThanOrEqual(
          0.1,
        );
      }
    });

    it('rescale after the PUT: reaction and downtime within ±50 % or 2 s', () => {
      expect(sim.rescale.putStatus).toBe(real.rescale.putStatus);
      const r = { reaction: reactionSeconds(real), run: rescaleRun(real) };
      const s = { reaction: reactionSeconds(sim), run: rescaleRun(sim) };
      const downtime = (x: typeof r) => (x.run.runningSince - x.run.created) / 1000;
      const rows = {
        reactionS: { real: r.reaction, sim: s.reaction },
        putToRunningS: {
          real: (r.run.runningSince - real.rescale.putAt) / 1000,
          sim: (s.run.runningSince - sim.rescale.putAt) / 1000,
        },
        downtimeS: { real: downtime(r), sim: downtime(s) },
      };
      console.table(rows);
      // The rescale counts as one restart, without an exception.
      const restarts = (x: Recording): string | undefined => {
        const e = x.exchanges.findLast(ex =>
          ex.path.startsWith(`/jobs/${x.rescale.jobId}/metrics?get=numRestarts`),
        );
        return e === undefined ? undefined : (bodyOf(x, e) as { value: string }[])[0]?.value;
      };
      expect(restarts(real)).toBe('1');
      expect(restarts(sim)).toBe(restarts(real));
      const within = (a: number, b: number) => Math.abs(a - b) <= Math.max(0.5 * Math.abs(a), 2);
      expect(within(r.reaction, s.reaction), 'reaction').toBe(true);
      expect(within(downtime(r), downtime(s)), 'downtime').toBe(true);
    });

    it('checkpoint durations at the same load within ±50 % or 2 s', () => {
      const median = (r: Recording, mode: 'healthy' | 'cpu', before: number): number => {
        const started = Date.parse(r.recordedAt);
        const durations = new Map<number, number>();
        for (const e of r.exchanges)
          if (e.method === 'GET' && e.path === `/jobs/${r.setup.jobs[mode].jobId}/checkpoints`)
            for (const h of (
              bodyOf(r, e) as CheckpointsBody & {
                history: { id: number; end_to_end_duration: number }[];
              }
            ).history)
              if (h.status === 'COMPLETED' && (h.latest_ack_timestamp ?? 0) - started < before)
                durations.set(h.id, h.end_to_end_duration);
        const sorted = [...durations.values()].sort((a, b) => a - b);
        return (sorted[Math.floor(sorted.length / 2)] ?? Number.NaN) / 1000;
      };
      const rows = (['healthy', 'cpu'] as const).map(mode => ({
        mode,
        realS: median(real, mode, real.rescale.putAt),
        simS: median(sim, mode, sim.rescale.putAt),
      }));
      console.table(rows);
      for (const row of rows) {
        expect(Number.isFinite(row.realS), `${row.mode}: recorded checkpoints`).toBe(true);
        expect(Math.abs(row.simS - row.realS), row.mode).toBeLessThanOrEqual(Math.max(0.5 * row.realS, 2));
      }
    });

    it('metric smoothing after the rescale within one fetch interval', () => {
      const rateReached = (v: number, final: number) => v >= 0.9 * final;
      // Settled = within the busy-ratio tolerance (0.1) of the level it ends at.
      const busyReached = (v: number, final: number) => Math.abs(v - final) <= 100;
      const rows = {
        inputRate90pctS: {
          real: settleSeconds(real, p => p.inRateSum, rateReached),
          sim: settleSeconds(sim, p => p.inRateSum, rateReached),
        },
        busySettledS: {
          real: settleSeconds(real, p => p.busyAvg, busyReached),
          sim: settleSeconds(sim, p => p.busyAvg, busyReached),
        },
      };
      console.table(rows);
      for (const [k, v] of Object.entries(rows))
        expect(Math.abs(v.sim - v.real), k).toBeLessThanOrEqual(FETCH_INTERVAL_S);
    });

    it('a PUT while the job restarts is accepted, as by real Flink', () => {
      expect(real.putWhileRestarting?.status).toBe(200);
      expect(sim.putWhileRestarting).toMatchObject({ stateBefore: 'RESTARTING', status: 200 });
    });
  });
}
