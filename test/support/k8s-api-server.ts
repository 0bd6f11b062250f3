import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';

/**
 * A small Kubernetes API server for tests, speaking real HTTP to the real @kubernetes/client-node:
 * the subset the daemon uses of `flink.apache.org/v1beta1` FlinkDeployments and FlinkSessionJobs.
 *
 * - list (namespaced and cluster-wide, `labelSelector`), get;
 * - watch (`?watch=true`): newline-delimited JSON events after `resourceVersion`, `timeoutSeconds`,
 *   and `{type: ERROR, object: Status 410}` when that version has been compacted away (as a real
 *   API server does);
 * - PATCH with `application/merge-patch+json` (a `metadata.resourceVersion` in the body is a
 *   precondition: 409 Conflict when stale) and `application/json-patch+json` (add/replace/remove/
 *   test); strategic merge is refused (415), as for every custom resource;
 * - objects are validated against the CRD's OpenAPI schema when the reference CRD is available
 *   (`../shared/reference`), 422 Invalid otherwise; `metadata.generation` moves on spec changes only;
 * - bearer-token auth (401 without it), fault injection (next responses fail with a status or
 *   hang), dropping open watches, and a request log;
 * - core/v1 pods: list (`labelSelector`) and `pods/:name/log` with `container`, `previous`,
 *   `sinceSeconds`, `timestamps` and `limitBytes` as the kubelet answers them (plain text; 400
 *   when there is no previous container), on the server's own clock (`now`, settable).
 */

export const CRD_PATH = join(
  import.meta.dirname,
  '../../../shared/reference/flink-kubernetes-operator-1.15.0/flinkdeployments.flink.apache.org-v1.yml',
);

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  enum?: Json[];
  'x-kubernetes-preserve-unknown-fields'?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  body?: unknown;
}

interface Fault {
  method: string;
  path: RegExp;
  status?: number;
  hang?: boolean;
  /** Answer a watch with 200 and one `ERROR` event carrying Status 410 (expired). */
  goneEvent?: boolean;
  times: number;
}

interface SimPod {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  container: string;
  restarts: number;
  current: { at: number; line: string }[];
  previous: { at: number; line: string }[] | undefined;
}

interface Event {
  rv: number;
  plural: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: Obj;
}

const PLURALS: Record<string, string> = {
  FlinkDeployment: 'flinkdeployments',
  FlinkSessionJob: 'flinksessionjobs',
};

function loadCrdSchema(): Schema | undefined {
  if (!existsSync(CRD_PATH)) return undefined;
  const crd = parseYaml(readFileSync(CRD_PATH, 'utf8')) as {
    spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
  };
  return crd.spec.versions.find(v => v.name === 'v1beta1')?.schema.openAPIV3Schema;
}

/** Structural validation (types, enums, known fields) as the API server does for a CRD. */
function validate(schema: Schema, value: Json, path: string, errors: string[]): void {
  if (value === null) return;
  const t = schema.type;
  const actual = Array.isArray(value) ? 'array' : typeof value === 'number' ? 'number' : typeof value;
  if (t === 'integer') {
    if (typeof value !== 'number' || !Number.isInteger(value))
      errors.push(`${path}: Invalid value: ${JSON.stringify(value)}: must be of type integer`);
    return;
  }
  if (t !== undefined && t !== actual) {
    errors.push(`${path}: Invalid value: ${JSON.stringify(value)}: must be of type ${t}`);
    return;
  }
  if (schema.enum && !schema.enum.includes(value))
    errors.push(`${path}: Unsupported value: ${JSON.stringify(value)}`);
  if (Array.isArray(value)) {
    value.forEach((v, i) => schema.items && validate(schema.items, v, `${path}[${i}]`, errors));
    return;
  }
  if (typeof value !== 'object' || schema['x-kubernetes-preserve-unknown-fields']) return;
  for (const [k, v] of Object.entries(value)) {
    const sub = schema.properties?.[k];
    if (sub) validate(sub, v, `${path}.${k}`, errors);
    else if (typeof schema.additionalProperties === 'object')
      validate(schema.additionalProperties, v, `${path}.${k}`, errors);
    else if (schema.properties && path !== '' && path !== '.metadata')
      errors.push(`${path}.${k}: field not declared in schema`);
  }
}

