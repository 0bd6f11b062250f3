export type PrometheusErrorCode = 'unreachable' | 'timeout' | 'http' | 'malformed' | 'query';

/**
 * A failed Prometheus query, naming the endpoint and the query. `query` = Prometheus answered
 * `status: error` (bad PromQL, execution error); `malformed` = the answer is not the API's JSON.
 */
export class PrometheusError extends Error {
  constructor(
    readonly code: PrometheusErrorCode,
    message: string,
    readonly details: { endpoint: string; query: string; status?: number; errorType?: string },
    options?: { cause?: unknown },
  ) {
    super(`${message} (${details.endpoint}, query ${JSON.stringify(details.query.slice(0, 200))})`, options);
    this.name = 'PrometheusError';
  }
}

export function isPrometheusError(err: unknown): err is PrometheusError {
  return err instanceof PrometheusError;
}
