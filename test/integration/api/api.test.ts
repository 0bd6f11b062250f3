import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../../src/api/server.js';
import type { HealthReport } from '../../../src/domain/index.js';
import { createMetrics } from '../../../src/telemetry/metrics.js';
import { hashToken, type ApiToken } from '../../../src/api/auth.js';
import {
  capturedLogger,
  clock,
  FakeControls,
  FakeProvider,
  RULES,
  seededStore,
  WORST_FIRST,
} from './fixtures.js';

interface Page {
  items: (Omit<HealthReport, 'findings'> & {
    findings: Record<string, unknown>[];
    trend?: (number | null)[];
  })[];
  total: number;
  nextCursor: string | null;
}

async function open(
  extra: Partial<ApiServerOptions> = {},
): Promise<{ server: ApiServer; url: string; provider: FakeProvider }> {
  const provider = new FakeProvider();
  const metrics = createMetrics({ reports: () => provider.reports(), defaultMetrics: false });
  const server = createApiServer({
    provider,
    store: await seededStore(),
    clock: clock(),
    log: capturedLogger().log,
    tokens: [],
    host: '127.0.0.1',
    port: 0,
    metricsRegistry: metrics.registry,
    rules: RULES,
    ...extra,
  });
  const { url } = await server.start();
  return { server, url, provider };
}

async function getJson<T = Record<string, unknown>>(url: string): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as T };
}

