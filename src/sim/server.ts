import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { RealClock, type Clock } from '../domain/clock.js';
import { renderPrometheus, seriesOf } from './prometheus.js';
import { queryApi } from './promql.js';
import { errors, serialize, type SimRequest, type SimResponse } from './rest/http.js';
import type { Scenario } from './scenario.js';
import { FlinkSurface } from './surface.js';
import { WireFaults, malformed, partial, wireFaultSchema, type WireFault } from './wire-faults.js';

export interface SimulatorOptions {
  scenario: Scenario;
  /** Defaults to the real clock; pass a VirtualClock to replay faster than real time. */
  clock?: Clock;
  /** Loopback only: 127.0.0.1 (default) or another 127.x.y.z address. */
  host?: string;
  /** 0 (default) = an ephemeral port. */
  port?: number;
}

/** A response as a client sees it, for the in-process dispatcher (virtual-time mode). */
export interface RawResponse {
  status: number;
  text: string;
}

export class SimulatorError extends Error {
  constructor(
    readonly code: 'not-loopback' | 'listen-failed',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SimulatorError';
  }
}

export function isLoopback(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === 'localhost';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * The Flink simulator as a process-local object: a FlinkSurface behind a node:http server (real
 * HTTP on loopback) and the same surface through `dispatch()` for in-process use.
 */
export class Simulator {
  readonly surface: FlinkSurface;
  readonly wireFaults = new WireFaults();
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private address: { host: string; port: number } | undefined;

  constructor(readonly options: SimulatorOptions) {
    this.surface = new FlinkSurface(options.scenario, options.clock ?? new RealClock());
  }

  get url(): string {
    if (this.address === undefined) throw new SimulatorError('listen-failed', 'simulator is not listening');
    return `http://${this.address.host}:${this.address.port}`;
  }

  async listen(): Promise<this> {
    const host = this.options.host ?? '127.0.0.1';
    if (!isLoopback(host))
      throw new SimulatorError('not-loopback', `refusing to listen on ${host}: loopback only`);
    const server = createServer((req, res) => void this.onRequest(req, res));
    server.keepAliveTimeout = 30_000;
    server.on('connection', s => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', err =>
        reject(
          new SimulatorError('listen-failed', `cannot listen on ${host}:${this.options.port ?? 0}`, {
            cause: err,
          }),
        ),
      );
      server.listen(this.options.port ?? 0, host, () => resolve());
    });
    const addr = server.address();
    if (addr === null || typeof addr === 'string') throw new SimulatorError('listen-failed', 'no address');
    this.address = { host, port: addr.port };
    this.server = server;
    return this;
  }

  /** Stops listening and drops open (also hung) connections. Idempotent. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>(resolve => server.close(() => resolve()));
  }

  /** Same answer as over HTTP, without a socket (wire faults other than hang/reset apply). */
  dispatch(method: string, pathWithQuery: string, body = ''): RawResponse {
    const url = new URL(pathWithQuery, 'http://sim');
    const req: SimRequest = { method, path: url.pathname, query: url.searchParams, body };
    if (url.pathname === '/api/v1/query') {
      const out = this.control(req);
      if (out !== undefined) return { status: out.status, text: serialize(out) };
    }
    if (!this.surface.reachable()) return { status: 0, text: '' };
    const res = this.surface.handle(req);
    const fault = this.wireFaults.take(this.surface.router.match(method, url.pathname)?.route.pattern);
    return this.applyFault(res, fault);
  }

  private applyFault(res: SimResponse, fault: WireFault | undefined): RawResponse {
    if (fault?.mode === '5xx')
      return {
        status: fault.status,
        text: JSON.stringify({
          errors: ['Service temporarily unavailable due to an ongoing leader election. Please refresh.'],
        }),
      };
    if (fault?.mode === 'malformed') return { status: res.status, text: malformed(serialize(res)) };
    if (fault?.mode === 'partial') return { status: res.status, text: JSON.stringify(partial(res.body)) };
    return { status: res.status, text: serialize(res) };
  }

  private control(req: SimRequest): SimResponse | undefined {
    if (req.path === '/metrics' && req.method === 'GET') {
      this.surface.sync();
      const view = this.surface.store.read(this.surface.cluster.now());
      return {
        status: 200,
        body: renderPrometheus(this.surface.cluster, view),
        contentType: 'text/plain; version=0.0.4',
      };
    }
    if (req.path === '/api/v1/query') {
      // Prometheus scrapes the TaskManagers' reporters, not the JobManager: it answers while the
      // JobManager is unreachable, from the last metric fetch.
      this.surface.sync();
      const now = this.surface.cluster.now();
      const view = this.surface.store.read(now);
      return queryApi(req.method, req.path, req.query, req.body, seriesOf(this.surface.cluster, view), now);
    }
    if (!req.path.startsWith('/__sim/')) return undefined;
    if (req.path === '/__sim/wire-faults' && req.method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(req.body);
      } catch {
        return errors(400, 'body is not JSON');
      }
      const fault = wireFaultSchema.safeParse(parsed);
      if (!fault.success)
        return errors(400, fault.error.issues.map(i => `${i.path.join('.')}: ${i.message}`).join('; '));
      return { status: 200, body: this.wireFaults.add(fault.data) };
    }
    if (req.path === '/__sim/wire-faults' && req.method === 'DELETE') {
      this.wireFaults.clear();
      return { status: 200, body: {} };
    }
    if (req.path === '/__sim/wire-faults' && req.method === 'GET')
      return { status: 200, body: this.wireFaults.list() };
    if (req.path === '/__sim/state' && req.method === 'GET') return { status: 200, body: this.state() };
    return errors(404, 'Not found: ' + req.path);
  }

  /** A compact view of the model for tests and `autopilot simulate`. */
  state(): Record<string, unknown> {
    this.surface.sync();
    const c = this.surface.cluster;
    return {
      scenario: c.scenario.name,
      seed: c.scenario.seed,
      flinkVersion: c.features.versionString,
      now: c.now(),
      elapsedMs: c.elapsed(),
      jobs: c.jobs.map(j => ({
        id: j.id,
        name: j.spec.name,
        status: j.status,
        numRestarts: j.numRestarts,
        lastFailureAt: j.exceptions[0]?.timestamp ?? null,
        backlog: Math.round(j.totalBacklog()),
        parallelism: Object.fromEntries(j.vertices.map(v => [v.spec.name, v.parallelism])),
        vertexIds: Object.fromEntries(j.vertices.map(v => [v.spec.name, v.id])),
      })),
      taskManagers: c.taskManagers.map(tm => ({ id: tm.resourceId, alive: tm.alive, node: tm.node })),
      logs: {
        jobManager: { files: c.logs.jobManager.list(), rotations: c.logs.jobManager.log.rotations },
      },
    };
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://sim');
    const body = await readBody(req);
    const simReq: SimRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.searchParams,
      body,
    };
    const control = this.control(simReq);
    if (control !== undefined) return this.send(res, control.status, serialize(control), control.contentType);
    if (!this.surface.reachable()) {
      req.socket.destroy();
      return;
    }
    const match = this.surface.router.match(simReq.method, simReq.path);
    const fault = this.wireFaults.take(match?.route.pattern);
    if (fault?.mode === 'hang') return; // never answered; the socket is dropped on close()
    if (fault?.mode === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.mode === 'slow' && fault.delayMs > 0) await new Promise(r => setTimeout(r, fault.delayMs));
    const handled = this.surface.handle(simReq);
    const out = this.applyFault(handled, fault);
    this.send(res, out.status, out.text, fault === undefined ? handled.contentType : undefined);
  }

  private send(
    res: ServerResponse,
    status: number,
    text: string,
    contentType = 'application/json; charset=UTF-8',
  ): void {
    if (res.destroyed) return;
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }
}

/** Starts a simulator listening on loopback (`url` tells where). */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  return new Simulator(options).listen();
}
