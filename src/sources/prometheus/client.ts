import { cpuMsSince } from '../../domain/clock.js';
import { z } from 'zod';
import { httpDispatcher, type Dispatcher } from '../flink-rest/transport.js';
import { PrometheusError } from './errors.js';

/** One sample of an instant vector: its labels and its value (NaN and ±Inf kept as numbers). */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

const sampleSchema = z.object({
  metric: z.record(z.string(), z.string()),
  value: z.tuple([z.number(), z.string()]),
});

/** The `/api/v1/query` envelope (https://prometheus.io/docs/prometheus/latest/querying/api/). */
const responseSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.object({ resultType: z.literal('vector'), result: z.array(sampleSchema) }),
    warnings: z.array(z.string()).optional(),
  }),
  z.object({
    status: z.literal('error'),
    errorType: z.string(),
    error: z.string(),
    data: z.unknown().optional(),
  }),
]);

/** Prometheus's float formatting: "NaN", "+Inf", "-Inf" or a decimal. */
export function parseSampleValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const n = Number(text);
  return text.trim() === '' || Number.isNaN(n) ? undefined : n;
}

export interface PrometheusClientOptions {
  /** Prometheus base URL, e.g. `http://prometheus:9090` (the API is under /api/v1). */
  baseUrl: string;
  /** Per-query timeout (default 10 s); also sent as the query's server-side `timeout`. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

export interface PrometheusStats {
  queries: number;
  failures: number;
  /** Response bytes read. */
  bytes: number;
  /** CPU ms spent turning response text into samples (JSON + schema). */
  parseCpuMs: number;
}

/**
 * PromQL over HTTP: instant queries POSTed form-encoded (a cluster's `job_id=~"…"` selector can
 * be long), answers checked with zod, every failure a PrometheusError naming endpoint and query.
 */
export class PrometheusClient {
  readonly baseUrl: string;
  readonly stats: PrometheusStats = { queries: 0, failures: 0, bytes: 0, parseCpuMs: 0 };
  private readonly dispatcher: Dispatcher;
  private readonly timeoutMs: number;

  constructor(options: PrometheusClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.dispatcher = options.dispatcher ?? httpDispatcher({ maxSockets: 16 });
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The instant vector of `query` at `time` (epoch ms; default: Prometheus's now). */
  async query(query: string, time?: number, cost?: { parseCpuMs: number }): Promise<Sample[]> {
    try {
      return await this.once(query, time, cost);
    } catch (err) {
      this.stats.failures++;
      throw err;
    }
  }

  private async once(
    query: string,
    time: number | undefined,
    cost: { parseCpuMs: number } | undefined,
  ): Promise<Sample[]> {
    const endpoint = `${this.baseUrl}/api/v1/query`;
    const form = new URLSearchParams({
      query,
      timeout: `${Math.max(1, Math.floor(this.timeoutMs / 1000))}s`,
    });
    if (time !== undefined) form.set('time', (time / 1000).toFixed(3));
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.timeoutMs);
    this.stats.queries++;
    let res;
    try {
      res = await this.dispatcher({
        method: 'POST',
        url: endpoint,
        body: form.toString(),
        contentType: 'application/x-www-form-urlencoded',
        signal: controller.signal,
      });
    } catch (err) {
      if (timedOut)
        throw new PrometheusError(
          'timeout',
          `no answer within ${this.timeoutMs} ms`,
          { endpoint, query },
          { cause: err },
        );
      throw new PrometheusError(
        'unreachable',
        'cannot reach Prometheus',
        { endpoint, query },
        { cause: err },
      );
    } finally {
      clearTimeout(timer);
    }
    this.stats.bytes += res.text.length;
    const cpu0 = process.cpuUsage();
    try {
      return this.parse(res.status, res.text, endpoint, query);
    } finally {
      const d = cpuMsSince(cpu0);
      this.stats.parseCpuMs += d;
      if (cost !== undefined) cost.parseCpuMs += d;
    }
  }

  private parse(status: number, text: string, endpoint: string, query: string): Sample[] {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (err) {
      throw new PrometheusError(
        status >= 200 && status < 300 ? 'malformed' : 'http',
        status >= 200 && status < 300 ? 'response is not JSON' : `HTTP ${status}`,
        { endpoint, query, status },
        { cause: err },
      );
    }
    const checked = responseSchema.safeParse(body);
    if (!checked.success) {
      if (status < 200 || status >= 300)
        throw new PrometheusError('http', `HTTP ${status}`, { endpoint, query, status });
      throw new PrometheusError(
        'malformed',
        'response does not match the Prometheus API schema',
        { endpoint, query, status },
        { cause: checked.error },
      );
    }
    const r = checked.data;
    if (r.status === 'error')
      throw new PrometheusError('query', `${r.errorType}: ${r.error}`, {
        endpoint,
        query,
        status,
        errorType: r.errorType,
      });
    if (status < 200 || status >= 300)
      throw new PrometheusError('http', `HTTP ${status}`, { endpoint, query, status });
    const out: Sample[] = new Array<Sample>(r.data.result.length);
    r.data.result.forEach((s, i) => {
      const value = parseSampleValue(s.value[1]);
      if (value === undefined)
        throw new PrometheusError('malformed', `sample value ${JSON.stringify(s.value[1])} is not a number`, {
          endpoint,
          query,
          status,
        });
      out[i] = { metric: s.metric, value };
    });
    return out;
  }
}
