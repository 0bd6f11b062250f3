import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silenceControl } from '../../../src/agent-manager/silences.js';
import { MemoryStore } from '../../../src/state/memory-store.js';
import {
  hashToken,
  isLoopbackHost,
  resolveTokens,
  type Access,
  type ApiToken,
} from '../../../src/api/auth.js';
import { ApiConfigError } from '../../../src/api/errors.js';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../../src/api/server.js';
import { createMetrics } from '../../../src/telemetry/metrics.js';
import { capturedLogger, clock, FakeControls, FakeProvider, RULES, seededStore } from './fixtures.js';

const RAW = {
  viewer: 'viewer-token-0123456789abcdef',
  editor: 'editor-token-0123456789abcdef',
  admin: 'admin-token-0123456789abcdefgh',
};
const TOKENS: ApiToken[] = (['viewer', 'editor', 'admin'] as const).map(role => ({
  name: `${role}-holder`,
  role,
  sha256: hashToken(RAW[role]),
}));

type Caller = 'anonymous' | 'viewer' | 'editor' | 'admin' | 'unknown-token' | 'malformed';
const CALLERS: Caller[] = ['anonymous', 'viewer', 'editor', 'admin', 'unknown-token', 'malformed'];

function headers(caller: Caller): Record<string, string> {
  switch (caller) {
    case 'anonymous':
      return {};
    case 'unknown-token':
      return { authorization: 'Bearer not-a-configured-token-000000' };
    case 'malformed':
      return { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` };
    default:
      return { authorization: `Bearer ${RAW[caller]}` };
  }
}

const RANK = { viewer: 0, editor: 1, admin: 2 } as const;

/** What the access rules (ARCHITECTURE §3) say a caller gets from a route. */
function expected(access: Access, caller: Caller, anonymousReads: boolean): 'allowed' | 401 | 403 {
  if (access === 'public') return 'allowed';
  if (caller === 'unknown-token' || caller === 'malformed') return 401;
  if (caller === 'anonymous') return access === 'viewer' && anonymousReads ? 'allowed' : 401;
  return RANK[caller] >= RANK[access] ? 'allowed' : 403;
}

async function open(
  extra: Partial<ApiServerOptions>,
): Promise<{ server: ApiServer; url: string; logText: () => string }> {
  const provider = new FakeProvider();
  const logs = capturedLogger();
  const server = createApiServer({
    provider,
    store: await seededStore(),
    clock: clock(),
    log: logs.log,
    tokens: TOKENS,
    host: '127.0.0.1',
    port: 0,
    metricsRegistry: createMetrics({ defaultMetrics: false }).registry,
    rules: RULES,
    rateLimit: { max: 10_000, timeWindowMs: 60_000 },
    controls: {
      actions: new FakeControls(),
      pauses: new FakeControls(),
      silences: silenceControl(new MemoryStore(), () => Date.now()),
    },
    ...extra,
  });
  const { url } = await server.start();
  return { server, url, logText: logs.text };
}

function concrete(path: string): string {
  return path.startsWith('/api/v1/actions/')
    ? path.replace(':id', 'act-0001')
    : path.replace(':id', encodeURIComponent('rest:prod/payments'));
}

async function call(url: string, method: string, caller: Caller): Promise<Response> {
  const h = headers(caller);
  return fetch(
    url,
    method === 'GET'
      ? { headers: h }
      : { method, headers: { ...h, 'content-type': 'application/json' }, body: '{}' },
  );
}

/**
 * The machine's first non-loopback IPv4 address: requests to it reach a server bound to 0.0.0.0
 * from off loopback as far as the server can tell. Hosts without one (a sandbox with only `lo`)
 * fall back to 127.0.0.1, which still exercises the off-loopback bind.
 */
function externalAddress(): string {
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  console.warn('auth matrix: no non-loopback IPv4 address here; the 0.0.0.0 server is called on 127.0.0.1');
  return '127.0.0.1';
}

describe.each([
  { name: 'tokens configured, loopback', tokens: TOKENS, anonymousReads: false, host: '127.0.0.1' },
  { name: 'no tokens, loopback', tokens: [] as ApiToken[], anonymousReads: true, host: '127.0.0.1' },
  {
    name: 'tokens configured, every interface, called off loopback',
    tokens: TOKENS,
    anonymousReads: false,
    host: '0.0.0.0',
  },
])('auth matrix: $name', ({ tokens, anonymousReads, host }) => {
  let server: ApiServer;
  let base: string;
  let logText: () => string;
  beforeAll(async () => {
    ({ server, url: base, logText } = await open({ tokens, host }));
    if (host === '0.0.0.0') base = `http://${externalAddress()}:${new URL(base).port}`;
  });
  afterAll(() => server.close());

  it('gives every caller on every route what its role allows, with JSON 401/403 bodies', async () => {
    const routes = server.routes();
    expect(routes.filter(r => r.method !== 'GET').map(r => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v1/actions/:id/approve',
      'POST /api/v1/actions/:id/reject',
      'POST /api/v1/pause',
      'POST /api/v1/resume',
      'POST /api/v1/silences',
      'DELETE /api/v1/silences/:id',
    ]);
    expect(routes.length).toBe(20);
    const rows: string[] = [];
    for (const r of routes) {
      for (const caller of CALLERS) {
        // Without tokens no bearer can be recognised, whatever it says.
        const effective: Caller = tokens.length === 0 && caller !== 'anonymous' ? 'unknown-token' : caller;
        const want = expected(r.access, effective, anonymousReads);
        const res = await call(`${base}${concrete(r.path)}`, r.method, caller);
        const got =
          res.status === 401 || res.status === 403
            ? res.status
            : res.status < 500 || res.status === 503
              ? 'allowed'
              : res.status;
        rows.push(`${r.method} ${r.path} ${caller}: ${String(got)}`);
        expect.soft(got, `${r.method} ${r.path} as ${caller}`).toBe(want);
        if (res.status === 401 || res.status === 403) {
          const body = (await res.json()) as { error: string; message: string };
          expect(body.error).toBe(res.status === 401 ? 'unauthorized' : 'forbidden');
          expect(body.message.length).toBeGreaterThan(0);
        } else {
          await res.arrayBuffer();
        }
      }
    }
    expect(rows).toHaveLength(routes.length * CALLERS.length);
  });

  it('never writes a token into the log', () => {
    const text = logText();
    for (const raw of Object.values(RAW)) expect(text).not.toContain(raw);
  });
});