describe('API reads (anonymous on loopback, no tokens)', () => {
  let server: ApiServer;
  let base: string;
  let provider: FakeProvider;
  beforeAll(async () => {
    ({ server, url: base, provider } = await open());
  });
  afterAll(() => server.close());

  it('lists jobs worst first: risk high > medium > low > unobservable, then score ascending', async () => {
    const { status, body } = await getJson<Page>(`${base}/api/v1/jobs`);
    expect(status).toBe(200);
    expect(body.items.map(i => i.id)).toEqual(WORST_FIRST);
    expect(body.total).toBe(7);
    expect(body.nextCursor).toBeNull();
  });

  it('leaves evidence out of the list and puts it, the history and the journal in the detail', async () => {
    const list = await getJson<Page>(`${base}/api/v1/jobs?rule=checkpoint-failing`);
    const summary = list.body.items[0];
    expect(summary?.findings).toHaveLength(2);
    for (const f of summary?.findings ?? []) expect(f).not.toHaveProperty('evidence');

    const detail = await getJson<
      HealthReport & { history: unknown[]; journal: { actionId: string; status: string }[] }
    >(`${base}/api/v1/jobs/${encodeURIComponent('rest:prod/payments')}`);
    expect(detail.status).toBe(200);
    expect(detail.body.findings[0]?.evidence).toEqual({
      'vertex.busyRatio.max': 0.97,
      'vertex.isBottleneck': true,
    });
    expect(detail.body.history).toHaveLength(5);
    expect(detail.body.journal.map(e => `${e.actionId}:${e.status}`)).toEqual(['a1:executed', 'a1:planned']);
  });

  it('adds a score trend only when asked', async () => {
    const { body } = await getJson<Page>(`${base}/api/v1/jobs?trend=3&limit=1`);
    expect(body.items[0]?.trend).toEqual([null, 60, 46]);
    const plain = await getJson<Page>(`${base}/api/v1/jobs?limit=1`);
    expect(plain.body.items[0]).not.toHaveProperty('trend');
  });

  it('pages with a cursor through every job exactly once, in order', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const q: string = cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const { body } = await getJson<Page>(`${base}/api/v1/jobs?limit=3${q}`);
      expect(body.total).toBe(7);
      seen.push(...body.items.map(i => i.id));
      cursor = body.nextCursor;
      pages += 1;
    } while (cursor !== null && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(WORST_FIRST);
  });

  it('keeps a cursor stable when a job changes risk between pages', async () => {
    const first = await getJson<Page>(`${base}/api/v1/jobs?limit=2`);
    expect(first.body.items.map(i => i.id)).toEqual(WORST_FIRST.slice(0, 2));
    const saved = provider.items;
    // payments (already shown) recovers to low 99: the next page must not show it again or skip one.
    provider.items = saved.map(r => (r.id === 'rest:prod/payments' ? { ...r, risk: 'low', score: 99 } : r));
    try {
      const next = await getJson<Page>(`${base}/api/v1/jobs?limit=2&cursor=${first.body.nextCursor ?? ''}`);
      expect(next.body.items.map(i => i.id)).toEqual(['rest:edge/clicks', 'rest:prod/stock']);
    } finally {
      provider.items = saved;
    }
  });

  it.each([
    ['risk=high', ['rest:prod/payments', 'rest:prod/fraud']],
    ['risk=unobservable', ['rest:prod/ghost']],
    ['risk=low,unobservable', ['rest:prod/orders', 'rest:edge/search', 'rest:prod/ghost']],
    ['risk=medium&risk=low&cluster=edge', ['rest:edge/clicks', 'rest:edge/search']],
    ['namespace=pay', ['rest:prod/payments', 'rest:prod/fraud']],
    ['label=team%3Dshop', ['rest:edge/clicks', 'rest:prod/orders']],
    ['label=team%3Dshop&label=team%3Dpay', []],
    ['category=lag', ['rest:edge/clicks']],
    // fraud's gc finding is resolved: a category or rule filter looks at firing findings only.
    ['category=gc', []],
    ['rule=backpressure', ['rest:prod/payments']],
  ])('filters %s', async (query, expected) => {
    const { status, body } = await getJson<Page>(`${base}/api/v1/jobs?${query}`);
    expect(status).toBe(200);
    expect(body.items.map(i => i.id)).toEqual(expected);
    expect(body.total).toBe(expected.length);
  });

  it.each([
    ['limit=0', 'limit'],
    ['limit=501', 'limit'],
    ['limit=ten', 'limit'],
    ['risk=severe', 'risk'],
    ['category=weather', 'category'],
    ['label=team', 'label'],
    ['colour=red', 'colour'],
    ['cursor=not-a-cursor', 'cursor'],
    ['trend=-1', 'trend'],
  ])('answers 400 with a clear body for %s', async (query, field) => {
    const { status, body } = await getJson<{ error: string; message: string }>(
      `${base}/api/v1/jobs?${query}`,
    );
    expect(status).toBe(400);
    expect(body.error).toBe('bad_request');
    expect(body.message).toMatch(/^invalid query: /);
    expect(body.message).toContain(field);
  });

  it('answers 404 with a JSON body for an unknown job and an unknown route', async () => {
    const job = await getJson<{ error: string }>(
      `${base}/api/v1/jobs/${encodeURIComponent('rest:prod/nope')}`,
    );
    expect(job).toEqual({ status: 404, body: { error: 'not_found', message: 'no job rest:prod/nope' } });
    const route = await getJson<{ error: string }>(`${base}/api/v1/nothing`);
    expect(route.status).toBe(404);
    expect(route.body.error).toBe('not_found');
  });

  it('summarizes counts by risk (incl. unobservable), data state and category of firing findings', async () => {
    const { body } = await getJson(`${base}/api/v1/summary`);
    expect(body).toMatchObject({
      jobs: 7,
      byRisk: { high: 2, medium: 2, low: 2, unobservable: 1 },
      byDataState: { ok: 6, partial: 0, stale: 1 },
      byCategory: { checkpoint: 1, backpressure: 1, lag: 1 },
      pausedJobs: 1,
      pauses: { fleet: false, clusters: [], jobs: [] },
      clusterFindings: [],
    });
    expect(body.byCategory).not.toHaveProperty('gc');
  });

  it('lists the rules in use and the journal', async () => {
    const rules = await getJson<{ items: unknown[] }>(`${base}/api/v1/rules`);
    expect(rules.body.items).toEqual(RULES);
    const all = await getJson<{ items: { actionId: string }[] }>(`${base}/api/v1/journal`);
    expect(all.body.items.map(e => e.actionId)).toEqual(['b1', 'a1', 'a1']);
    const one = await getJson<{ items: { status: string }[] }>(
      `${base}/api/v1/journal?jobKey=rest%3Aprod%2Fpayments&limit=1`,
    );
    expect(one.body.items).toEqual([expect.objectContaining({ actionId: 'a1', status: 'executed' })]);
    expect((await fetch(`${base}/api/v1/journal?limit=9999`)).status).toBe(400);
  });

  it('answers the probes: healthz always, readyz once the first discovery is done', async () => {
    expect(await getJson(`${base}/healthz`)).toEqual({ status: 200, body: { status: 'ok' } });
    provider.ready = false;
    try {
      const notReady = await getJson(`${base}/readyz`);
      expect(notReady.status).toBe(503);
      expect(notReady.body.error).toBe('not_ready');
    } finally {
      provider.ready = true;
    }
    expect(await getJson(`${base}/readyz`)).toEqual({ status: 200, body: { status: 'ready' } });
  });

  it('serves the self-observability metrics as Prometheus text', async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('autopilot_jobs_tracked 7');
    expect(text).toContain('autopilot_jobs_by_risk{risk="unobservable"} 1');
    expect(text).toContain('autopilot_jobs_by_risk{risk="high"} 2');
    expect(text).toContain('autopilot_jobs_paused 1');
    expect(text).toContain('autopilot_job_health_score{job="rest:prod/payments"} 46');
    expect(text).not.toContain('autopilot_job_health_score{job="rest:prod/ghost"}');
    expect(text).toContain('autopilot_cycle_stage_duration_seconds_bucket{le="0.001",stage="collect"} 0');
  });

  it('publishes an OpenAPI document listing every route it serves', async () => {
    const { body } = await getJson<{ openapi: string; paths: Record<string, Record<string, unknown>> }>(
      `${base}/api/v1/openapi.json`,
    );
    expect(body.openapi).toBe('3.1.0');
    const documented = Object.entries(body.paths)
      .flatMap(([p, ops]) => Object.keys(ops).map(m => `${m.toUpperCase()} ${p}`))
      .sort();
    const served = server
      .routes()
      .map(r => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`)
      .sort();
    expect(documented).toEqual(served);
    for (const expected of [
      'GET /api/v1/jobs',
      'GET /api/v1/jobs/{id}',
      'GET /api/v1/summary',
      'GET /api/v1/rules',
      'GET /api/v1/journal',
      'GET /healthz',
      'GET /readyz',
      'GET /metrics',
      'GET /',
    ])
      expect(documented).toContain(expected);
    const jobs = body.paths['/api/v1/jobs']?.get as { parameters: { name: string }[] };
    expect(jobs.parameters.map(p => p.name)).toEqual(
      expect.arrayContaining([
        'limit',
        'cursor',
        'risk',
        'cluster',
        'namespace',
        'label',
        'category',
        'rule',
      ]),
    );
  });

  it('serves the dashboard with a strict content security policy', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/html');
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await res.text()).toContain('<script type="module" src="/assets/app.js">');
    const js = await fetch(`${base}/assets/app.js`);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect((await fetch(`${base}/assets/../package.json`)).status).toBe(404);
  });
});

describe('API logging', () => {
  it('writes one structured listening line, a debug line per request, and no fastify info lines', async () => {
    const logs = capturedLogger();
    const { server, url } = await open({ log: logs.log });
    try {
      await fetch(`${url}/api/v1/jobs?limit=1`);
    } finally {
      await server.close();
    }
    const lines = logs
      .text()
      .trim()
      .split('\n')
      .map(l => JSON.parse(l) as Record<string, unknown>);
    const listening = lines.filter(l => l.msg === 'api listening');
    expect(listening).toEqual([
      expect.objectContaining({ address: url, anonymousReads: true, tokenCount: 0 }),
    ]);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: 'api request', method: 'GET', route: '/api/v1/jobs', status: 200 }),
    );
    expect(lines.filter(l => String(l.msg).startsWith('Server listening'))).toEqual([]);
  });
});

describe('API rate limiting', () => {
  it('answers 429 with a JSON body past the limit', async () => {
    const { server, url } = await open({ rateLimit: { max: 3, timeWindowMs: 60_000 } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${url}/api/v1/summary`)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const res = await fetch(`${url}/api/v1/summary`);
      expect(await res.json()).toMatchObject({ error: 'rate_limited' });
    } finally {
      await server.close();
    }
  });
});

