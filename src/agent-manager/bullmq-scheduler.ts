import { Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { JobRefSchema, type JobRef } from '../domain/index.js';
import { LockBusyError, type Store } from '../state/store.js';
import type { Logger } from '../telemetry/logger.js';

export interface BullmqSchedulerOptions {
  redisUrl: string;
  prefix: string;
  queueName?: string;
  intervalMs: number;
  /** Cycles one worker runs at once. */
  concurrency: number;
  /** One cycle for one job. */
  run: (job: JobRef) => Promise<void>;
  /** Where the per-job cycle lock lives (the Redis store: shared by every replica). */
  store: Store;
  log: Logger;
  /** How long close() waits for running cycles before it forces the workers down. */
  drainTimeoutMs?: number;
}

export interface CycleOutcome {
  status: 'done' | 'skipped-busy' | 'invalid';
}

/** Scheduler ids cannot hold ":"; jobKeys do. base64url keeps them unique and safe. */
export function schedulerIdOf(jobKey: string): string {
  return `job-${Buffer.from(jobKey).toString('base64url')}`;
}

/** TTL of the per-job cycle lock: half a tick (at least 1 s); withLock renews it while held. */
export function cycleLockTtl(intervalMs: number): number {
  return Math.max(1_000, Math.floor(intervalMs / 2));
}

/** What decides whether a scheduler must be rewritten: its interval and its job data. */
function fingerprint(every: number | undefined, data: unknown): string {
  return `${String(every)} ${JSON.stringify(data)}`;
}

/**
 * The distributed scheduler: one BullMQ Job Scheduler per watched job (`upsertJobScheduler`,
 * idempotent, so every replica may sync the same inventory) and a worker in each replica.
 *
 * - At most one cycle per job at a time: BullMQ delivers at least once and a slow cycle may
 *   overlap the next tick, so each cycle runs under the job's cycle lock in the shared store;
 *   a second delivery finds it busy and skips.
 * - A killed worker: its active cycle's lock expires after `lockDuration` (one tick) and the
 *   stalled check (every tick) hands it to another worker; its future ticks are plain delayed
 *   jobs any worker takes, and the job's cycle lock (half a tick, renewed while a cycle runs)
 *   has expired by the next one. Takeover within two ticks.
 * - Shutdown drains (waits for running cycles) up to a timeout, then forces, then closes Redis.
 */
export class BullmqScheduler {
  private readonly queue: Queue;
  private readonly queueConnection: Redis;
  private worker: Worker | undefined;
  private workerConnection: Redis | undefined;
  private readonly queueName: string;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: BullmqSchedulerOptions) {
    this.queueName = opts.queueName ?? 'cycles';
    this.queueConnection = new Redis(opts.redisUrl, { maxRetriesPerRequest: 3, enableOfflineQueue: true });
    this.queue = new Queue(this.queueName, {
      connection: this.queueConnection,
      prefix: opts.prefix,
      defaultJobOptions: {
        removeOnComplete: { count: 1000 },
        removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
      },
    });
    this.queue.on('error', err => opts.log.warn({ err: err.message }, 'queue error'));
  }

  /**
   * Upserts the scheduler of every new or changed job (interval or job data differ) and removes
   * the schedulers of jobs that are gone. Unchanged schedulers are left alone: an upsert rewrites
   * the scheduler and its next delayed job, which at thousands of jobs per discovery per replica
   * is most of the Redis traffic. Idempotent, so every replica may sync the same inventory.
   */
  async sync(jobs: readonly JobRef[]): Promise<{ added: number; removed: number; updated: number }> {
    const wanted = new Map(jobs.map(j => [schedulerIdOf(j.jobKey), j]));
    const existing = new Map<string, string>();
    const pageSize = 1000;
    for (let start = 0; ; start += pageSize) {
      const page = await this.queue.getJobSchedulers(start, start + pageSize - 1, true);
      for (const s of page)
        if (s.key.startsWith('job-')) existing.set(s.key, fingerprint(s.every, s.template?.data));
      if (page.length < pageSize) break;
    }
    let added = 0;
    let updated = 0;
    for (const [id, job] of wanted) {
      const current = existing.get(id);
      if (current === fingerprint(this.opts.intervalMs, job)) continue;
      if (current === undefined) added += 1;
      else updated += 1;
      await this.queue.upsertJobScheduler(id, { every: this.opts.intervalMs }, { name: 'cycle', data: job });
    }
    let removed = 0;
    for (const id of existing.keys()) {
      if (wanted.has(id)) continue;
      await this.queue.removeJobScheduler(id);
      removed += 1;
    }
    return { added, removed, updated };
  }

  async schedulerCount(): Promise<number> {
    return this.queue.getJobSchedulersCount();
  }

  /** Starts this replica's worker. */
  start(): void {
    if (this.worker || this.closing) return;
    this.workerConnection = new Redis(this.opts.redisUrl, { maxRetriesPerRequest: null });
    const tick = this.opts.intervalMs;
    this.worker = new Worker(this.queueName, job => this.process(job), {
      connection: this.workerConnection,
      prefix: this.opts.prefix,
      concurrency: this.opts.concurrency,
      // Derived from the tick: a dead worker's cycle is recovered within two ticks.
      lockDuration: Math.max(5_000, tick),
      stalledInterval: Math.max(5_000, tick),
      maxStalledCount: 1,
    });
    this.worker.on('error', err => this.opts.log.warn({ err: err.message }, 'worker error'));
    this.worker.on('failed', (job, err) =>
      this.opts.log.warn({ jobId: job?.id, err: err.message }, 'cycle job failed'),
    );
  }

  private async process(job: Job): Promise<CycleOutcome> {
    const parsed = JobRefSchema.safeParse(job.data);
    if (!parsed.success) {
      this.opts.log.error(
        { jobId: job.id, issue: parsed.error.issues[0]?.message },
        'cycle job with invalid data dropped',
      );
      return { status: 'invalid' };
    }
    const ref = parsed.data;
    try {
      // The lock is renewed while the cycle runs (every third of its TTL), so the TTL only says
      // how long a killed worker blocks the job: under one tick, so the next tick runs it.
      await this.opts.store.withLock(`cycle:${ref.jobKey}`, cycleLockTtl(this.opts.intervalMs), async () => {
        // Debug lines (pino adds the time): the per-cycle trace the fleet test reads.
        this.opts.log.debug({ jobKey: ref.jobKey, jobId: job.id }, 'cycle started');
        try {
          await this.opts.run(ref);
        } finally {
          this.opts.log.debug({ jobKey: ref.jobKey, jobId: job.id }, 'cycle ended');
        }
      });
      return { status: 'done' };
    } catch (err) {
      if (err instanceof LockBusyError) return { status: 'skipped-busy' };
      throw err;
    }
  }

  /** Drains this replica's worker (bounded), then closes queue and Redis. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.worker) {
        const worker = this.worker;
        let timer: NodeJS.Timeout | undefined;
        const forced = new Promise<'timeout'>(resolve => {
          timer = setTimeout(() => resolve('timeout'), this.opts.drainTimeoutMs ?? 30_000);
        });
        const result = await Promise.race([worker.close().then(() => 'drained' as const), forced]);
        clearTimeout(timer);
        if (result === 'timeout') {
          this.opts.log.warn({}, 'drain timed out; forcing the worker down');
          await worker.close(true);
        }
      }
      await this.queue.close();
      await Promise.allSettled([this.workerConnection?.quit(), this.queueConnection.quit()]);
    })();
    return this.closing;
  }
}
