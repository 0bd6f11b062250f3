import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { AlertPipeline, resolveSinks } from '../../../src/actions/alerts/pipeline.js';
import { createSilence } from '../../../src/agents/select/policies/fleet-state.js';
import type { DeadLetter } from '../../../src/actions/alerts/delivery.js';
import { sourcesFromConfig } from '../../../src/agent-manager/rest-job-source.js';
import { startAutopilot } from '../../../src/agent-manager/start.js';
import { compileConfig } from '../../../src/config/load.js';
import { VirtualClock, type Finding, type HealthReport } from '../../../src/domain/index.js';
import { loadScenario, startSimulator } from '../../../src/sim/index.js';
import { RedisStore } from '../../../src/state/redis-store.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { finding, plannedRescale, report, T0 } from '../api/fixtures.js';

/**
 * The alert pipeline end to end: real HTTP receivers on loopback stand in for every vendor,
 * state (dedup, dead letters, silences) lives in the real Redis of the global setup.
 */

interface Received {
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: string;
  body: unknown;
}

const received: Received[] = [];
const hanging: ServerResponse[] = [];
let flakyFailures = 0;
let server: Server;
let base: string;

function reply(req: IncomingMessage, res: ServerResponse, raw: string): void {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname === '/hang') {
    hanging.push(res);
    return;
  }
  received.push({
    path: url.pathname,
    query: url.searchParams,
    headers: req.headers,
    raw,
    body: JSON.parse(raw) as unknown,
  });
  if (url.pathname === '/flaky' && flakyFailures > 0) {
    flakyFailures--;
    res.writeHead(503).end('busy');
  } else if (url.pathname === '/dingtalk') res.writeHead(200).end('{"errcode":0,"errmsg":"ok"}');
  else if (url.pathname === '/dingtalk-bad-sign')
    res.writeHead(200).end('{"errcode":310000,"errmsg":"sign not match"}');
  else if (url.pathname === '/feishu') res.writeHead(200).end('{"code":0,"msg":"success"}');
  else if (url.pathname === '/gone') res.writeHead(404).end('no such hook');
  else res.writeHead(200).end('{}');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => reply(req, res, raw));
  });
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const r of hanging) r.destroy();
  server.closeAllConnections();
  await new Promise(r => server.close(r));
  await redis.quit();
});

const redis = new Redis(`redis://127.0.0.1:${inject('redisPort')}`);
let prefixN = 0;
let now = T0;
const logLines: string[] = [];
const log = createLogger({
  level: 'debug',
  destination: new Writable({
    write(chunk: Buffer, _enc, cb) {
      logLines.push(chunk.toString());
      cb();
    },
  }),
});

const WEBHOOK_SECRET = 'whsec-0123456789abcdef';
const DING_SECRET = 'SECding-fedcba9876543210';
const FEISHU_SECRET = 'feishu-signing-key-42';
const SLACK_TOKEN = 'T000/B000/slack-token-xyzzy';

beforeEach(() => {
  received.length = 0;
  now = T0;
  flakyFailures = 0;
});

interface Setup {
  pipeline: AlertPipeline;
  store: RedisStore;
}

async function setup(
  alerts: Record<string, unknown>,
  prefix = `alerts-${process.pid}-${++prefixN}`,
): Promise<Setup> {
  const config = compileConfig({ alerts });
  const store = new RedisStore(redis, prefix);
  const sinks = await resolveSinks(config.alerts, {
    SLACK_URL: `${base}/slack/${SLACK_TOKEN}`,
    DING: DING_SECRET,
  });
  const pipeline = new AlertPipeline({ alerts: config.alerts, sinks, store, log, now: () => now });
  return { pipeline, store };
}

const allSinks = (): Record<string, unknown>[] => [
  { name: 'hook', kind: 'webhook', url: { value: `${base}/hook` }, secret: { value: WEBHOOK_SECRET } },
  { name: 'slack', kind: 'slack', url: { env: 'SLACK_URL' } },
  {
    name: 'ding',
    kind: 'dingtalk',
    url: { value: `${base}/dingtalk?access_token=abc` },
    secret: { env: 'DING' },
  },
  { name: 'feishu', kind: 'feishu', url: { value: `${base}/feishu` }, secret: { value: FEISHU_SECRET } },
  { name: 'am', kind: 'alertmanager', url: { value: `${base}/am` } },
];