describe('API writes', () => {
  const raw = { editor: 'editor-secret-0123456789', admin: 'admin-secret-0123456789ab' };
  const tokens: ApiToken[] = [
    { name: 'ed', role: 'editor', sha256: hashToken(raw.editor) },
    { name: 'root', role: 'admin', sha256: hashToken(raw.admin) },
  ];
  const controls = new FakeControls();
  let server: ApiServer;
  let base: string;
  beforeAll(async () => {
    ({ server, url: base } = await open({ tokens, controls: { actions: controls, pauses: controls } }));
  });
  afterAll(() => server.close());

  const post = async (path: string, who: keyof typeof raw, body: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${raw[who]}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('approves and rejects through the action control, naming the token holder', async () => {
    expect(await post('/api/v1/actions/act-0001/approve', 'editor', { reason: 'looks right' })).toEqual({
      status: 200,
      body: { id: 'act-0001', status: 'approved' },
    });
    expect((await post('/api/v1/actions/act-0002/reject', 'admin', {})).body).toEqual({
      id: 'act-0002',
      status: 'skipped',
    });
    expect(controls.calls).toEqual(['approve act-0001 by ed', 'reject act-0002 by root']);
  });

  it('maps an unknown action to 404 and one not waiting to 409', async () => {
    expect(await post('/api/v1/actions/missing/approve', 'editor', {})).toMatchObject({
      status: 404,
      body: { error: 'not_found' },
    });
    expect(await post('/api/v1/actions/done/approve', 'editor', {})).toMatchObject({
      status: 409,
      body: { error: 'conflict' },
    });
  });

  it('pauses a cluster as editor, the fleet only as admin', async () => {
    controls.calls = [];
    expect((await post('/api/v1/pause', 'editor', { scope: 'cluster', target: 'prod' })).status).toBe(200);
    expect(await post('/api/v1/pause', 'editor', { scope: 'fleet' })).toMatchObject({
      status: 403,
      body: { error: 'forbidden', message: 'pausing or resuming the whole fleet needs role admin' },
    });
    expect((await post('/api/v1/pause', 'admin', { scope: 'fleet', reason: 'incident' })).status).toBe(200);
    expect((await post('/api/v1/resume', 'admin', { scope: 'fleet' })).status).toBe(200);
    expect(controls.calls).toEqual([
      'pause {"kind":"cluster","cluster":"prod"} by ed',
      'pause {"kind":"fleet"} by root',
      'resume {"kind":"fleet"} by root',
    ]);
  });

  it('answers 400 for a bad body', async () => {
    const r = await post('/api/v1/pause', 'editor', { scope: 'galaxy' });
    expect(r.status).toBe(400);
    expect(r.body.message).toMatch(/^invalid body: scope/);
    expect((await post('/api/v1/pause', 'editor', { scope: 'job' })).body.message).toContain('target');
  });
});
