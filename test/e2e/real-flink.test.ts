import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendByOrigin } from '../../src/actions/backend.js';
import { restRescaleBackend, sourcesFromConfig } from '../../src/agent-manager/rest-job-source.js';
import { startAutopilot, type Autopilot } from '../../src/agent-manager/start.js';
import { compileConfig } from '../../src/config/load.js';
import type { HealthReport } from '../../src/domain/index.js';
import { templateOf, SOURCE_SCHEMAS } from '../support/flink-recording.js';
import { LocalFlink, stopClustersOnExit } from '../support/flink-local.js';
import { RecordingProxy } from '../support/recording-proxy.js';
import { createLogger } from '../../src/telemetry/logger.js';

/**
 * The daemon against real Apache Flink (scripts/flink-local: a standalone session cluster of plain
 * java processes, Flink from PyPI), per version in FLINK_E2E_VERSIONS (default 1.20.3 and 2.3.0):
 *
 * 1. dry-run: the three canned jobs are discovered and reported from real metrics; the closed-port
 *    job's restart loop is diagnosed; the daemon plans but sends no write to Flink.
 * 2. auto: the cpu job (cpu-work at parallelism 1, saturated) is rescaled through
 *    PUT /jobs/:jobid/resource-requirements; the new parallelism shows on the job and the journal
 *    has the rescale executed and verified.
 * 3. the TaskManager process running the cpu job is killed: job-taskmanager-lost, medium risk.
 *
 * Every REST response the daemons received (through a recording proxy) parses with the REST
 * source's schemas. Clusters are stopped in afterAll, on process exit and signals, and by the
 * global teardown (test/setup/flink.global.ts).
 */

const VERSIONS = (process.env.FLINK_E2E_VERSIONS ?? '1.20.3,2.3.0')
  .split(',')
  .map(v => v.trim())
  .filter(v => v !== '');
const KEY = (mode: string) => `rest:local/autopilot-${mode}`;
const CPU_WORK = 'cpu-work -> discard: Writer';

stopClustersOnExit();

