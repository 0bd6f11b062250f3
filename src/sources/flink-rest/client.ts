import { cpuMsSince } from '../../domain/clock.js';
import { z } from 'zod';
import { RequestBudget, type BudgetOptions } from './budget.js';
import { FlinkRestError } from './errors.js';
import {
  aggregatedMetricsSchema,
  checkpointConfigSchema,
  checkpointingSchema,
  clusterOverviewSchema,
  configEntriesSchema,
  dashboardConfigSchema,
  exceptionsSchema,
  jobDetailsSchema,
  jobsOverviewSchema,
  logListSchema,
  metricNamesSchema,
  metricValuesSchema,
  resourceRequirementsSchema,
  taskManagersSchema,
  vertexDetailsSchema,
  type ResourceRequirements,
} from './schemas.js';
import {
  BodyTooLargeError,
  httpDispatcher,
  sliceWhole,
  type ByteSlice,
  type Dispatcher,
  type SliceResult,
  type TransportRequest,
  type TransportResponse,
} from './transport.js';
import { FALLBACK_FEATURES, featuresFor, type FlinkFeatures } from './version.js';

export interface FlinkRestClientOptions {
  /** JobManager REST base URL, e.g. `http://127.0.0.1:8081`. */
  baseUrl: string;
  /** Per-request timeout (default 5 s). */
  timeoutMs?: number;
  /** Extra attempts after a retryable failure (unreachable, timeout, 5xx) of a GET (default 2). */
  retries?: number;
  /** First backoff; doubles per attempt (default 200 ms). */
  backoffMs?: number;
  budget?: Partial<BudgetOptions>;
  dispatcher?: Dispatcher;
  /** Waits between retries (injectable so tests do not sleep). */
  sleep?: (ms: number) => Promise<void>;
  /** How long cluster-wide answers (overview, TaskManagers, version) are reused (default 5 s). */
  clusterCacheMs?: number;
}

export interface ClientStats {
  requests: number;
  /** CPU ms spent turning response text into checked values (JSON + schema). */
  parseCpuMs: number;
  retries: number;
  failures: Partial<Record<FlinkRestError['code'], number>>;
}

export type Aggregation = 'min' | 'max' | 'avg' | 'sum' | 'skew';

const enc = encodeURIComponent;

/**
 * Typed client of one Flink JobManager's REST API: per-request timeouts, bounded retries with
 * exponential backoff (GET only; a PUT is never re-sent), a per-JobManager request budget, and
 * every failure classified as a FlinkRestError with a stable code.
 */
export class FlinkRestClient {
  readonly baseUrl: string;
  readonly budget: RequestBudget;
  readonly stats: ClientStats = { requests: 0, parseCpuMs: 0, retries: 0, failures: {} };
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  readonly clusterCacheMs: number;
  private readonly cache = new Map<string, { at: number; value: Promise<unknown> }>();
  private readonly memory = new Map<string, unknown>();

  constructor(options: FlinkRestClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.dispatcher = options.dispatcher ?? httpDispatcher();
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retries = options.retries ?? 2;
    this.backoffMs = options.backoffMs ?? 200;
    this.sleep = options.sleep ?? (ms => new Promise(r => setTimeout(r, ms)));
    this.clusterCacheMs = options.clusterCacheMs ?? 5_000;
    this.budget = new RequestBudget({ maxInFlight: 4, maxWaitMs: 10_000, maxQueued: 256, ...options.budget });
  }

