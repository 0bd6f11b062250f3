import { Agent, request } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface TransportRequest {
  method: 'GET' | 'PUT' | 'POST' | 'PATCH';
  url: string;
  body?: string;
  /** Content type of `body` (default application/json). */
  contentType?: string;
  signal: AbortSignal;
}

export interface TransportResponse {
  status: number;
  text: string;
}

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
      const headers: Record<string, string> = { accept: 'application/json' };
      if (req.body !== undefined) {
        headers['content-type'] = req.contentType ?? 'application/json';
        headers['content-length'] = String(Buffer.byteLength(req.body));
      }
      const r = send(
        url,
        { method: req.method, agent: isHttps ? httpsAgent : agent, headers, signal: req.signal },
        res => {
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
