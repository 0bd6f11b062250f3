import { setTimeout as sleep } from 'node:timers/promises';
import type { Store } from '../../state/store.js';
import type { Logger } from '../../telemetry/logger.js';
import { buildRequest, checkResponse, SinkError, type Notification, type SinkSettings } from './sinks.js';

/**
 * Delivery to one sink: a bounded in-memory queue drained by one sender, so a slow or hanging
 * sink never blocks a cycle (enqueue returns at once) nor another sink. Each request has a
 * timeout; timeouts, network errors, 429 and 5xx are retried with exponential backoff; what
 * cannot be delivered (retries exhausted, a 4xx, a full queue) becomes a dead-letter record in
 * the Store, with the error, for an operator to look at.
 */

export interface DeliveryOptions {
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  capacity: number;
  deadLetterTtlMs: number;
}

export interface DeadLetter {
  sink: string;
  notification: Notification;
  error: string;
  attempts: number;
  at: number;
}

export interface DeliveryEvents {
  delivered?(sink: string, attempts: number): void;
  deadLettered?(sink: string, reason: string): void;
}

export class SinkQueue {
  private readonly queue: Notification[] = [];
  private running: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly sink: SinkSettings,
    private readonly opts: DeliveryOptions,
    private readonly store: Store,
    private readonly log: Logger,
    private readonly now: () => number,
    private readonly events: DeliveryEvents = {},
  ) {}

  get name(): string {
    return this.sink.name;
  }

  get depth(): number {
    return this.queue.length;
  }

  /** Queues a notification; never waits for the network. */
  enqueue(n: Notification): void {
    if (this.closed) return;
    if (this.queue.length >= this.opts.capacity) {
      void this.deadLetter(n, 'queue full', 0);
      return;
    }
    this.queue.push(n);
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves once everything queued so far was delivered or dead-lettered. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Stops: waits up to `graceMs` for the queue to drain, then aborts in-flight requests. */
  async close(graceMs: number): Promise<void> {
    this.closed = true;
    const timer = setTimeout(() => this.abort.abort(), graceMs);
    try {
      await this.idle();
    } finally {
      clearTimeout(timer);
    }
  }

  private async drain(): Promise<void> {
    for (let n = this.queue.shift(); n !== undefined; n = this.queue.shift()) await this.deliver(n);
  }

  private async deliver(n: Notification): Promise<void> {
    let lastError = 'not sent';
    const attempts = this.opts.retries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.abort.signal.aborted) return this.deadLetter(n, 'shut down before delivery', attempt - 1);
      try {
        await this.send(n);
        this.events.delivered?.(this.sink.name, attempt);
        return;
      } catch (err) {
        const e = err instanceof SinkError ? err : new SinkError(String(err), true);
        lastError = e.message;
        this.log.warn(
          { sink: this.sink.name, kind: this.sink.kind, attempt, retryable: e.retryable, error: e.message },
          'alert delivery failed',
        );
        if (!e.retryable) return this.deadLetter(n, lastError, attempt);
        if (attempt < attempts) {
          await sleep(this.opts.backoffMs * 2 ** (attempt - 1), undefined, {
            signal: this.abort.signal,
          }).catch(() => undefined);
        }
      }
    }
    return this.deadLetter(n, lastError, attempts);
  }

  private async send(n: Notification): Promise<void> {
    const req = buildRequest(this.sink, n, this.now());
    const signal = AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs)]);
    let res: Response;
    try {
      res = await fetch(req.url, { method: 'POST', headers: req.headers, body: req.body, signal });
    } catch (err) {
      // The URL is a secret (chat webhooks carry tokens): the error names the sink, not the URL.
      const reason =
        err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')
          ? `timed out after ${this.opts.timeoutMs} ms`
          : 'network error';
      throw new SinkError(reason, true, { cause: err });
    }
    const text = await res.text().catch(() => '');
    checkResponse(this.sink.kind, res.status, text);
  }

  private async deadLetter(n: Notification, error: string, attempts: number): Promise<void> {
    const at = this.now();
    const letter: DeadLetter = { sink: this.sink.name, notification: n, error, attempts, at };
    this.events.deadLettered?.(this.sink.name, error);
    this.log.error(
      { sink: this.sink.name, kind: this.sink.kind, notification: n.id, attempts, error },
      'alert dead-lettered',
    );
    try {
      await this.store.putRecord(
        'alert-dead-letter',
        `${this.sink.name}|${n.id}`,
        letter,
        at + this.opts.deadLetterTtlMs,
      );
    } catch (err) {
      this.log.error({ sink: this.sink.name, notification: n.id, err }, 'alert dead letter not stored');
    }
  }
}