describe('binding rules', () => {
  it('refuses to listen off loopback without tokens, with a clear error', () => {
    for (const host of ['0.0.0.0', '::', '10.1.2.3', 'flink-autopilot.example']) {
      let error: unknown;
      try {
        createApiServer({
          provider: new FakeProvider(),
          store: undefined as never,
          clock: clock(),
          log: capturedLogger().log,
          tokens: [],
          host,
          port: 0,
          metricsRegistry: createMetrics({ defaultMetrics: false }).registry,
          rules: [],
        });
      } catch (err) {
        error = err;
      }
      expect(error, host).toBeInstanceOf(ApiConfigError);
      expect((error as ApiConfigError).code).toBe('API_INSECURE_BIND');
      expect((error as Error).message).toContain(`listen on ${host} without tokens`);
    }
  });

  it('accepts any host with tokens, and loopback hosts without', () => {
    const base = {
      provider: new FakeProvider(),
      store: undefined as never,
      clock: clock(),
      log: capturedLogger().log,
      port: 0,
      metricsRegistry: createMetrics({ defaultMetrics: false }).registry,
      rules: [],
    };
    expect(() => createApiServer({ ...base, tokens: TOKENS, host: '0.0.0.0' })).not.toThrow();
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1', '[::1]'])
      expect(() => createApiServer({ ...base, tokens: [], host }), host).not.toThrow();
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true);
  });
});

describe('token configuration', () => {
  it('reads tokens as SHA-256 digests, from files and from the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-tokens-'));
    try {
      const file = join(dir, 'token');
      writeFileSync(file, `${RAW.editor}\n`);
      const tokens = await resolveTokens(
        [
          { name: 'ci', role: 'viewer', sha256: hashToken(RAW.viewer).toString('hex') },
          { name: 'ops', role: 'editor', file },
          { name: 'root', role: 'admin', env: 'AP_ADMIN_TOKEN' },
        ],
        { AP_ADMIN_TOKEN: RAW.admin },
      );
      expect(tokens.map(t => [t.name, t.role, t.sha256.toString('hex')])).toEqual([
        ['ci', 'viewer', hashToken(RAW.viewer).toString('hex')],
        ['ops', 'editor', hashToken(RAW.editor).toString('hex')],
        ['root', 'admin', hashToken(RAW.admin).toString('hex')],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.each([
    [{ name: 'x', role: 'viewer', env: 'AP_UNSET' }, 'AP_UNSET is empty'],
    [{ name: 'x', role: 'viewer', env: 'AP_SHORT' }, 'shorter than 16'],
    [{ name: 'x', role: 'viewer', file: '/nonexistent/token' }, 'cannot read /nonexistent/token'],
    [{ name: 'x', role: 'viewer', sha256: 'abc' }, 'SHA-256'],
    [{ name: 'x', role: 'viewer' }, 'exactly one of sha256, file, env'],
    [{ name: 'x', role: 'root', env: 'AP_SHORT' }, 'role'],
  ])('rejects a bad token spec %j', async (spec, message) => {
    await expect(resolveTokens([spec as never], { AP_SHORT: 'short' })).rejects.toThrow(message);
  });
});