  /**
   * Reuses a value computed less than `ttlMs` ago (by the caller's clock `now`); a failed value is
   * dropped so the next call tries again.
   */
  cached<T>(key: string, now: number, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit !== undefined && now - hit.at < ttlMs && now >= hit.at) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(key, { at: now, value });
    value.catch(() => {
      if (this.cache.get(key)?.value === value) this.cache.delete(key);
    });
    return value;
  }

  /** Keeps a value for the life of the client (per-incarnation facts: metric ids, job config). */
  remember<T>(key: string, value: T): T {
    if (this.memory.size >= 50_000) this.memory.clear();
    this.memory.set(key, value);
    return value;
  }

  remembered<T>(key: string): T | undefined {
    return this.memory.get(key) as T | undefined;
  }

  async get<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
    return this.request('GET', path, schema);
  }

  async request<S extends z.ZodType>(
    method: TransportRequest['method'],
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.infer<S>> {
    return this.withRetries(method, () => this.once(method, path, schema, body));
  }

  /** Within the request budget; GETs retried with backoff on retryable failures. */
  private async withRetries<T>(method: TransportRequest['method'], fn: () => Promise<T>): Promise<T> {
    const attempts = method === 'GET' ? this.retries + 1 : 1;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.budget.run(fn);
      } catch (err) {
        const e =
          err instanceof FlinkRestError
            ? err
            : new FlinkRestError('unreachable', 'request failed', {}, { cause: err });
        if (!e.retryable || attempt + 1 >= attempts) {
          this.stats.failures[e.code] = (this.stats.failures[e.code] ?? 0) + 1;
          throw e;
        }
        this.stats.retries++;
        await this.sleep(this.backoffMs * 2 ** attempt);
      }
    }
  }

  /** One request with the per-request timeout; network failures classified. */
  private async send(
    method: TransportRequest['method'],
    path: string,
    body?: unknown,
    slice?: ByteSlice,
  ): Promise<TransportResponse & { url: string }> {
    const url = `${this.baseUrl}${path}`;
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    this.stats.requests++;
    let res: TransportResponse;
    try {
      const req: TransportRequest = { method, url, signal: controller.signal };
      if (body !== undefined) req.body = JSON.stringify(body);
      if (slice !== undefined) req.slice = slice;
      res = await this.dispatcher(req);
    } catch (err) {
      if (err instanceof BodyTooLargeError)
        throw new FlinkRestError('too-large', err.message, { url }, { cause: err });
      if (timedOut)
        throw new FlinkRestError('timeout', `no answer within ${this.timeoutMs} ms`, { url }, { cause: err });
      throw new FlinkRestError('unreachable', 'cannot reach the JobManager', { url }, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    if (res.status === 0) throw new FlinkRestError('unreachable', 'cannot reach the JobManager', { url });
    return { ...res, url };
  }

  /**
   * A plain-text file (a log): only the bytes in [skip, skip + take) are kept; the read stops once
   * they are in and fails with `too-large` when the body runs past `max` first. Flink serves the
   * whole file on every call, so `skip` bytes still cross the wire (never into memory).
   */
  async readSlice(path: string, slice: ByteSlice): Promise<{ text: string; sliced: SliceResult }> {
    return this.withRetries('GET', async () => {
      const res = await this.send('GET', path, undefined, slice);
      if (res.status < 200 || res.status >= 300)
        throw new FlinkRestError('http', `HTTP ${res.status}`, { url: res.url, status: res.status });
      if (res.sliced !== undefined) return { text: res.text, sliced: res.sliced };
      try {
        return sliceWhole(res.text, slice);
      } catch (err) {
        throw new FlinkRestError('too-large', (err as Error).message, { url: res.url }, { cause: err });
      }
    });
  }

  private async once<S extends z.ZodType>(
    method: TransportRequest['method'],
    path: string,
    schema: S,
    body?: unknown,
  ): Promise<z.infer<S>> {
    const res = await this.send(method, path, body);
    const cpu0 = process.cpuUsage();
    try {
      return this.check(path, res.url, res, schema);
    } finally {
      this.stats.parseCpuMs += cpuMsSince(cpu0);
    }
  }

  private check<S extends z.ZodType>(
    path: string,
    url: string,
    res: { status: number; text: string },
    schema: S,
  ): z.infer<S> {
    let parsed: unknown;
    try {
      parsed = res.text === '' ? undefined : JSON.parse(res.text);
    } catch (err) {
      if (res.status >= 200 && res.status < 300)
        throw new FlinkRestError(
          'malformed',
          'response is not JSON',
          { url, status: res.status },
          { cause: err },
        );
      parsed = undefined;
    }
    if (res.status < 200 || res.status >= 300) {
      const errors = errorsOf(parsed);
      const code = res.status === 404 && /^\/jobs\/[0-9a-f]{32}(\/|$)/.test(path) ? 'job-gone' : 'http';
      throw new FlinkRestError(code, `HTTP ${res.status}`, { url, status: res.status, errors });
    }
    const checked = schema.safeParse(parsed);
    if (!checked.success)
      throw new FlinkRestError(
        'malformed',
        'response does not match the wire schema',
        { url, status: res.status },
        { cause: checked.error },
      );
    return checked.data;
  }

  // ---- typed endpoints -------------------------------------------------------------------------

  /** Flink version (from `/config`), cached; falls back to 1.18 features when unreadable. */
  async features(now: number): Promise<FlinkFeatures> {
    try {
      return await this.cached('features', now, 300_000, async () =>
        featuresFor((await this.get('/config', dashboardConfigSchema))['flink-version']),
      );
    } catch (err) {
      if (err instanceof FlinkRestError && (err.code === 'malformed' || err.code === 'http'))
        return FALLBACK_FEATURES;
      throw err;
    }
  }

  overview() {
    return this.get('/overview', clusterOverviewSchema);
  }

  jobsOverview() {
    return this.get('/jobs/overview', jobsOverviewSchema);
  }

  job(jobId: string) {
    return this.get(`/jobs/${enc(jobId)}`, jobDetailsSchema);
  }

  jobManagerConfigOfJob(jobId: string) {
    return this.get(`/jobs/${enc(jobId)}/jobmanager/config`, configEntriesSchema);
  }

  vertexDetails(jobId: string, vertexId: string) {
    return this.get(`/jobs/${enc(jobId)}/vertices/${enc(vertexId)}`, vertexDetailsSchema);
  }

  /** Metric ids available on the vertex's subtasks (the list call, without `get`). */
  async subtaskMetricNames(jobId: string, vertexId: string): Promise<string[]> {
    const list = await this.get(
      `/jobs/${enc(jobId)}/vertices/${enc(vertexId)}/subtasks/metrics`,
      metricNamesSchema,
    );
    return list.map(m => m.id);
  }

  subtaskMetrics(jobId: string, vertexId: string, ids: readonly string[], aggs: readonly Aggregation[]) {
    return this.get(
      `/jobs/${enc(jobId)}/vertices/${enc(vertexId)}/subtasks/metrics?get=${ids.map(enc).join(',')}&agg=${aggs.join(',')}`,
      aggregatedMetricsSchema,
    );
  }

  checkpoints(jobId: string) {
    return this.get(`/jobs/${enc(jobId)}/checkpoints`, checkpointingSchema);
  }

  checkpointConfig(jobId: string) {
    return this.get(`/jobs/${enc(jobId)}/checkpoints/config`, checkpointConfigSchema);
  }

  exceptions(jobId: string, max = 10) {
    return this.get(`/jobs/${enc(jobId)}/exceptions?maxExceptions=${max}`, exceptionsSchema);
  }

  jobMetrics(jobId: string, ids: readonly string[]) {
    return this.get(`/jobs/${enc(jobId)}/metrics?get=${ids.map(enc).join(',')}`, metricValuesSchema);
  }

  taskManagers() {
    return this.get('/taskmanagers', taskManagersSchema);
  }

  taskManagerMetrics(tmId: string, ids: readonly string[]) {
    return this.get(`/taskmanagers/${enc(tmId)}/metrics?get=${ids.map(enc).join(',')}`, metricValuesSchema);
  }

  jobManagerMetrics(ids: readonly string[]) {
    return this.get(`/jobmanager/metrics?get=${ids.map(enc).join(',')}`, metricValuesSchema);
  }

  /** Log files of the JobManager (`component` = undefined) or of a TaskManager. */
  logList(taskManagerId?: string) {
    return this.get(
      taskManagerId === undefined ? '/jobmanager/logs' : `/taskmanagers/${enc(taskManagerId)}/logs`,
      logListSchema,
    );
  }

  /** Path of one log file (`/jobmanager/logs/:name`, `/taskmanagers/:id/logs/:name`). */
  logPath(name: string, taskManagerId?: string): string {
    return taskManagerId === undefined
      ? `/jobmanager/logs/${enc(name)}`
      : `/taskmanagers/${enc(taskManagerId)}/logs/${enc(name)}`;
  }

  getResourceRequirements(jobId: string): Promise<ResourceRequirements> {
    return this.get(`/jobs/${enc(jobId)}/resource-requirements`, resourceRequirementsSchema);
  }

  /** PUT (never retried: a conflict or a timeout must be re-planned from fresh data). */
  async putResourceRequirements(jobId: string, body: ResourceRequirements): Promise<void> {
    await this.request('PUT', `/jobs/${enc(jobId)}/resource-requirements`, z.unknown(), body);
  }
}

function errorsOf(body: unknown): string[] | undefined {
  if (typeof body !== 'object' || body === null || !('errors' in body)) return undefined;
  const e = body.errors;
  return Array.isArray(e) ? e.filter((x): x is string => typeof x === 'string') : undefined;
}
