import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request that went through the proxy, with Flink's answer. */
export interface ProxiedExchange {
  method: string;
  path: string;
  status: number;
  body: string;
}

/**
 * An HTTP proxy on 127.0.0.1 between the daemon and a Flink JobManager that records every
 * request's method and path and every answer: the e2e tests check that a dry-run daemon sends no
 * write and that every response it received parses with the REST source's schemas.
 */
export class RecordingProxy {
  readonly exchanges: ProxiedExchange[] = [];
  private server: Server | undefined;
  private target: URL;

  constructor(target: string) {
    this.target = new URL(target);
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers = { ...req.headers, host: this.target.host };
        const out = request(
          {
            host: this.target.hostname,
            port: this.target.port,
            method: req.method,
            path: req.url,
            headers,
          },
          (up: IncomingMessage) => {
            const parts: Buffer[] = [];
            up.on('data', (c: Buffer) => parts.push(c));
            up.on('end', () => {
              const text = Buffer.concat(parts);
              this.exchanges.push({
                method: req.method ?? '',
                path: req.url ?? '',
                status: up.statusCode ?? 0,
                body: text.toString('utf8'),
              });
              res.writeHead(up.statusCode ?? 502, up.headers);
              res.end(text);
            });
            up.on('error', () => res.destroy());
          },
        );
        out.on('error', err => {
          this.exchanges.push({
            method: req.method ?? '',
            path: req.url ?? '',
            status: 0,
            body: err.message,
          });
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ errors: ['proxy: Flink unreachable'] }));
        });
        out.end(body);
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.server = server;
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Methods of every request seen, with how many of each. */
  methods(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const e of this.exchanges) out[e.method] = (out[e.method] ?? 0) + 1;
    return out;
  }

  async close(): Promise<void> {
    const s = this.server;
    if (s === undefined) return;
    s.closeAllConnections();
    await new Promise<void>(resolve => s.close(() => resolve()));
  }
}
