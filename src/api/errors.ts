/** An error the API answers with: an HTTP status, a stable code and a message safe to show. */
export class ApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export const unauthorized = (message: string): ApiError => new ApiError(401, 'unauthorized', message);
export const forbidden = (message: string): ApiError => new ApiError(403, 'forbidden', message);
export const notFound = (message: string): ApiError => new ApiError(404, 'not_found', message);
export const badRequest = (message: string, details?: unknown): ApiError =>
  new ApiError(400, 'bad_request', message, details);

/** The API cannot start as configured (e.g. bound off loopback without tokens). */
export class ApiConfigError extends Error {
  constructor(
    readonly code: 'API_INSECURE_BIND' | 'API_TOKENS_INVALID' | 'API_ASSETS_MISSING',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiConfigError';
  }
}
