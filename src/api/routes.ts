import type { Registry } from 'prom-client';
import type { Clock, HealthReport } from '../domain/index.js';
import { summarize } from '../domain/index.js';
import type { Store } from '../state/store.js';
import type { Authenticator } from './auth.js';
import { ApiError, notFound } from './errors.js';
import { listJobs } from './jobs.js';
import type { ReportProvider, RuleInfo } from './provider.js';
import { JobParamsSchema, JobsQuerySchema, JournalQuerySchema } from './query.js';
import { route, type Route } from './route.js';
import { summarizeFleet } from './summary.js';

export interface ReadRouteDeps {
  provider: ReportProvider;
  store: Store;
  clock: Clock;
  rules: readonly RuleInfo[];
  metricsRegistry: Registry;
  auth: Authenticator;
  /** Which write routes exist, for the dashboard (`GET /api/v1/whoami`). */
  writes: { approve: boolean; pause: boolean; silences: boolean };
  /** The job's merged policy (mode, bounds, who set each field), shown in its detail. */
  policyOf?: (jobKey: string) => unknown;
}

/** Journal entries shown on a job's page. */
const JOB_JOURNAL_LIMIT = 50;

const ERRORS = {
  400: 'Invalid query: `{error, message, details}`',
  401: 'No or unknown token',
  403: 'Role too low',
};

async function trendOf(store: Store, report: HealthReport, points: number): Promise<(number | null)[]> {
  const state = await store.getJob(report.id);
  return (state?.scoreHistory ?? []).slice(-points).map(p => p.score);
}

/** Probes, metrics and every read route of `/api/v1`. */
export function readRoutes(d: ReadRouteDeps): Route[] {
  return [
    route({
      method: 'GET',
      path: '/healthz',
      access: 'public',
      tag: 'ops',
      summary: 'The process is up.',
      responses: { 200: '`{status: "ok"}`' },
      handler: () => Promise.resolve({ status: 'ok' }),
    }),
    route({
      method: 'GET',
      path: '/readyz',
      access: 'public',
      tag: 'ops',
      summary: 'The first job discovery has finished.',
      responses: { 200: '`{status: "ready"}`', 503: 'Still discovering' },
      handler: () => {
        if (!d.provider.isReady())
          throw new ApiError(503, 'not_ready', 'the first job discovery has not finished');
        return Promise.resolve({ status: 'ready' });
      },
    }),
    route({
      method: 'GET',
      path: '/metrics',
      access: 'viewer',
      tag: 'ops',
      summary: 'Prometheus metrics of the daemon itself.',
      produces: 'text/plain; version=0.0.4',
      responses: { 200: 'Prometheus text exposition', 401: ERRORS[401], 403: ERRORS[403] },
      handler: async ({ reply }) => {
        reply.type(d.metricsRegistry.contentType);
        return d.metricsRegistry.metrics();
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/whoami',
      access: 'viewer',
      tag: 'api',
      summary: 'The caller’s role and which write routes exist (the dashboard shows buttons from it).',
      responses: { 200: '`{role, name, anonymous, writes}`', 401: ERRORS[401] },
      handler: ({ principal }) =>
        Promise.resolve({
          role: d.auth.effectiveRole(principal),
          name: principal.kind === 'token' ? principal.name : null,
          anonymous: principal.kind === 'anonymous',
          writes: d.writes,
        }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/jobs',
      access: 'viewer',
      tag: 'api',
      summary: 'Job summaries (findings without evidence), worst first, filtered and paginated.',
      query: JobsQuerySchema,
      responses: { 200: '`{items, total, nextCursor}`', ...ERRORS },
      handler: async ({ query }) => {
        const { page, total, nextCursor } = listJobs(d.provider.reports(), query);
        const items = await Promise.all(
          page.map(async r =>
            query.trend > 0
              ? { ...summarize(r), trend: await trendOf(d.store, r, query.trend) }
              : summarize(r),
          ),
        );
        return { items, total, nextCursor };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/jobs/:id',
      access: 'viewer',
      tag: 'api',
      summary: 'One job’s full report: findings with evidence, score history and its journal.',
      params: JobParamsSchema,
      responses: {
        200: 'HealthReport v1 + `history` + `journal` + the merged `policy`',
        404: 'No such job',
        ...ERRORS,
      },
      handler: async ({ params }) => {
        const report = d.provider.report(params.id);
        if (!report) throw notFound(`no job ${params.id}`);
        const [state, journal] = await Promise.all([
          d.store.getJob(report.id),
          d.store.readJournal({ jobKey: report.id, limit: JOB_JOURNAL_LIMIT }),
        ]);
        const policy = d.policyOf?.(report.id);
        return {
          ...report,
          history: state?.scoreHistory ?? [],
          journal,
          ...(policy === undefined ? {} : { policy }),
        };
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/summary',
      access: 'viewer',
      tag: 'api',
      summary:
        'Counts by risk (incl. unobservable), by category of firing findings; pauses; cluster findings.',
      responses: { 200: 'FleetSummary', 401: ERRORS[401], 403: ERRORS[403] },
      handler: async () =>
        summarizeFleet(
          d.provider.reports(),
          d.provider.clusterFindings(),
          await d.store.listRecords('pause', d.clock.now()),
        ),
    }),
    route({
      method: 'GET',
      path: '/api/v1/rules',
      access: 'viewer',
      tag: 'api',
      summary: 'The rules in use.',
      responses: { 200: '`{items: [{id, version, title, severity, category, scope}]}`', 401: ERRORS[401] },
      handler: () =>
        Promise.resolve({
          items: d.rules.map(r => ({
            id: r.id,
            version: r.version,
            title: r.title,
            severity: r.severity,
            category: r.category,
            scope: r.scope,
          })),
        }),
    }),
    route({
      method: 'GET',
      path: '/api/v1/journal',
      access: 'viewer',
      tag: 'api',
      summary: 'The action journal, newest first.',
      query: JournalQuerySchema,
      responses: { 200: '`{items: JournalEntry[]}`', ...ERRORS },
      handler: async ({ query }) => ({ items: await d.store.readJournal(query) }),
    }),
  ];
}
