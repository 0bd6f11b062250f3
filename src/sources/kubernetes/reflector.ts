import { Watch, type KubeConfig } from '@kubernetes/client-node';
import { z } from 'zod';
import type { Logger } from '../../telemetry/logger.js';
import { httpStatusOf } from './client.js';

/**
 * List + watch of one resource collection, kept as an exact local copy (a client-go style
 * reflector). It is written out here rather than taken from client-node's informer because the
 * 1.4 informer stops for good after an error and never notices a silent watch.
 *
 * - List (with the label selector), then watch from the list's resourceVersion with bookmarks.
 * - A watch the server ends normally is resumed from the last resourceVersion seen.
 * - 410 Gone (as the watch's HTTP status or as an ERROR event) relists at once.
 * - Any other failure: retry after an exponential backoff (initial × 2^n, capped, ±20 % jitter),
 *   then relist, so nothing missed while disconnected stays missed.
 * - Watchdog: a watch with no event or bookmark for `watchTimeoutSeconds` + 30 s is dropped and
 *   resumed (watches can go silent without an error).
 *
 * Objects are kept raw; the consumer parses them (and reports the bad ones).
 */
export interface ReflectorOptions {
  kubeConfig: KubeConfig;
  /** Collection path, e.g. `/apis/flink.apache.org/v1beta1/namespaces/ns/flinkdeployments`. */
  path: string;
  /** The list call for the same collection (CustomObjectsApi). */
  list: () => Promise<unknown>;
  labelSelector?: string;
  watchTimeoutSeconds: number;
  backoffMs: number;
  maxBackoffMs: number;
  log: Logger;
  /**
   * Called after every change of the local copy: with the object's `namespace/name` key and the
   * object (undefined when deleted) for a watch event, without an argument after a relist.
   */
  onChange?: (change?: { key: string; object: unknown }) => void;
  random?: () => number;
}

const ListSchema = z.object({
  metadata: z.object({ resourceVersion: z.string().optional() }).optional(),
  items: z.array(z.unknown()),
});

interface WatchEvent {
  type?: unknown;
  object?: { metadata?: { name?: unknown; namespace?: unknown; resourceVersion?: unknown }; code?: unknown };
}

export class GoneError extends Error {
  readonly statusCode = 410;
  constructor() {
    super('resourceVersion too old (410 Gone)');
    this.name = 'GoneError';
  }
}

function keyOf(obj: WatchEvent['object']): string | undefined {
  const md = obj?.metadata;
  if (typeof md?.name !== 'string') return undefined;
  return `${typeof md.namespace === 'string' ? md.namespace : ''}/${md.name}`;
}

export class Reflector {
  private readonly objects = new Map<string, unknown>();
  private resourceVersion = '';
  private synced = false;
  private failures = 0;
  private stopped = true;
  private loop: Promise<void> | undefined;
  private current: AbortController | undefined;
  /** Ends the running watch (stop, or before its controller is known). */
  private cancelWatch: (() => void) | undefined;
  private wakeSleep: (() => void) | undefined;
  /** Counters for tests and /metrics: lists done, watches started, errors seen. */
  readonly stats = { lists: 0, watches: 0, errors: 0, gone: 0 };
  lastError: string | undefined;

  constructor(private readonly opts: ReflectorOptions) {}

  /** True once the first list succeeded: the copy is then the last known state. */
  get hasSynced(): boolean {
    return this.synced;
  }

  items(): unknown[] {
    return [...this.objects.values()];
  }

  start(): void {
    if (this.loop) return;
    this.stopped = false;
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelWatch?.();
    this.current?.abort();
    this.wakeSleep?.();
    await this.loop;
    this.loop = undefined;
  }