const JOB = 'rest:prod/payments';
function jobReport(findings: Finding[], extra: Partial<Parameters<typeof report>[0]> = {}): HealthReport {
  return report({
    name: 'payments',
    score: 95,
    risk: 'medium',
    labels: { owner: 'pay-team' },
    findings,
    ...extra,
  });
}
const lag = (state: Finding['state'] = 'firing'): Finding =>
  finding(JOB, 'consumer-lag', 'lag', 'medium', state);

async function send(p: AlertPipeline, r: HealthReport): Promise<void> {
  p.onReport(r);
  await p.idle();
}

function byPath(path: string): Received[] {
  return received.filter(r => r.path.startsWith(path));
}

describe('alert sinks deliver to real HTTP receivers in their vendor formats', () => {
  it('webhook, Slack, DingTalk, Feishu and Alertmanager each get one signed, well-formed request', async () => {
    const { pipeline } = await setup({ sinks: allSinks() });
    await send(pipeline, jobReport([lag()]));

    const [hook] = byPath('/hook');
    const body = hook?.body as {
      version: number;
      status: string;
      alerts: { fingerprint: string; action: string }[];
    };
    expect(body.version).toBe(1);
    expect(body.status).toBe('firing');
    expect(body.alerts.map(a => a.fingerprint)).toEqual([lag().fingerprint]);
    expect(body.alerts[0]?.action).toBe('Do something about consumer-lag.');
    const ts = String(hook?.headers['x-autopilot-timestamp']);
    const expected = createHmac('sha256', WEBHOOK_SECRET).update(`${ts}.${hook?.raw}`).digest('hex');
    expect(hook?.headers['x-autopilot-signature']).toBe(`sha256=${expected}`);

    const [slack] = byPath('/slack/');
    const s = slack?.body as { text: string; blocks: { type: string; text: { type: string } }[] };
    expect(s.text).toContain('[FIRING] medium rest:prod/payments: consumer-lag on Vertex consumer-lag');
    expect(s.blocks[0]).toMatchObject({ type: 'section', text: { type: 'mrkdwn' } });

    const [ding] = byPath('/dingtalk');
    expect(ding?.query.get('access_token')).toBe('abc');
    const dts = ding?.query.get('timestamp') ?? '';
    const dsign = createHmac('sha256', DING_SECRET).update(`${dts}\n${DING_SECRET}`).digest('base64');
    expect(ding?.query.get('sign')).toBe(dsign);
    expect(ding?.body).toMatchObject({
      msgtype: 'markdown',
      markdown: { title: expect.stringContaining('FIRING') as unknown },
    });

    const [feishu] = byPath('/feishu');
    const f = feishu?.body as {
      timestamp: string;
      sign: string;
      msg_type: string;
      content: { text: string };
    };
    const fsign = createHmac('sha256', `${f.timestamp}\n${FEISHU_SECRET}`).update('').digest('base64');
    expect(f.sign).toBe(fsign);
    expect(f.msg_type).toBe('text');
    expect(f.content.text).toContain('First action: Do something about consumer-lag.');

    const [am] = byPath('/am');
    expect(am?.path).toBe('/am/api/v2/alerts');
    const alerts = am?.body as { labels: Record<string, string>; startsAt: string; endsAt?: string }[];
    expect(alerts).toHaveLength(1);
    expect(alerts[0]?.labels).toMatchObject({
      alertname: 'consumer-lag',
      severity: 'medium',
      category: 'lag',
      job_key: JOB,
      cluster: 'prod',
      label_owner: 'pay-team',
    });
    // Firing: valid for 4 resend intervals (1 minute by default) after this send.
    expect(alerts[0]?.endsAt).toBe(new Date(now + 4 * 60_000).toISOString());
    expect(received).toHaveLength(5);
  });
});

