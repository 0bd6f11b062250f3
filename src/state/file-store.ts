import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  writeSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { JobKey, JournalEntry } from '../domain/index.js';
import { MemoryStore } from './memory-store.js';
import { RECORD_KINDS, StoreError, type JobState, type RecordKind, type StoredRecord } from './store.js';

/**
 * The standalone durable store: a directory with one JSON file per job, one per record kind, and
 * an append-only journal (JSON lines). Every write is atomic (temp file, rename), so a crash at
 * any instant leaves either the old or the new state, never a torn file. Records (pauses,
 * approvals, cooldowns) are also fsync'd with their directory and the journal per entry; job
 * state, rewritten by every cycle, is written behind the cycle without fsync (a power cut can
 * cost its last cycles, which the next cycles rebuild). A torn last journal line (power cut
 * mid-append) is dropped on open and reported.
 *
 * Only one daemon may use a state directory: `open` takes `daemon.lock` (with the pid) and
 * refuses when a live process holds it.
 */
const JobStateFile = z.looseObject({
  jobKey: z.string(),
  incarnation: z.string(),
  findings: z.record(z.string(), z.looseObject({ fingerprint: z.string(), rule: z.string() })),
  scoreHistory: z.array(z.looseObject({ at: z.number() })),
  logHistory: z
    .looseObject({
      buckets: z.array(z.looseObject({ at: z.number(), counts: z.record(z.string(), z.number()) })),
      classes: z.record(z.string(), z.looseObject({ lastSeen: z.number() })),
    })
    .optional(),
});
const JournalLine = z.looseObject({
  actionId: z.string(),
  jobKey: z.string(),
  at: z.number(),
  status: z.string(),
});
const RecordsFile = z.array(z.looseObject({ key: z.string() }));

