import type { AddressInfo } from 'node:net';
import rateLimit from '@fastify/rate-limit';
import Fastify, { LogController, type FastifyError } from 'fastify';
import type { Registry } from 'prom-client';
import type { Clock } from '../domain/index.js';
import type { Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';
import { Authenticator, type Access, type ApiToken } from './auth.js';
import type { ApiControls } from './controls.js';
import { dashboardRoutes, defaultDashboardDir } from './dashboard.js';
import { ApiError } from './errors.js';
import { openApiDocument } from './openapi.js';
import type { ReportProvider, RuleInfo } from './provider.js';
import { route, type Method, type Route } from './route.js';
import { readRoutes } from './routes.js';
import { writeRoutes } from './write-routes.js';

export interface ApiServerOptions {
  provider: ReportProvider;
  store: Store;
  clock: Clock;
  log: Logger;
  /** Resolved tokens (`resolveTokens`); empty = anonymous reads, allowed on loopback only. */
  tokens: readonly ApiToken[];
  host: string;
  /** 0 = any free port. */
  port: number;
  metricsRegistry: Registry;
  /** The rules in use, for `GET /api/v1/rules`. */
  rules: readonly RuleInfo[];
  /** Requests per IP per window. Default: 600 per minute (a dashboard polls ~40). */
  rateLimit?: { max: number; timeWindowMs: number };
  /** Where the dashboard's files are. Default: `src/api/dashboard/assets` under the package root. */
  dashboardDir?: string;
  /**
   * Write controls (approve/reject planned actions, pause/resume). A write route is served only
   * when its control is given.
   */
  controls?: ApiControls;
  /** The job's merged policy, shown in its detail. */
  policyOf?: (jobKey: string) => unknown;
  /** Version shown in the OpenAPI document. */
  version?: string;
}

export interface ApiServer {
  /** Listens; idempotent. Resolves with the base URL, e.g. `http://127.0.0.1:8080`. */
  start(): Promise<{ url: string }>;
  /** Stops listening and waits for open requests; idempotent. */
  close(): Promise<void>;
  /** Every route served (method, path, required access) — after `start()`. */
  routes(): readonly { method: Method; path: string; access: Access }[];
}

const DEFAULT_RATE_LIMIT = { max: 600, timeWindowMs: 60_000 };
const BODY_LIMIT_BYTES = 64 * 1024;
const WARN = 40;

/**
 * The HTTP API, dashboard and /metrics. Throws `ApiConfigError` (API_INSECURE_BIND) right away
 * when asked to listen off loopback without tokens: the daemon must refuse to start then.
 */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const auth = new Authenticator(opts.tokens, opts.host);
  const log = opts.log.child({ component: 'api' });
  // Fastify's own info lines ("Server listening at …", one per address) carry no structured
  // fields; the API writes its own "api listening" line, so fastify logs from warn up.
  const fastifyLog = log.child(
    {},
    { level: (log.levels.values[log.level] ?? 0) >= WARN ? log.level : 'warn' },
  );
  let app: Awaited<ReturnType<typeof build>> | undefined;
  let table: Route[] = [];
  let starting: Promise<{ url: string }> | undefined;
  let closing: Promise<void> | undefined;

  const build = async () => {
    const api = readRoutes({
      provider: opts.provider,
      store: opts.store,
      clock: opts.clock,
      rules: opts.rules,
      metricsRegistry: opts.metricsRegistry,
      auth,
      ...(opts.policyOf === undefined ? {} : { policyOf: opts.policyOf }),
      writes: {
        approve: opts.controls?.actions !== undefined,
        pause: opts.controls?.pauses !== undefined,
        silences: opts.controls?.silences !== undefined,
      },
    });
    const writes = writeRoutes(opts.controls ?? {});
    const dashboard = await dashboardRoutes(opts.dashboardDir ?? defaultDashboardDir());
    const openapi = route({
      method: 'GET',
      path: '/api/v1/openapi.json',
      access: 'public',
      tag: 'api',
      summary: 'This document.',
      responses: { 200: 'OpenAPI 3.1' },
      handler: () => Promise.resolve(document),
    });
    table = [...api, ...writes, openapi, ...dashboard];
    const document = openApiDocument(table, opts.version ?? '1');

    // Fastify's own per-request info lines are off (a polling dashboard would flood the log); one
    // debug line per request is written below instead.
    const f = Fastify({
      loggerInstance: fastifyLog,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: BODY_LIMIT_BYTES,
    });
    const limit = opts.rateLimit ?? DEFAULT_RATE_LIMIT;
    await f.register(rateLimit, {
      global: true,
      max: limit.max,
      timeWindow: limit.timeWindowMs,
      errorResponseBuilder: (_req, ctx) =>
        new ApiError(429, 'rate_limited', `too many requests; retry in ${ctx.after}`),
    });
    f.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
      if (err instanceof ApiError) {
        return reply.code(err.statusCode).send({
          error: err.code,
          message: err.message,
          ...(err.details === undefined ? {} : { details: err.details }),
        });
      }
      const status = err.statusCode ?? 500;
      if (status < 500) return reply.code(status).send({ error: 'bad_request', message: err.message });
      req.log.error(
        { err: { message: err.message, code: err.code }, route: req.routeOptions.url },
        'api request failed',
      );
      return reply.code(500).send({ error: 'internal', message: 'internal error' });
    });
    f.setNotFoundHandler((req, reply) =>
      reply
        .code(404)
        .send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` }),
    );
    f.addHook('onSend', (req, reply, payload, done) => {
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
      reply.header('x-frame-options', 'DENY');
      if (!req.url.startsWith('/assets/')) reply.header('cache-control', 'no-store');
      done(null, payload);
    });
    f.addHook('onResponse', (req, reply, done) => {
      log.debug(
        {
          reqId: req.id,
          method: req.method,
          route: req.routeOptions.url,
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
        },
        'api request',
      );
      done();
    });
    for (const r of table) {
      f.route({
        method: r.method,
        url: r.path,
        handler: (req, reply) => {
          // Public routes (probes, dashboard files) ignore credentials: a stale token stored in a
          // browser must not break the page that lets its holder replace it.
          if (r.access === 'public') return r.run(req, reply, { kind: 'anonymous' });
          const principal = auth.identify(req.headers.authorization);
          auth.authorize(principal, r.access);
          return r.run(req, reply, principal);
        },
      });
    }
    return f;
  };

  return {
    start() {
      starting ??= (async () => {
        const f = await build();
        app = f;
        await f.listen({ host: opts.host, port: opts.port });
        const url = baseUrl(f.server.address() as AddressInfo);
        // Not `url`/`tokens`: the logger redacts those keys.
        log.info(
          { address: url, anonymousReads: auth.anonymousReads, tokenCount: opts.tokens.length },
          'api listening',
        );
        return { url };
      })();
      return starting;
    },
    close() {
      closing ??= (async () => {
        await starting?.catch(() => undefined);
        await app?.close();
      })();
      return closing;
    },
    routes: () => table.map(r => ({ method: r.method, path: r.path, access: r.access })),
  };
}

function baseUrl(a: AddressInfo): string {
  const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}