describe('dedup, repeat and resolve', () => {
  it('sends a firing finding once per repeat interval and a resolved message when it resolves, not when it becomes unknown', async () => {
    const sinks = [allSinks()[0], allSinks()[4]];
    const { pipeline, store } = await setup({ sinks, repeatInterval: '1h' });
    await send(pipeline, jobReport([lag()]));
    now += 10 * 60_000;
    await send(pipeline, jobReport([lag()]));
    expect(byPath('/hook')).toHaveLength(1);

    // A restart: a new pipeline over the same store neither repeats nor forgets.
    const config = compileConfig({ alerts: { sinks, repeatInterval: '1h' } });
    const restarted = new AlertPipeline({
      alerts: config.alerts,
      sinks: await resolveSinks(config.alerts),
      store,
      log,
      now: () => now,
    });
    await send(restarted, jobReport([lag()]));
    expect(byPath('/hook')).toHaveLength(1);
    now += 60 * 60_000;
    await send(restarted, jobReport([lag()]));
    expect(byPath('/hook')).toHaveLength(2);

    // Unknown (absent data) resolves nothing.
    await send(restarted, jobReport([lag('unknown')]));
    expect(byPath('/hook')).toHaveLength(2);

    await send(restarted, jobReport([lag('resolved')]));
    const resolved = byPath('/hook')[2]?.body as {
      status: string;
      alerts: { status: string; endsAt: number }[];
    };
    expect(resolved.status).toBe('resolved');
    expect(resolved.alerts[0]).toMatchObject({ status: 'resolved', endsAt: now });
    const am = byPath('/am').at(-1)?.body as { endsAt?: string }[];
    expect(am[0]?.endsAt).toBe(new Date(now).toISOString());

    // Resolved once: the next cycle sends nothing more.
    await send(restarted, jobReport([lag('resolved')]));
    expect(byPath('/hook')).toHaveLength(3);
  });

  it('re-sends firing alerts to Alertmanager every resend interval with endsAt ahead, chat sinks per repeat interval', async () => {
    const sinks = [allSinks()[0], allSinks()[4], { ...allSinks()[1], repeatInterval: '30m' }];
    const { pipeline } = await setup({ sinks, repeatInterval: '1h', alertmanagerResendInterval: '1m' });
    for (let minute = 0; minute <= 60; minute++) {
      await send(pipeline, jobReport([lag()]));
      now += 60_000;
    }
    // 61 cycles a minute apart: Alertmanager every cycle, Slack (30m) 3 times, the webhook (1h) twice.
    const am = byPath('/am');
    expect(am).toHaveLength(61);
    expect(byPath('/slack/')).toHaveLength(3);
    expect(byPath('/hook')).toHaveLength(2);
    // Every send extends endsAt to 4 minutes after it, so Alertmanager never resolves it on its own
    // (its resolve_timeout is 5m by default) while the daemon keeps sending.
    const ends = am.map(r => Date.parse((r.body as { endsAt: string }[])[0]?.endsAt ?? ''));
    ends.forEach((e, i) => expect(e).toBe(T0 + i * 60_000 + 4 * 60_000));
    const starts = new Set(am.map(r => (r.body as { startsAt: string }[])[0]?.startsAt));
    expect(starts.size).toBe(1);
  });

  it('two replicas processing the same job at once send a firing alert once (the job record is locked)', async () => {
    const prefix = `alerts-${process.pid}-${++prefixN}`;
    const a = await setup({ sinks: [allSinks()[0]] }, prefix);
    const b = await setup({ sinks: [allSinks()[0]] }, prefix);
    a.pipeline.onReport(jobReport([lag()]));
    b.pipeline.onReport(jobReport([lag()]));
    await Promise.all([a.pipeline.idle(), b.pipeline.idle()]);
    expect(byPath('/hook')).toHaveLength(1);
    // And the record both wrote under the lock resolves once.
    a.pipeline.onReport(jobReport([lag('resolved')]));
    b.pipeline.onReport(jobReport([lag('resolved')]));
    await Promise.all([a.pipeline.idle(), b.pipeline.idle()]);
    const statuses = byPath('/hook').map(r => (r.body as { status: string }).status);
    expect(statuses).toEqual(['firing', 'resolved']);
  });

  it('a stale job sends nothing', async () => {
    const { pipeline } = await setup({ sinks: [allSinks()[0]] });
    await send(pipeline, { ...jobReport([lag()]), dataState: 'stale' });
    expect(received).toHaveLength(0);
  });

  it('a finding on a shared subject (TaskManager) is alerted once for all the jobs it is attached to', async () => {
    const { pipeline } = await setup({ sinks: [allSinks()[0]] });
    const tm: Finding = {
      ...finding(JOB, 'taskmanager-gc-pressure', 'gc', 'high'),
      fingerprint: '*|taskmanager-gc-pressure|taskmanager|tm-1',
      subject: { kind: 'taskmanager', id: 'tm-1', name: 'tm-1' },
    };
    pipeline.onReport(jobReport([tm]));
    pipeline.onReport(report({ name: 'orders', score: 95, risk: 'high', findings: [tm] }));
    await pipeline.idle();
    const bodies = byPath('/hook').map(r => r.body as { alerts: { fingerprint: string }[] });
    expect(bodies.flatMap(b => b.alerts.map(a => a.fingerprint))).toEqual([tm.fingerprint]);
  });
});

