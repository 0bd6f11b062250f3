/**
 * Why a Flink REST call failed, as a stable code:
 * - `unreachable`: no connection (refused, reset, DNS) — the JobManager is down or unreachable;
 * - `timeout`: no answer within the per-request timeout;
 * - `job-gone`: 404 for a job (cancelled, finished and archived, or a new incarnation);
 * - `malformed`: the body is not JSON or does not match the wire schema;
 * - `http`: another non-2xx status (`status` tells which, e.g. 409 on a concurrent update);
 * - `budget`: the per-JobManager request budget refused the call;
 * - `too-large`: a plain-text body (a log file) ran past the read's byte cap.
 */
export type FlinkRestErrorCode =
  'unreachable' | 'job-gone' | 'malformed' | 'http' | 'timeout' | 'budget' | 'too-large';

export class FlinkRestError extends Error {
  constructor(
    readonly code: FlinkRestErrorCode,
    message: string,
    readonly details: { url?: string; status?: number; errors?: readonly string[] } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FlinkRestError';
  }

  get status(): number | undefined {
    return this.details.status;
  }

  /** Worth retrying: the next attempt may succeed without anything changing on our side. */
  get retryable(): boolean {
    return (
      this.code === 'unreachable' ||
      this.code === 'timeout' ||
      (this.code === 'http' && (this.status ?? 0) >= 500)
    );
  }
}

export function isFlinkRestError(err: unknown): err is FlinkRestError {
  return err instanceof FlinkRestError;
}