  private changed(change?: { key: string; object: unknown }): void {
    this.opts.onChange?.(change);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (this.resourceVersion === '') await this.relist();
        if (this.stopped) return;
        await this.watchOnce();
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        if (httpStatusOf(err) === 410) {
          this.stats.gone += 1;
          this.resourceVersion = '';
          this.opts.log.info({ path: this.opts.path }, 'watch expired (410 Gone); relisting');
          continue;
        }
        this.failures += 1;
        this.stats.errors += 1;
        this.lastError = (err as Error).message;
        const delay = this.backoff();
        this.opts.log.warn(
          { path: this.opts.path, status: httpStatusOf(err), err: this.lastError, retryInMs: delay },
          'kubernetes list/watch failed; retrying with backoff',
        );
        await this.sleep(delay);
        this.resourceVersion = '';
      }
    }
  }

  private backoff(): number {
    const random = this.opts.random ?? Math.random;
    const base = Math.min(this.opts.maxBackoffMs, this.opts.backoffMs * 2 ** Math.min(30, this.failures - 1));
    return Math.round(base * (0.8 + 0.4 * random()));
  }

  private sleep(ms: number): Promise<void> {
    return new Promise(resolve => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wakeSleep = done;
    });
  }

  private async relist(): Promise<void> {
    const raw = await this.opts.list();
    const list = ListSchema.safeParse(raw);
    if (!list.success)
      throw new Error(`list ${this.opts.path}: not a list (${list.error.issues[0]?.message ?? 'invalid'})`);
    this.stats.lists += 1;
    this.objects.clear();
    for (const item of list.data.items) {
      const key = keyOf(item as WatchEvent['object']);
      if (key !== undefined) this.objects.set(key, item);
    }
    this.resourceVersion = list.data.metadata?.resourceVersion ?? '';
    this.synced = true;
    this.changed();
    if (this.resourceVersion === '') throw new Error(`list ${this.opts.path}: no resourceVersion`);
  }

  /** One watch from the current resourceVersion; resolves when the server ends it, rejects on error. */
  private watchOnce(): Promise<void> {
    const { opts } = this;
    this.stats.watches += 1;
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      let gone = false;
      let dog: NodeJS.Timeout | undefined;
      const silentMs = (opts.watchTimeoutSeconds + 30) * 1000;
      const finish = (err: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(dog);
        this.cancelWatch = undefined;
        this.current?.abort();
        this.current = undefined;
        if (gone) reject(new GoneError());
        else if (err) reject(err instanceof Error ? err : new Error(JSON.stringify(err)));
        else resolve();
      };
      const feed = (): void => {
        clearTimeout(dog);
        dog = setTimeout(() => {
          opts.log.warn({ path: opts.path, silentMs }, 'watch silent too long; restarting it');
          finish(null);
        }, silentMs);
      };
      feed();
      this.cancelWatch = () => finish(null);
      const onEvent = (type: string, obj: WatchEvent['object']): void => {
        if (settled) return;
        feed();
        if (type === 'ERROR') {
          if (obj?.code === 410) gone = true;
          else this.lastError = `watch ERROR event ${JSON.stringify(obj?.code ?? null)}`;
          finish(gone ? null : new Error(this.lastError));
          return;
        }
        const rv = obj?.metadata?.resourceVersion;
        if (typeof rv === 'string' && rv !== '') this.resourceVersion = rv;
        if (type === 'BOOKMARK') return;
        const key = keyOf(obj);
        if (key === undefined) return;
        if (type === 'DELETED') this.objects.delete(key);
        else if (type === 'ADDED' || type === 'MODIFIED') this.objects.set(key, obj);
        else return;
        this.changed({ key, object: type === 'DELETED' ? undefined : obj });
      };
      new Watch(opts.kubeConfig)
        .watch(
          opts.path,
          {
            resourceVersion: this.resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: opts.watchTimeoutSeconds,
            ...(opts.labelSelector === undefined ? {} : { labelSelector: opts.labelSelector }),
          },
          (type: string, obj: unknown) => onEvent(type, obj as WatchEvent['object']),
          (err: unknown) => finish(err),
        )
        .then(
          controller => {
            if (settled) controller.abort();
            else this.current = controller;
          },
          (err: unknown) => finish(err),
        );
    });
  }
}