describe('routing, silences and inhibition', () => {
  it('routes by severity, category and owner; first match wins unless continue', async () => {
    const { pipeline } = await setup({
      sinks: [allSinks()[0], allSinks()[4]],
      routes: [
        { sinks: ['am'], minSeverity: 'high', continue: true },
        { sinks: ['hook'], owners: ['pay-team'], categories: ['checkpoint'] },
        { sinks: ['am'] },
      ],
    });
    const cp = finding(JOB, 'checkpoint-failing', 'checkpoint', 'high');
    await send(pipeline, jobReport([cp, lag()]));
    const hookFps = byPath('/hook').flatMap(r =>
      (r.body as { alerts: { fingerprint: string }[] }).alerts.map(a => a.fingerprint),
    );
    expect(hookFps).toEqual([cp.fingerprint]);
    const amRules = byPath('/am').flatMap(r =>
      (r.body as { labels: { alertname: string } }[]).map(a => a.labels.alertname),
    );
    expect(amRules.sort()).toEqual(['checkpoint-failing', 'consumer-lag']);
  });

  it('routes by the job’s risk: a high-risk route gets only jobs of high risk, never those of unknown risk', async () => {
    const { pipeline } = await setup({
      sinks: [allSinks()[0], allSinks()[4]],
      routes: [{ sinks: ['am'], minRisk: 'high', continue: true }, { sinks: ['hook'] }],
    });
    const orders = 'rest:prod/orders';
    pipeline.onReport(jobReport([lag()], { risk: 'medium' }));
    pipeline.onReport(
      report({
        name: 'orders',
        score: 80,
        risk: 'high',
        findings: [finding(orders, 'consumer-lag', 'lag', 'low')],
      }),
    );
    pipeline.onReport({
      ...report({
        name: 'fraud',
        score: null,
        risk: null,
        findings: [finding('rest:prod/fraud', 'consumer-lag', 'lag', 'high')],
      }),
      dataState: 'partial',
    });
    await pipeline.idle();
    const amJobs = byPath('/am').flatMap(r =>
      (r.body as { labels: { job_key: string } }[]).map(a => a.labels.job_key),
    );
    expect(amJobs).toEqual([orders]);
    const hookJobs = byPath('/hook').flatMap(r =>
      (r.body as { alerts: { jobKey: string }[] }).alerts.map(a => a.jobKey),
    );
    expect(hookJobs.sort()).toEqual([JOB, orders, 'rest:prod/fraud'].sort());
  });

  it('groups per cluster within groupWait, or sends each alert alone', async () => {
    const { pipeline } = await setup({
      sinks: [
        { ...allSinks()[0], groupBy: 'cluster', groupWait: '300ms' },
        { ...allSinks()[1], groupBy: 'alert' },
      ],
    });
    const jobs = ['payments', 'orders', 'fraud'];
    for (const name of jobs)
      pipeline.onReport(
        report({
          name,
          score: 92,
          risk: 'medium',
          findings: [
            finding(`rest:prod/${name}`, 'consumer-lag', 'lag', 'medium'),
            finding(`rest:prod/${name}`, 'checkpoint-failing', 'checkpoint', 'high'),
          ],
        }),
      );
    await pipeline.idle();
    // One webhook notification for the cluster with all 6 alerts, keyed by the cluster.
    const hooks = byPath('/hook').map(r => r.body as { groupKey: string; alerts: { jobKey: string }[] });
    expect(hooks).toHaveLength(1);
    expect(hooks[0]?.groupKey).toBe('hook|cluster:prod');
    expect(hooks[0]?.alerts).toHaveLength(6);
    // Slack per alert: 6 messages.
    expect(byPath('/slack/')).toHaveLength(6);
  });

  it('honours silences and inhibits a job’s other findings while an availability finding fires', async () => {
    const { pipeline, store } = await setup({ sinks: [allSinks()[0]] });
    await createSilence(
      store,
      {
        matchers: [{ name: 'rule', op: '=', value: 'consumer-lag' }],
        author: 'sre',
        comment: 'known',
        endsAt: now + 3_600_000,
      },
      now,
    );
    await send(pipeline, jobReport([lag()]));
    expect(received).toHaveLength(0);

    const restart = finding(JOB, 'restart-loop', 'availability', 'high');
    const loop: Finding = {
      ...restart,
      subject: { kind: 'job', id: JOB, name: 'payments' },
      fingerprint: `${JOB}|restart-loop|job|${JOB}`,
    };
    const cp = finding(JOB, 'checkpoint-failing', 'checkpoint', 'high');
    await send(pipeline, jobReport([loop, cp]));
    const fps = byPath('/hook').flatMap(r =>
      (r.body as { alerts: { fingerprint: string }[] }).alerts.map(a => a.fingerprint),
    );
    expect(fps).toEqual([loop.fingerprint]);
  });

  it('alerts a rescale waiting for approval, and resolves it once decided', async () => {
    const { pipeline } = await setup({ sinks: [allSinks()[0]] });
    const planned = plannedRescale(JOB);
    await send(pipeline, jobReport([], { mode: 'approve', actions: [planned] }));
    const first = byPath('/hook')[0]?.body as { alerts: { rule: string; action: string; status: string }[] };
    expect(first.alerts[0]).toMatchObject({ rule: 'action-approval-needed', status: 'firing' });
    expect(first.alerts[0]?.action).toContain('/api/v1/actions/act-0001/approve');
    await send(pipeline, jobReport([], { mode: 'approve', actions: [{ ...planned, status: 'executed' }] }));
    const second = byPath('/hook')[1]?.body as { alerts: { rule: string; status: string }[] };
    expect(second.alerts[0]).toMatchObject({ rule: 'action-approval-needed', status: 'resolved' });
  });
});

