import { createServer, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Clock } from '../domain/clock.js';
import { Fleet } from './fleet.js';
import { FleetSeries } from './fleet-prometheus.js';
import { queryApi } from './promql.js';
import { serialize } from './rest/http.js';
import { isLoopback, SimulatorError } from './server.js';
import type { SimFlinkVersion } from './versions.js';

export interface FleetServerOptions {
  jobs: number;
  origins: number;
  seed: number;
  clock: Clock;
  flinkVersion?: SimFlinkVersion;
  /**
   * `ports`: every origin on 127.0.0.1 with its own ephemeral port (default);
   * `addresses`: origin i on 127.0.x.y (from 127.0.1.1 upward) sharing `port`.
   */
  mode?: 'ports' | 'addresses';
  port?: number;
}

export interface FleetServer {
  fleet: Fleet;
  urls: string[];
  /** The fleet's Prometheus query API (`/api/v1/query`), as one Prometheus scraping every origin. */
  prometheusUrl: string;
  close(): Promise<void>;
}

function addressOf(i: number): string {
  const n = i + 257; // 127.0.1.1 upward
  return `127.0.${Math.floor(n / 256)}.${n % 256 || 1}`;
}

/** Serves a Fleet over HTTP, one listener per origin, loopback only. */
export async function startFleet(options: FleetServerOptions): Promise<FleetServer> {
  const fleet = new Fleet(options);
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const urls: string[] = [];
  try {
    for (let o = 0; o < options.origins; o++) {
      const host = options.mode === 'addresses' ? addressOf(o) : '127.0.0.1';
      if (!isLoopback(host)) throw new SimulatorError('not-loopback', `refusing ${host}`);
      const server = createServer((req, res) => {
        const url = new URL(req.url ?? '/', 'http://fleet');
        const out =
          url.pathname === '/metrics'
            ? { status: 200, text: fleet.prometheus(o), type: 'text/plain; version=0.0.4' }
            : (() => {
                const r = fleet.handle(o, {
                  method: req.method ?? 'GET',
                  path: url.pathname,
                  query: url.searchParams,
                  body: '',
                });
                return { status: r.status, text: serialize(r), type: 'application/json; charset=UTF-8' };
              })();
        res.writeHead(out.status, {
          'content-type': out.type,
          'content-length': Buffer.byteLength(out.text),
        });
        res.end(out.text);
        req.resume();
      });
      server.keepAliveTimeout = 30_000;
      server.on('connection', s => {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', err =>
          reject(new SimulatorError('listen-failed', `cannot listen on ${host}`, { cause: err })),
        );
        server.listen(options.mode === 'addresses' ? (options.port ?? 8081) : 0, host, () => resolve());
      });
      const addr = server.address();
      if (addr === null || typeof addr === 'string') throw new SimulatorError('listen-failed', 'no address');
      servers.push(server);
      urls.push(`http://${host}:${addr.port}`);
    }
  } catch (err) {
    for (const s of servers) s.close();
    throw err;
  }
  const series = new FleetSeries(fleet);
  const prom = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://prometheus');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const out = queryApi(
        req.method ?? 'GET',
        url.pathname,
        url.searchParams,
        Buffer.concat(chunks).toString('utf8'),
        series,
        options.clock.now(),
      ) ?? {
        status: 404,
        body: { status: 'error', errorType: 'not_found', error: `no route ${url.pathname}` },
      };
      const text = JSON.stringify(out.body);
      res.writeHead(out.status, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    });
  });
  prom.keepAliveTimeout = 30_000;
  prom.on('connection', s => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    prom.once('error', err => reject(new SimulatorError('listen-failed', 'cannot listen', { cause: err })));
    prom.listen(0, '127.0.0.1', () => resolve());
  });
  servers.push(prom);
  const promAddr = prom.address();
  if (promAddr === null || typeof promAddr === 'string')
    throw new SimulatorError('listen-failed', 'no address');
  return {
    fleet,
    urls,
    prometheusUrl: `http://127.0.0.1:${promAddr.port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map(s => new Promise<void>(r => s.close(() => r()))));
    },
  };
}