/** JSON merge patch (RFC 7386). */
function mergePatch(target: Json, patch: Json): Json {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return patch;
  const out: Obj =
    target !== null && typeof target === 'object' && !Array.isArray(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k] ?? null, v);
  }
  return out;
}

function pointer(path: string): string[] {
  return path
    .split('/')
    .slice(1)
    .map(p => p.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** JSON patch (RFC 6902): add, replace, remove, test. */
function jsonPatch(doc: Obj, ops: { op: string; path: string; value?: Json }[]): Obj {
  const out = structuredClone(doc);
  for (const op of ops) {
    const parts = pointer(op.path);
    const last = parts.pop();
    if (last === undefined) throw new Error(`bad path ${op.path}`);
    let node: Json = out;
    for (const p of parts) {
      if (node === null || typeof node !== 'object' || Array.isArray(node) || !(p in node))
        throw new Error(`path ${op.path} does not exist`);
      node = node[p] ?? null;
    }
    if (node === null || typeof node !== 'object' || Array.isArray(node))
      throw new Error(`path ${op.path} does not exist`);
    if (op.op === 'test') {
      if (JSON.stringify(node[last]) !== JSON.stringify(op.value))
        throw new Error(`test failed at ${op.path}`);
    } else if (op.op === 'remove') {
      if (!(last in node)) throw new Error(`path ${op.path} does not exist`);
      delete node[last];
    } else if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && !(last in node)) throw new Error(`path ${op.path} does not exist`);
      node[last] = op.value ?? null;
    } else throw new Error(`unsupported op ${op.op}`);
  }
  return out;
}

/** Equality-based label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated. */
export function matchesSelector(labels: Record<string, string>, selector: string | undefined): boolean {
  if (!selector) return true;
  return selector
    .split(',')
    .map(t => t.trim())
    .filter(Boolean)
    .every(term => {
      const ne = /^([^!=]+)!=(.*)$/.exec(term);
      if (ne?.[1] !== undefined) return labels[ne[1].trim()] !== (ne[2] ?? '').trim();
      const eq = /^([^!=]+)==?(.*)$/.exec(term);
      if (eq?.[1] !== undefined) return labels[eq[1].trim()] === (eq[2] ?? '').trim();
      if (term.startsWith('!')) return !(term.slice(1) in labels);
      return term in labels;
    });
}