describe('circuit breaker', () => {
  it('an opened circuit breaker is alerted at once as a high scaling event of the cluster', async () => {
    const { pipeline } = await setup({ sinks: [allSinks()[4]] });
    pipeline.circuitOpen({
      cluster: 'prod',
      reason: '3 of the last 10 actions failed',
      since: now,
      until: now + 3_600_000,
    });
    await pipeline.idle();
    const [am] = byPath('/am');
    const alerts = am?.body as { labels: Record<string, string>; annotations: Record<string, string> }[];
    expect(alerts[0]?.labels).toMatchObject({
      alertname: 'circuit-breaker-open',
      severity: 'high',
      subject: 'prod',
    });
    expect(alerts[0]?.annotations.summary).toBe(
      'Rescaling stopped on cluster prod: 3 of the last 10 actions failed',
    );
  });
});

describe('delivery failures', () => {
  it('retries after 5xx with backoff and delivers once', async () => {
    flakyFailures = 2;
    const { pipeline, store } = await setup({
      sinks: [{ name: 'flaky', kind: 'webhook', url: { value: `${base}/flaky` } }],
      retries: 3,
      retryBackoff: '20ms',
    });
    await send(pipeline, jobReport([lag()]));
    expect(byPath('/flaky')).toHaveLength(3);
    expect(await store.listRecords('alert-dead-letter', now)).toEqual([]);
  });

  it('a hanging receiver never blocks the cycle nor the other sinks; it ends in the dead letters', async () => {
    const { pipeline, store } = await setup({
      sinks: [
        { name: 'hang', kind: 'webhook', url: { value: `${base}/hang` }, timeout: '300ms' },
        allSinks()[0],
      ],
      retries: 1,
      retryBackoff: '10ms',
    });
    // onReport returns before any delivery: it is synchronous and returns nothing to await.
    expect(pipeline.onReport(jobReport([lag()]))).toBeUndefined();
    await expect.poll(() => byPath('/hook').length, { timeout: 10_000 }).toBe(1);
    await pipeline.idle();
    const letters = await store.listRecords<DeadLetter>('alert-dead-letter', now);
    expect(letters.map(l => [l.value.sink, l.value.attempts, l.value.error])).toEqual([
      ['hang', 2, 'timed out after 300 ms'],
    ]);
    expect(letters[0]?.value.notification.alerts[0]?.fingerprint).toBe(lag().fingerprint);
  });

  it('a vendor error in a 200 answer (DingTalk sign mismatch) and a 404 are not retried: dead letters at once', async () => {
    const { pipeline, store } = await setup({
      sinks: [
        { name: 'bad-ding', kind: 'dingtalk', url: { value: `${base}/dingtalk-bad-sign` } },
        { name: 'gone', kind: 'slack', url: { value: `${base}/gone` } },
      ],
      retries: 3,
      retryBackoff: '10ms',
    });
    await send(pipeline, jobReport([lag()]));
    expect(received).toHaveLength(2);
    const letters = await store.listRecords<DeadLetter>('alert-dead-letter', now);
    expect(letters.map(l => [l.value.sink, l.value.attempts, l.value.error]).sort()).toEqual([
      ['bad-ding', 1, 'dingtalk error 310000: sign not match'],
      ['gone', 1, 'HTTP 404'],
    ]);
  });
});