const log = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`, { cause: last });
    await new Promise(r => setTimeout(r, 1000));
  }
}

interface JobWire {
  state: string;
  vertices: { id: string; name: string; parallelism: number }[];
}

async function flinkJob(url: string, jid: string): Promise<JobWire> {
  const res = await fetch(`${url}/jobs/${jid}`);
  if (!res.ok) throw new Error(`GET /jobs/${jid}: HTTP ${res.status}`);
  return (await res.json()) as JobWire;
}

function summary(r: HealthReport | undefined): unknown {
  if (r === undefined) return undefined;
  return {
    id: r.id,
    state: r.state,
    dataState: r.dataState,
    risk: r.risk,
    score: r.score,
    findings: r.findings
      .filter(f => f.state === 'firing')
      .map(
        f => `${f.category}/${f.rule}/${f.severity}${f.subject.kind === 'job' ? '' : `@${f.subject.name}`}`,
      ),
    actions: r.actions.map(a => `${a.status}:${a.reason ?? ''}`),
  };
}

function unparsed(proxy: RecordingProxy): string[] {
  const out: string[] = [];
  for (const e of proxy.exchanges) {
    if (e.method !== 'GET' || e.status !== 200) continue;
    const template = templateOf(e.path);
    // Log files are plain text, read as bytes by the log source: no JSON schema applies.
    if (/^\/(jobmanager|taskmanagers\/\{taskmanagerid\})\/logs\/[^/]+$|^\/jobmanager\/log$/.test(template))
      continue;
    const schema = SOURCE_SCHEMAS[template];
    if (schema === undefined) {
      out.push(`${template}: the daemon asked for an endpoint without a schema`);
      continue;
    }
    const r = schema.safeParse(JSON.parse(e.body));
    if (!r.success) out.push(`${e.path}: ${r.error.message}`);
  }
  return [...new Set(out)];
}

for (const version of VERSIONS) {
  describe.sequential(`daemon against real Flink ${version}`, () => {
    const flink = new LocalFlink(version);
    const dir = mkdtempSync(join(tmpdir(), `autopilot-e2e-${version}-`));
    const proxies: RecordingProxy[] = [];
    const daemons: Autopilot[] = [];
    let url = '';
    const jobs: Record<string, string> = {};

    async function daemon(mode: 'dry-run' | 'auto'): Promise<{ a: Autopilot; proxy: RecordingProxy }> {
      const proxy = new RecordingProxy(url);
      proxies.push(proxy);
      const proxyUrl = await proxy.listen();
      const config = compileConfig({
        mode,
        flink: { clusters: [{ label: 'local', url: proxyUrl }] },
        state: { dir: join(dir, mode) },
        agent: { interval: '2s', jitter: 0, discoveryInterval: '5s' },
        actions: { stabilization: '20s', cooldown: '10m' },
        api: { port: 0 },
      });
      const rest = sourcesFromConfig(config);
      const a = await startAutopilot({
        config,
        sources: rest,
        log,
        api: false,
        backend: backendByOrigin({ rest: restRescaleBackend(config, rest) }),
      });
      daemons.push(a);
      return { a, proxy };
    }

    beforeAll(async () => {
      const t0 = Date.now();
      url = await flink.start(2);
      for (const mode of ['healthy', 'cpu', 'closed-port'] as const) jobs[mode] = await flink.submit(mode);
      console.log(
        `Flink ${version}: cluster and jobs up in ${((Date.now() - t0) / 1000).toFixed(1)} s at ${url}`,
      );
    });

    afterAll(async () => {
      for (const a of daemons) await a.close().catch(() => undefined);
      for (const p of proxies) await p.close();
      await flink.stop();
      rmSync(dir, { recursive: true, force: true });
      expect(flink.alivePids()).toEqual([]);
    });

    it('dry-run: discovers the jobs, reports them from real metrics, diagnoses the restart loop, writes nothing', async () => {
      const { a, proxy } = await daemon('dry-run');
      const healthy = await until('the healthy job reported with dataState ok', 120_000, () => {
        const r = a.daemon.report(KEY('healthy'));
        return r?.dataState === 'ok' && r.state === 'RUNNING' ? r : undefined;
      });
      expect(
        a.daemon
          .reports()
          .map(r => r.id)
          .sort(),
      ).toEqual([KEY('closed-port'), KEY('cpu'), KEY('healthy')]);
      expect(healthy.flinkJobId).toBe(jobs.healthy);
      expect(healthy.score).not.toBeNull();
      // The closed-port job fails on every record and restarts every 2 s.
      const closed = await until('the closed-port restart loop diagnosed', 180_000, () => {
        const r = a.daemon.report(KEY('closed-port'));
        return r?.findings.some(f => f.state === 'firing' && f.category === 'availability') ? r : undefined;
      });
      // The cpu job is planned for a rescale, which dry-run only records.
      const cpu = await until('a rescale planned for the cpu job', 240_000, () => {
        const r = a.daemon.report(KEY('cpu'));
        return r?.actions.some(x => x.kind === 'rescale') ? r : undefined;
      });
      console.log(
        JSON.stringify(
          { version, healthy: summary(healthy), closed: summary(closed), cpu: summary(cpu) },
          null,
          1,
        ),
      );
      expect(healthy.risk).toBe('low');
      expect(['high', 'critical']).toContain(closed.risk);
      expect(closed.findings.some(f => f.state === 'firing' && f.category === 'connector')).toBe(true);
      expect(cpu.dataState).toBe('ok');
      expect(proxy.exchanges.length).toBeGreaterThan(50);
      expect(Object.keys(proxy.methods())).toEqual(['GET']);
      expect((await flinkJob(url, jobs.cpu ?? '')).vertices.find(v => v.name === CPU_WORK)?.parallelism).toBe(
        1,
      );
      expect(unparsed(proxy)).toEqual([]);
      await a.close();
    });

    it('auto: rescales the saturated cpu job through PUT resource-requirements and verifies it', async () => {
      const { a, proxy } = await daemon('auto');
      const rescaled = await until('cpu-work above parallelism 1', 300_000, async () => {
        const job = await flinkJob(url, jobs.cpu ?? '');
        const p = job.vertices.find(v => v.name === CPU_WORK)?.parallelism ?? 0;
        return job.state === 'RUNNING' && p > 1 ? p : undefined;
      });
      const puts = proxy.exchanges.filter(e => e.method === 'PUT');
      expect(puts.map(e => [e.path, e.status])).toEqual([[`/jobs/${jobs.cpu}/resource-requirements`, 200]]);
      const journal = await until('the rescale verified in the journal', 240_000, async () => {
        const entries = await a.store.readJournal({ jobKey: KEY('cpu') });
        return entries.some(e => e.status === 'verified') ? entries : undefined;
      });
      console.log(
        JSON.stringify(
          { version, rescaledTo: rescaled, journal: journal.map(e => [e.status, e.detail ?? '']) },
          null,
          1,
        ),
      );
      const statuses = journal.map(e => e.status);
      expect(statuses).toContain('executed');
      expect(statuses).toContain('verified');
      const executed = journal.find(e => e.status === 'executed')?.action;
      expect(executed?.kind).toBe('rescale');
      const workId = (await flinkJob(url, jobs.cpu ?? '')).vertices.find(v => v.name === CPU_WORK)?.id ?? '';
      expect(executed?.target?.[workId]).toBe(rescaled);
      expect(unparsed(proxy)).toEqual([]);
    });

    it('a killed TaskManager fails the cpu job over; the daemon diagnoses it', async () => {
      const a = daemons.at(-1);
      if (a === undefined) throw new Error('no auto daemon');
      const proxy = proxies.at(-1);
      // The TaskManager running the cpu job's cpu-work subtask 0.
      const job = await flinkJob(url, jobs.cpu ?? '');
      const work = job.vertices.find(v => v.name === CPU_WORK);
      const details = (await (await fetch(`${url}/jobs/${jobs.cpu}/vertices/${work?.id}`)).json()) as {
        subtasks: { 'taskmanager-id': string }[];
      };
      const tm = details.subtasks[0]?.['taskmanager-id'];
      if (tm === undefined) throw new Error('no TaskManager of cpu-work');
      const before = Date.now();
      await flink.killTaskManager(tm);
      const hit = await until('the cpu job diagnosed after the lost TaskManager', 240_000, () => {
        const r = a.daemon.report(KEY('cpu'));
        return r?.findings.some(
          f => f.state === 'firing' && f.category === 'availability' && f.firstSeen >= before,
        )
          ? r
          : undefined;
      });
      console.log(
        JSON.stringify({ version, killed: tm, afterKill: a.daemon.reports().map(summary) }, null, 1),
      );
      const rules = hit.findings.filter(f => f.state === 'firing' && f.firstSeen >= before).map(f => f.rule);
      // The exception history names the lost TaskManager: the specific rule, not a generic failover.
      expect(rules).toContain('job-taskmanager-lost');
      expect(['medium', 'high', 'critical']).toContain(hit.risk);
      if (proxy !== undefined) expect(unparsed(proxy)).toEqual([]);
    });
  });
}