function status(code: number, reason: string, message: string): Obj {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

export class K8sApiServer {
  readonly token = 'test-token';
  readonly requests: RecordedRequest[] = [];
  private readonly objects = new Map<string, Map<string, Obj>>();
  private readonly events: Event[] = [];
  private rv = 1000;
  private compactedBelow = 0;
  private readonly faults: Fault[] = [];
  private readonly watches = new Set<ServerResponse>();
  private readonly schema = loadCrdSchema();
  private server: Server | undefined;
  private readonly pods = new Map<string, SimPod>();
  /** The clock `sinceSeconds` is measured on (a test with a virtual clock sets it). */
  now: () => number = () => Date.now();
  /** Called after a successful patch with the new object (a test can play the operator). */
  onPatch: ((plural: string, obj: Obj) => void | Promise<void>) | undefined;

  /** True when FlinkDeployments are checked against the reference CRD. */
  get validatesCrd(): boolean {
    return this.schema !== undefined;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | undefined;
    if (!a) throw new Error('not listening');
    return `http://127.0.0.1:${a.port}`;
  }

  async listen(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) this.send(res, 500, status(500, 'InternalError', String(err)));
      });
    });
    await new Promise<void>(r => this.server?.listen(0, '127.0.0.1', r));
    return this;
  }

  async close(): Promise<void> {
    this.dropWatches();
    this.server?.closeAllConnections();
    await new Promise<void>(r => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Writes a kubeconfig pointing at this server into `dir`; returns its path. */
  writeKubeconfig(dir: string): string {
    const file = join(dir, 'kubeconfig');
    writeFileSync(
      file,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: test',
        `  cluster: {server: "${this.url}", insecure-skip-tls-verify: true}`,
        'users:',
        '- name: autopilot',
        `  user: {token: "${this.token}"}`,
        'contexts:',
        '- name: test',
        '  context: {cluster: test, user: autopilot}',
        'current-context: test',
        '',
      ].join('\n'),
    );
    return file;
  }

  // --- state -----------------------------------------------------------------------------------

  private bucket(plural: string): Map<string, Obj> {
    let b = this.objects.get(plural);
    if (!b) this.objects.set(plural, (b = new Map<string, Obj>()));
    return b;
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Creates or replaces an object (as a controller or kubectl would); returns it as stored. */
  apply(kind: 'FlinkDeployment' | 'FlinkSessionJob', input: Record<string, unknown>): Obj {
    const obj = structuredClone(input) as Obj;
    const plural = PLURALS[kind] ?? '';
    const md = obj.metadata as { namespace: string; name: string };
    const key = `${md.namespace}/${md.name}`;
    const old = this.bucket(plural).get(key);
    const oldMd = old?.metadata as Obj | undefined;
    const specChanged = !old || JSON.stringify(old.spec) !== JSON.stringify(obj.spec);
    const generation = ((oldMd?.generation as number | undefined) ?? 0) + (specChanged ? 1 : 0);
    return this.store(plural, key, {
      apiVersion: 'flink.apache.org/v1beta1',
      kind,
      ...obj,
      metadata: { ...md, uid: (oldMd?.uid as string | undefined) ?? `uid-${key}`, generation },
    });
  }

  private store(plural: string, key: string, obj: Obj): Obj {
    this.rv += 1;
    const md = obj.metadata as Obj;
    md.resourceVersion = String(this.rv);
    const existed = this.bucket(plural).has(key);
    this.bucket(plural).set(key, obj);
    this.emit({ rv: this.rv, plural, type: existed ? 'MODIFIED' : 'ADDED', object: structuredClone(obj) });
    return structuredClone(obj);
  }

  /** Updates `.status` only (the status subresource: generation unchanged). */
  setStatus(
    kind: 'FlinkDeployment' | 'FlinkSessionJob',
    namespace: string,
    name: string,
    input: Record<string, unknown>,
  ): Obj {
    const st = structuredClone(input) as Obj;
    const plural = PLURALS[kind] ?? '';
    const key = `${namespace}/${name}`;
    const old = this.bucket(plural).get(key);
    if (!old) throw new Error(`no ${kind} ${key}`);
    return this.store(plural, key, { ...structuredClone(old), status: mergePatch(old.status ?? null, st) });
  }

  get(kind: 'FlinkDeployment' | 'FlinkSessionJob', namespace: string, name: string): Obj | undefined {
    const o = this.bucket(PLURALS[kind] ?? '').get(`${namespace}/${name}`);
    return o && structuredClone(o);
  }

  delete(kind: 'FlinkDeployment' | 'FlinkSessionJob', namespace: string, name: string): void {
    const plural = PLURALS[kind] ?? '';
    const key = `${namespace}/${name}`;
    const old = this.bucket(plural).get(key);
    if (!old) return;
    this.bucket(plural).delete(key);
    this.rv += 1;
    const object = structuredClone(old);
    (object.metadata as Obj).resourceVersion = String(this.rv);
    this.emit({ rv: this.rv, plural, type: 'DELETED', object });
  }

  /** Forgets the event history up to now: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void {
    this.compactedBelow = this.rv + 1;
    this.events.length = 0;
  }

  /** The next `times` requests matching fail with `status` (or never answer, with `hang`). */
  fail(
    method: string,
    path: RegExp,
    opts: { status?: number; hang?: boolean; goneEvent?: boolean; times?: number },
  ): void {
    this.faults.push({
      method,
      path,
      times: opts.times ?? 1,
      ...(opts.goneEvent === undefined ? {} : { goneEvent: opts.goneEvent }),
      ...(opts.status === undefined ? {} : { status: opts.status }),
      ...(opts.hang === undefined ? {} : { hang: opts.hang }),
    });
  }

  /** Ends every open watch normally (as the server does at timeoutSeconds). */
  endWatches(): void {
    for (const w of this.watches) w.end();
    this.watches.clear();
  }

  /** Ends every open watch abruptly (a network error on the client's side). */
  dropWatches(): void {
    for (const w of this.watches) w.destroy();
    this.watches.clear();
  }

  get openWatches(): number {
    return this.watches.size;
  }

  private emit(e: Event): void {
    this.events.push(e);
    for (const w of this.watches) (w as ServerResponse & { feed?: (e: Event) => void }).feed?.(e);
  }

  // --- HTTP ------------------------------------------------------------------------------------

  private send(res: ServerResponse, code: number, body: Obj): void {
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  /** Adds (or replaces) a running pod with one container. */
  addPod(
    namespace: string,
    name: string,
    labels: Record<string, string>,
    container = 'flink-main-container',
  ): void {
    this.pods.set(`${namespace}/${name}`, {
      namespace,
      name,
      labels,
      container,
      restarts: 0,
      current: [],
      previous: undefined,
    });
  }

  deletePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
  }

  /** Appends a line (or several, `\n`-separated) to the pod's current container log, at `at` (default now). */
  podLog(namespace: string, name: string, line: string, at = this.now()): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    // The container runtime stamps every line (a stack trace is many lines at one time).
    for (const l of line.split('\n')) pod.current.push({ at, line: l });
  }

  /** The container restarts: its log becomes the previous one, restartCount grows. */
  restartContainer(namespace: string, name: string): void {
    const pod = this.pods.get(`${namespace}/${name}`);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    pod.previous = pod.current;
    pod.current = [];
    pod.restarts += 1;
  }

  private podObject(p: SimPod): Obj {
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
      status: {
        phase: 'Running',
        containerStatuses: [
          { name: p.container, restartCount: p.restarts, ready: true, image: 'flink:1.20', imageID: '' },
        ],
      },
    };
  }

  private pod(res: ServerResponse, url: URL): boolean {
    const list = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (list) {
      const ns = list[1] ?? '';
      const selector = url.searchParams.get('labelSelector') ?? undefined;
      const items = [...this.pods.values()]
        .filter(p => p.namespace === ns && matchesSelector(p.labels, selector))
        .map(p => this.podObject(p));
      this.send(res, 200, {
        apiVersion: 'v1',
        kind: 'PodList',
        metadata: { resourceVersion: String(this.rv) },
        items,
      });
      return true;
    }
    const log = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/log$/.exec(url.pathname);
    if (!log) return false;
    const pod = this.pods.get(`${log[1] ?? ''}/${log[2] ?? ''}`);
    if (!pod) {
      this.send(res, 404, status(404, 'NotFound', `pods "${log[2] ?? ''}" not found`));
      return true;
    }
    const q = url.searchParams;
    const container = q.get('container') ?? pod.container;
    if (container !== pod.container) {
      this.send(
        res,
        400,
        status(400, 'BadRequest', `container ${container} is not valid for pod ${pod.name}`),
      );
      return true;
    }
    const lines = q.get('previous') === 'true' ? pod.previous : pod.current;
    if (lines === undefined) {
      this.send(
        res,
        400,
        status(
          400,
          'BadRequest',
          `previous terminated container "${container}" in pod "${pod.name}" not found`,
        ),
      );
      return true;
    }
    const since = q.get('sinceSeconds');
    const from = since === null ? Number.NEGATIVE_INFINITY : this.now() - Number(since) * 1000;
    const stamps = q.get('timestamps') === 'true';
    let text = lines
      .filter(l => l.at >= from)
      .map(
        l =>
          `${stamps ? `${new Date(l.at).toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z')} ` : ''}${l.line}\n`,
      )
      .join('');
    const limit = q.get('limitBytes');
    if (limit !== null) text = Buffer.from(text).subarray(0, Number(limit)).toString('utf8');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(text);
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://k8s');
    const method = req.method ?? 'GET';
    const text = method === 'GET' ? '' : await this.readBody(req);
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      return this.send(res, 400, status(400, 'BadRequest', 'body is not JSON'));
    }
    this.requests.push({
      method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      ...(req.headers['content-type'] === undefined ? {} : { contentType: req.headers['content-type'] }),
      ...(body === undefined ? {} : { body }),
    });
    if (req.headers.authorization !== `Bearer ${this.token}`)
      return this.send(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
    const fault = this.faults.find(f => f.method === method && f.path.test(url.pathname + url.search));
    if (fault) {
      fault.times -= 1;
      if (fault.times <= 0) this.faults.splice(this.faults.indexOf(fault), 1);
      if (fault.hang) return; // never answered: the client's timeout must act
      if (fault.goneEvent) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          `${JSON.stringify({ type: 'ERROR', object: status(410, 'Expired', 'too old resource version') })}\n`,
        );
        return;
      }
      const code = fault.status ?? 500;
      return this.send(
        res,
        code,
        status(code, code === 410 ? 'Expired' : 'InternalError', `injected ${code}`),
      );
    }
    if (method === 'GET' && this.pod(res, url)) return;
    const m =
      /^\/apis\/flink\.apache\.org\/v1beta1\/(?:namespaces\/([^/]+)\/)?(flinkdeployments|flinksessionjobs)(?:\/([^/]+))?$/.exec(
        url.pathname,
      );
    if (!m?.[2]) return this.send(res, 404, status(404, 'NotFound', `no route ${url.pathname}`));
    const [, namespace, plural, name] = m as unknown as [
      string,
      string | undefined,
      string,
      string | undefined,
    ];
    if (name !== undefined) {
      if (namespace === undefined) return this.send(res, 404, status(404, 'NotFound', 'namespace required'));
      if (method === 'GET') return this.getOne(res, plural, namespace, name);
      if (method === 'PATCH')
        return this.patch(res, plural, namespace, name, req.headers['content-type'] ?? '', body as Json);
      return this.send(res, 405, status(405, 'MethodNotAllowed', method));
    }
    if (method !== 'GET') return this.send(res, 405, status(405, 'MethodNotAllowed', method));
    const selector = url.searchParams.get('labelSelector') ?? undefined;
    if (url.searchParams.get('watch') === 'true')
      return this.watch(req, res, plural, namespace, selector, url.searchParams);
    const items = [...this.bucket(plural).values()]
      .filter(o => namespace === undefined || (o.metadata as Obj).namespace === namespace)
      .filter(o => matchesSelector(((o.metadata as Obj).labels as Record<string, string>) ?? {}, selector));
    return this.send(res, 200, {
      apiVersion: 'flink.apache.org/v1beta1',
      kind: plural === 'flinkdeployments' ? 'FlinkDeploymentList' : 'FlinkSessionJobList',
      metadata: { resourceVersion: String(this.rv) },
      items,
    });
  }

  private getOne(res: ServerResponse, plural: string, namespace: string, name: string): void {
    const o = this.bucket(plural).get(`${namespace}/${name}`);
    if (!o) return this.send(res, 404, status(404, 'NotFound', `${plural} "${name}" not found`));
    this.send(res, 200, o);
  }

  private patch(
    res: ServerResponse,
    plural: string,
    namespace: string,
    name: string,
    contentType: string,
    body: Json,
  ): void {
    const key = `${namespace}/${name}`;
    const old = this.bucket(plural).get(key);
    if (!old) return this.send(res, 404, status(404, 'NotFound', `${plural} "${name}" not found`));
    let next: Obj;
    try {
      if (contentType.startsWith('application/merge-patch+json')) {
        const want = ((body as Obj | null)?.metadata as Obj | undefined)?.resourceVersion;
        if (want !== undefined && want !== (old.metadata as Obj).resourceVersion)
          return this.send(
            res,
            409,
            status(
              409,
              'Conflict',
              `Operation cannot be fulfilled on ${plural}.flink.apache.org "${name}": the object has been modified; please apply your changes to the latest version and try again`,
            ),
          );
        next = mergePatch(old, body) as Obj;
      } else if (contentType.startsWith('application/json-patch+json')) {
        next = jsonPatch(old, body as unknown as { op: string; path: string; value?: Json }[]);
      } else {
        return this.send(
          res,
          415,
          status(
            415,
            'UnsupportedMediaType',
            `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
          ),
        );
      }
    } catch (err) {
      return this.send(res, 422, status(422, 'Invalid', (err as Error).message));
    }
    if (JSON.stringify(next.status) !== JSON.stringify(old.status)) next.status = old.status ?? null; // status subresource
    if (plural === 'flinkdeployments' && this.schema) {
      const errors: string[] = [];
      const { metadata: _md, ...rest } = next;
      validate(this.schema, rest, '', errors);
      if (errors.length > 0)
        return this.send(
          res,
          422,
          status(
            422,
            'Invalid',
            `FlinkDeployment.flink.apache.org "${name}" is invalid: ${errors.join(', ')}`,
          ),
        );
    }
    const md = { ...(next.metadata as Obj) };
    const oldMd = old.metadata as Obj;
    md.name = oldMd.name ?? null;
    md.namespace = oldMd.namespace ?? null;
    md.uid = oldMd.uid ?? null;
    md.generation =
      ((oldMd.generation as number | undefined) ?? 1) +
      (JSON.stringify(next.spec) !== JSON.stringify(old.spec) ? 1 : 0);
    const stored = this.store(plural, key, { ...next, metadata: md });
    this.send(res, 200, stored);
    void Promise.resolve(this.onPatch?.(plural, stored));
  }

  private watch(
    req: IncomingMessage,
    res: ServerResponse,
    plural: string,
    namespace: string | undefined,
    selector: string | undefined,
    q: URLSearchParams,
  ): void {
    const from = Number(q.get('resourceVersion') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const line = (o: Obj): void => {
      res.write(`${JSON.stringify(o)}\n`);
    };
    if (from > 0 && from < this.compactedBelow - 1) {
      line({
        type: 'ERROR',
        object: status(410, 'Expired', `too old resource version: ${from} (${this.compactedBelow - 1})`),
      });
      res.end();
      return;
    }
    const matches = (e: Event): boolean =>
      e.plural === plural &&
      (namespace === undefined || (e.object.metadata as Obj).namespace === namespace) &&
      matchesSelector(((e.object.metadata as Obj).labels as Record<string, string>) ?? {}, selector);
    let last = from;
    const feed = (e: Event): void => {
      if (e.rv <= last || !matches(e)) return;
      last = e.rv;
      line({ type: e.type, object: e.object });
    };
    for (const e of this.events) feed(e);
    Object.assign(res, { feed });
    this.watches.add(res);
    const timeout = Number(q.get('timeoutSeconds') ?? '0');
    const timer =
      timeout > 0
        ? setTimeout(() => {
            if (q.get('allowWatchBookmarks') === 'true')
              line({
                type: 'BOOKMARK',
                object: { kind: 'FlinkDeployment', metadata: { resourceVersion: String(this.rv) } },
              });
            res.end();
          }, timeout * 1000)
        : undefined;
    const done = (): void => {
      clearTimeout(timer);
      this.watches.delete(res);
    };
    res.on('close', done);
    req.on('close', done);
  }
}

export async function startK8sApiServer(): Promise<K8sApiServer> {
  return new K8sApiServer().listen();
}