describe('secrets', () => {
  it('never reach the logs: webhook URLs, signing keys, even when delivery fails', async () => {
    const { pipeline } = await setup({
      sinks: [
        { name: 'slack', kind: 'slack', url: { env: 'SLACK_URL' } },
        {
          name: 'dead',
          kind: 'webhook',
          url: { value: `http://127.0.0.1:1/${SLACK_TOKEN}x` },
          secret: { value: WEBHOOK_SECRET },
        },
      ],
      retries: 0,
    });
    await send(pipeline, jobReport([lag()]));
    log.error(
      { url: `${base}/slack/${SLACK_TOKEN}`, note: `signed with ${WEBHOOK_SECRET}` },
      'a careless line',
    );
    log.flush();
    const all = logLines.join('');
    expect(all).toContain('alert dead-lettered');
    for (const secret of [SLACK_TOKEN, WEBHOOK_SECRET, DING_SECRET, FEISHU_SECRET])
      expect(all).not.toContain(secret);
  });

  it('a missing secret file fails start-up naming the sink and the field', async () => {
    const config = compileConfig({
      alerts: { sinks: [{ name: 'ops', kind: 'slack', url: { file: '/nonexistent/slack-url' } }] },
    });
    await expect(resolveSinks(config.alerts)).rejects.toThrow(
      'alerts.sinks.ops.url: cannot read /nonexistent/slack-url',
    );
  });

  it('config refuses unknown template placeholders and routes to unknown sinks', () => {
    expect(() =>
      compileConfig({
        alerts: {
          sinks: [{ name: 'a', kind: 'slack', url: { env: 'X' }, textTemplate: '{{nope}}' }],
          routes: [{ sinks: ['b'] }],
        },
      }),
    ).toThrow(/unknown placeholder \{\{nope\}\}[\s\S]*no sink named b/);
  });
});