export interface FileStoreProblem {
  file: string;
  message: string;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

let tmpCounter = 0;

/**
 * Temp file + rename: a reader never sees a torn file. `durable` also fsyncs the file and the
 * directory (pauses, approvals, cooldowns must survive a power loss; per-cycle job state, which
 * the next cycle rewrites, need not pay two fsyncs a job a tick).
 */
async function writeAtomic(dir: string, name: string, data: string, durable = true): Promise<void> {
  const tmp = join(dir, `.${name}.${process.pid}.${++tmpCounter}.tmp`);
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    if (durable) await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  if (durable) fsyncDir(dir);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FileStore extends MemoryStore {
  /** Problems found while loading (corrupt files set aside, torn journal line). */
  readonly problems: FileStoreProblem[] = [];
  /** Job-state writes that failed (write-behind), the last 100. */
  readonly writeErrors: FileStoreProblem[] = [];
  private readonly jobsDir: string;
  private readonly recordsDir: string;
  private readonly journalPath: string;
  private journalFd: number | undefined;
  /** Per-file write chains so two writes of one file never interleave. */
  private chains = new Map<string, Promise<void>>();
  private closed = false;

  private constructor(readonly dir: string) {
    super();
    this.jobsDir = join(dir, 'jobs');
    this.recordsDir = join(dir, 'records');
    this.journalPath = join(dir, 'journal.jsonl');
  }

  static open(dir: string): FileStore {
    const store = new FileStore(dir);
    try {
      mkdirSync(store.jobsDir, { recursive: true });
      mkdirSync(store.recordsDir, { recursive: true });
    } catch (err) {
      throw new StoreError(`cannot create state directory ${dir}`, { cause: err });
    }
    store.takeDaemonLock();
    store.load();
    store.journalFd = openSync(store.journalPath, 'a');
    return store;
  }

  private takeDaemonLock(): void {
    const lock = join(this.dir, 'daemon.lock');
    if (existsSync(lock)) {
      const pid = Number(readFileSync(lock, 'utf8').trim());
      if (Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) {
        throw new StoreError(
          `state directory ${this.dir} is in use by process ${pid} (only one standalone daemon per state dir)`,
        );
      }
    }
    const fd = openSync(lock, 'w');
    writeSync(fd, String(process.pid));
    fsyncSync(fd);
    closeSync(fd);
  }

  private setAside(path: string, message: string): void {
    this.problems.push({ file: path, message });
    try {
      renameSync(path, `${path}.corrupt-${Date.now()}`);
    } catch {
      // keep going: the file stays and is reported again next start
    }
  }

  private load(): void {
    for (const name of readdirSync(this.jobsDir)) {
      if (!name.endsWith('.json')) continue;
      const path = join(this.jobsDir, name);
      try {
        const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
        const parsed = JobStateFile.safeParse(data);
        if (!parsed.success) {
          this.setAside(path, `not a job state: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
          continue;
        }
        const state = data as JobState;
        this.jobs.set(state.jobKey, state);
      } catch (err) {
        this.setAside(path, `unreadable: ${(err as Error).message}`);
      }
    }
    for (const kind of RECORD_KINDS) {
      const path = join(this.recordsDir, `${kind}.json`);
      if (!existsSync(path)) continue;
      try {
        const data: unknown = JSON.parse(readFileSync(path, 'utf8'));
        const parsed = RecordsFile.safeParse(data);
        if (!parsed.success) {
          this.setAside(path, 'not a record list');
          continue;
        }
        this.records.set(kind, new Map((data as StoredRecord[]).map(r => [r.key, r])));
      } catch (err) {
        this.setAside(path, `unreadable: ${(err as Error).message}`);
      }
    }
    if (existsSync(this.journalPath)) {
      const text = readFileSync(this.journalPath, 'utf8');
      const lines = text.split('\n');
      let goodBytes = 0;
      for (const [i, line] of lines.entries()) {
        if (line.trim() === '') {
          goodBytes += Buffer.byteLength(line) + (i < lines.length - 1 ? 1 : 0);
          continue;
        }
        let entry: JournalEntry | undefined;
        try {
          const data: unknown = JSON.parse(line);
          if (JournalLine.safeParse(data).success) entry = data as JournalEntry;
        } catch {
          entry = undefined;
        }
        if (!entry) {
          if (i === lines.length - 1 || lines.slice(i + 1).every(l => l.trim() === '')) {
            this.problems.push({
              file: this.journalPath,
              message: `dropped a torn last line (${line.length} bytes)`,
            });
            // Cut the torn tail so the next append starts on a clean line.
            truncateSync(this.journalPath, goodBytes);
            break;
          }
          this.problems.push({ file: this.journalPath, message: `skipped unreadable line ${i + 1}` });
          goodBytes += Buffer.byteLength(line) + 1;
          continue;
        }
        goodBytes += Buffer.byteLength(line) + 1;
        const key = `${entry.actionId}|${entry.status}`;
        if (this.journalKeys.has(key)) continue;
        this.journalKeys.add(key);
        this.journal.push(entry);
      }
    }
  }

  /** Writes of a file queued behind the running one; a later put joins it (it writes the latest state). */
  private readonly queued = new Map<string, Promise<void>>();

  private coalesced(file: string, write: () => Promise<void>): Promise<void> {
    const waiting = this.queued.get(file);
    if (waiting !== undefined) return waiting;
    const next = this.chain(file, () => {
      this.queued.delete(file);
      return write();
    });
    this.queued.set(file, next);
    return next;
  }

  private chain(file: string, write: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(file) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(write);
    this.chains.set(file, next);
    return next;
  }

  private static fileName(jobKey: JobKey): string {
    return `${encodeURIComponent(jobKey)}.json`;
  }

  protected override persistJob(jobKey: JobKey): Promise<void> {
    this.assertOpen();
    const name = FileStore.fileName(jobKey);
    // Write-behind: the cycle does not wait for the disk (at 30,000 jobs that is 500 files a
    // second); the write reads the state when it runs, so puts arriving meanwhile coalesce into
    // one write, and close() drains them. A failed write is kept in `writeErrors`.
    const write = this.coalesced(`jobs/${name}`, async () => {
      const state = this.jobs.get(jobKey);
      if (state === undefined) {
        await unlink(join(this.jobsDir, name)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        return;
      }
      await writeAtomic(this.jobsDir, name, JSON.stringify(state), false);
    });
    write.catch((err: unknown) => {
      this.writeErrors.push({ file: join(this.jobsDir, name), message: (err as Error).message });
      if (this.writeErrors.length > 100) this.writeErrors.shift();
    });
    return Promise.resolve();
  }

  protected override persistJournal(entry: JournalEntry): Promise<void> {
    this.assertOpen();
    return this.chain('journal', () => {
      const fd = this.journalFd;
      if (fd === undefined) throw new StoreError('journal is closed');
      writeSync(fd, `${JSON.stringify(entry)}\n`);
      fsyncSync(fd);
      return Promise.resolve();
    });
  }

  protected override persistRecords(kind: RecordKind): Promise<void> {
    this.assertOpen();
    return this.chain(`records/${kind}`, () =>
      writeAtomic(
        this.recordsDir,
        `${kind}.json`,
        JSON.stringify([...(this.records.get(kind)?.values() ?? [])]),
      ),
    );
  }

  protected override beforeWrite(): void {
    this.assertOpen();
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreError('the file store is closed');
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    await Promise.allSettled([...this.chains.values()]);
    this.closed = true;
    if (this.journalFd !== undefined) closeSync(this.journalFd);
    this.journalFd = undefined;
    rmSync(join(this.dir, 'daemon.lock'), { force: true });
  }
}
