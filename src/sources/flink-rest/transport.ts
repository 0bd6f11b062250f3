import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface TransportRequest {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH';
  url: string;
  body?: string;
  /** Content type of `body` (default application/json). */
  contentType?: string;
  signal: AbortSignal;
  /**
   * A plain-text file read (Flink's log endpoints return the whole file, no Range support): keep
   * only the bytes in [skip, skip + take), stop reading once they are in, and fail when the body
   * runs past `max` bytes before that. Without it the body is JSON, bounded by MAX_BODY_BYTES.
   */
  slice?: ByteSlice;
}

export interface ByteSlice {
  skip: number;
  take: number;
  max: number;
}

export interface TransportResponse {
  status: number;
  text: string;
  /** Set when the dispatcher honoured `slice`: what it received and kept. */
  sliced?: SliceResult;
}

export interface SliceResult {
  /** Bytes received from the server (including skipped ones). */
  received: number;
  /** Bytes kept (the text is their UTF-8 decoding). */
  kept: number;
  /** The body ended (end of file reached) rather than the read being stopped. */
  ended: boolean;
}

/** Thrown (as the transport's error) when a sliced body runs past its `max`. */
export class BodyTooLargeError extends Error {
  readonly code = 'BODY_TOO_LARGE';
  constructor(readonly max: number) {
    super(`response body larger than ${max} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/**
 * Applies a slice to a body received whole (dispatchers that cannot stream: in-process). Bytes
 * beyond `max` are never looked at: the caller sees the same error a streaming read would give.
 */
export function sliceWhole(body: string, slice: ByteSlice): { text: string; sliced: SliceResult } {
  // Pure ASCII (log files nearly always are): characters are bytes, no copy into a Buffer.
  if (!NON_ASCII.test(body)) {
    const end = Math.min(body.length, slice.skip + slice.take);
    if (end > slice.max) throw new BodyTooLargeError(slice.max);
    const text = body.slice(Math.min(body.length, slice.skip), end);
    return { text, sliced: { received: end, kept: text.length, ended: end >= body.length } };
  }
  const bytes = Buffer.from(body, 'utf8');
  const end = Math.min(bytes.length, slice.skip + slice.take);
  if (end > slice.max) throw new BodyTooLargeError(slice.max);
  const kept = bytes.subarray(Math.min(bytes.length, slice.skip), end);
  return {
    text: kept.toString('utf8'),
    sliced: { received: end, kept: kept.length, ended: end >= bytes.length },
  };
}

/** Anything but printable ASCII, tab and line breaks (those take the exact, Buffer path). */
const NON_ASCII = /[^ -~\t\n\r]/;

/** Sends one request; rejects on network errors and on abort. Injectable for tests and in-process use. */
export type Dispatcher = (req: TransportRequest) => Promise<TransportResponse>;

const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** node:http(s) with keep-alive connections, bounded sockets per origin and bounded bodies. */
export function httpDispatcher(options: { maxSockets?: number } = {}): Dispatcher {
  const agent = new Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  const httpsAgent = new HttpsAgent({ keepAlive: true, maxSockets: options.maxSockets ?? 8 });
  return req =>
    new Promise<TransportResponse>((resolve, reject) => {
      const url = new URL(req.url);
      const isHttps = url.protocol === 'https:';
      const send = isHttps ? httpsRequest : request;
      const headers: Record<string, string> = {
        accept: req.slice === undefined ? 'application/json' : 'text/plain, */*',
      };
      if (req.body !== undefined) {
        headers['content-type'] = req.contentType ?? 'application/json';
        headers['content-length'] = String(Buffer.byteLength(req.body));
      }
      const r = send(
        url,
        { method: req.method, agent: isHttps ? httpsAgent : agent, headers, signal: req.signal },
        res => {
          if (req.slice !== undefined && (res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300) {
            readSlice(res, req.slice, r.destroy.bind(r)).then(
              ({ kept, sliced }) => resolve({ status: res.statusCode ?? 0, text: kept, sliced }),
              reject,
            );
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) res.destroy(new Error('response body too large'));
            else chunks.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });
}

/**
 * Streams a body keeping only the slice: bytes before `skip` are counted and dropped, at most
 * `take` bytes are kept, and the request is torn down as soon as they are in (memory stays at
 * `take`, whatever the file's size).
 */
function readSlice(
  res: NodeJS.ReadableStream & { destroy(err?: Error): void },
  slice: ByteSlice,
  abort: () => void,
): Promise<{ kept: string; sliced: SliceResult }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    let kept = 0;
    let done = false;
    const finish = (ended: boolean): void => {
      if (done) return;
      done = true;
      resolve({ kept: Buffer.concat(chunks).toString('utf8'), sliced: { received, kept, ended } });
    };
    res.on('data', (c: Buffer) => {
      if (done) return;
      const start = received;
      received += c.length;
      const from = Math.max(0, slice.skip - start);
      const to = Math.min(c.length, slice.skip + slice.take - start);
      if (to > from) {
        chunks.push(Buffer.from(c.subarray(from, to)));
        kept += to - from;
      }
      if (received >= slice.skip + slice.take || kept >= slice.take) {
        finish(false);
        abort();
        res.destroy();
      } else if (received > slice.max) {
        done = true;
        abort();
        res.destroy();
        reject(new BodyTooLargeError(slice.max));
      }
    });
    res.on('end', () => finish(true));
    res.on('error', (err: Error) => {
      if (!done) {
        done = true;
        reject(err);
      }
    });
  });
}
