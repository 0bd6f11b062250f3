import { errors, type SimRequest, type SimResponse } from './http.js';

export type Params = Readonly<Record<string, string>>;
export type Handler = (req: SimRequest, params: Params) => SimResponse;

interface Route {
  method: string;
  pattern: string;
  parts: string[];
  handler: Handler;
}

/**
 * A tiny router for Flink-style paths (`/jobs/:jobid/vertices/:vertexid`). Every route answers
 * both as `/v1/<path>` and `<path>`, as Flink's RestServerEndpoint registers them.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    this.routes.push({ method, pattern, parts: pattern.split('/').filter(Boolean), handler });
    return this;
  }

  /** The route a path matches (literal segments win over parameters: `/jobs/metrics`). */
  match(method: string, path: string): { route: Route; params: Params } | undefined {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] === 'v1') parts.shift();
    let best: { route: Route; params: Params; literals: number } | undefined;
    for (const route of this.routes) {
      if (route.method !== method || route.parts.length !== parts.length) continue;
      const params: Record<string, string> = {};
      let literals = 0;
      let ok = true;
      for (let i = 0; i < parts.length && ok; i++) {
        const want = route.parts[i] ?? '';
        const got = decodeURIComponent(parts[i] ?? '');
        if (want.startsWith(':')) params[want.slice(1)] = got;
        else if (want === got) literals++;
        else ok = false;
      }
      if (ok && (best === undefined || literals > best.literals)) best = { route, params, literals };
    }
    return best === undefined ? undefined : { route: best.route, params: best.params };
  }

  handle(req: SimRequest): SimResponse {
    const m = this.match(req.method, req.path);
    if (m !== undefined) return m.route.handler(req, m.params);
    const anyMethod = this.routes.some(
      r => r.method !== req.method && this.match(r.method, req.path) !== undefined,
    );
    return anyMethod
      ? errors(405, `Request method ${req.method} is not supported.`)
      : errors(404, 'Not found: ' + req.path);
  }
}
