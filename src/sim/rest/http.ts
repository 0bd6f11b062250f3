/** Transport-neutral request/response of the simulated REST surface (HTTP server or in-process). */
export interface SimRequest {
  method: string;
  /** Path without query, e.g. `/v1/jobs/overview`. */
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface SimResponse {
  status: number;
  /** JSON-serialisable body, or a raw string (served as is). */
  body: unknown;
  contentType?: string;
}

export function json(body: unknown, status = 200): SimResponse {
  return { status, body };
}

/** Flink's error body: `{"errors":["..."]}`. */
export function errors(status: number, ...messages: string[]): SimResponse {
  return { status, body: { errors: messages } };
}

export function serialize(res: SimResponse): string {
  return typeof res.body === 'string' ? res.body : JSON.stringify(res.body);
}