describe('the daemon alerts what it finds', () => {
  it('a connector outage in the simulator reaches a webhook receiver, signed, from the running daemon', async () => {
    const scenario = await loadScenario('scenarios/connector-unreachable.yaml');
    const clock = new VirtualClock(Date.parse(scenario.startTime));
    const sim = await startSimulator({ scenario, clock });
    const dir = mkdtempSync(join(tmpdir(), 'autopilot-alerts-'));
    const config = compileConfig({
      flink: { clusters: [{ label: scenario.cluster.label, url: sim.url }] },
      state: { dir },
      agent: { interval: '10s', jitter: 0 },
      api: { port: 0 },
      alerts: { sinks: [allSinks()[0]], routes: [{ sinks: ['hook'], minSeverity: 'high' }] },
    });
    // Virtual time runs 100x real time: the outage starts 10 simulated minutes in.
    const pacer = setInterval(() => void clock.advance(10_000), 100);
    const a = await startAutopilot({ config, clock, sources: sourcesFromConfig(config), log, api: false });
    try {
      expect(a.alerts).toBeDefined();
      await expect.poll(() => byPath('/hook').length, { timeout: 60_000, interval: 250 }).toBeGreaterThan(0);
      const [hook] = byPath('/hook');
      const body = hook?.body as { alerts: { jobKey: string; severity: string; category: string }[] };
      expect(body.alerts[0]).toMatchObject({
        jobKey: 'rest:connector-unreachable/orders-enrichment',
        severity: 'high',
      });
      expect(['availability', 'connector']).toContain(body.alerts[0]?.category);
      expect(hook?.headers['x-autopilot-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
    } finally {
      clearInterval(pacer);
      await a.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('secrets stay out of API responses', () => {
  it('no sink URL, signing key or token appears in any read route of the running daemon', async () => {
    const scenario = await loadScenario('scenarios/healthy-pipeline.yaml');
    const clock = new VirtualClock(Date.parse(scenario.startTime));
    const sim = await startSimulator({ scenario, clock });
    const dir = mkdtempSync(join(tmpdir(), 'autopilot-secrets-'));
    const adminToken = 'admin-token-0123456789abcdef0123456789';
    process.env.AUTOPILOT_TEST_ADMIN_TOKEN = adminToken;
    process.env.SLACK_URL = `${base}/slack/${SLACK_TOKEN}`;
    const config = compileConfig({
      flink: { clusters: [{ label: 'orders', url: sim.url }] },
      state: { dir },
      agent: { interval: '10s', jitter: 0 },
      api: { port: 0, tokens: [{ name: 'admin', role: 'admin', env: 'AUTOPILOT_TEST_ADMIN_TOKEN' }] },
      alerts: {
        sinks: [
          { name: 'slack', kind: 'slack', url: { env: 'SLACK_URL' } },
          {
            name: 'hook',
            kind: 'webhook',
            url: { value: `${base}/hook` },
            secret: { value: WEBHOOK_SECRET },
          },
        ],
      },
    });
    const pacer = setInterval(() => void clock.advance(10_000), 100);
    const a = await startAutopilot({ config, clock, sources: sourcesFromConfig(config), log });
    try {
      await expect.poll(() => a.daemon.reports().length, { timeout: 30_000 }).toBeGreaterThan(0);
      const id = encodeURIComponent(a.daemon.reports()[0]?.id ?? '');
      const paths = [
        '/',
        '/healthz',
        '/readyz',
        '/metrics',
        '/api/v1/whoami',
        '/api/v1/jobs',
        `/api/v1/jobs/${id}`,
        '/api/v1/summary',
        '/api/v1/rules',
        '/api/v1/journal',
        '/api/v1/silences',
        '/api/v1/openapi.json',
      ];
      for (const path of paths) {
        const res = await fetch(`${a.apiUrl}${path}`, { headers: { authorization: `Bearer ${adminToken}` } });
        expect(res.status, path).toBe(200);
        const text = await res.text();
        for (const secret of [SLACK_TOKEN, WEBHOOK_SECRET, adminToken])
          expect(text, path).not.toContain(secret);
      }
    } finally {
      clearInterval(pacer);
      await a.close();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
      delete process.env.AUTOPILOT_TEST_ADMIN_TOKEN;
      delete process.env.SLACK_URL;
    }
  });
});
