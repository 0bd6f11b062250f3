import type { ExceptionClassifier } from '../../agents/detect/classify.js';
import { FlinkRestError } from '../flink-rest/errors.js';
import type { FlinkRestClient } from '../flink-rest/client.js';
import type { LogFileWire } from '../flink-rest/schemas.js';
import { stableTaskManagerId } from '../flink-rest/snapshot.js';
import { emptyCollection, LogClassCounter, type LogCollection } from './counter.js';
import { matchesGlob } from './file-tail.js';
import { DEFAULT_PARSER_LIMITS, Log4jParser, type LogLevel, type ParserLimits } from './log4j.js';

/**
 * Log signals from a Flink JobManager's REST API: the JobManager's log files
 * (`/jobmanager/logs`, `/jobmanager/logs/:name`) and every TaskManager's
 * (`/taskmanagers/:id/logs`, `/taskmanagers/:id/logs/:name`).
 *
 * Flink serves a log file whole (no Range support up to 2.x), so the source keeps an offset per
 * file and reads a file only when the list says it grew, keeping just the bytes after the offset
 * (the bytes before it are streamed past, never held). Bounded per cycle: at most `bytesPerCycle`
 * bytes are kept over all files; a backlog beyond `maxBacklogBytes` is skipped (counted); a file
 * whose new bytes lie beyond `maxResponseBytes` from its start is not read at all (skipped,
 * counted) — Flink would have to send all of it. Rotation: when a file shrinks, the rest of the
 * old file is read from `<name>.1` when the list has it, then the new file from its start.
 */

export interface RestLogSourceOptions {
  client: FlinkRestClient;
  classifier: ExceptionClassifier;
  minLevel?: LogLevel;
  /** Which log files to read (file name glob, default `*.log`: not `.out`, not rotated ones). */
  glob?: string;
  /** Bytes kept per collect over all files (default 256 KiB). */
  bytesPerCycle?: number;
  /** Most bytes streamed for one file read; beyond it the read is aborted (default 32 MiB). */
  maxResponseBytes?: number;
  /** More new bytes than this in one file: skip ahead to its last `bytesPerCycle` (default 4 × bytesPerCycle). */
  maxBacklogBytes?: number;
  /** Read the TaskManagers' logs too (default true). */
  taskManagers?: boolean;
  /** Most TaskManagers read per collect, in id order, rotating through the rest (default 64). */
  maxTaskManagers?: number;
  parser?: Partial<ParserLimits>;
}

export interface RestLogCollection extends LogCollection {
  /** Log file reads (HTTP requests for file bodies) and bytes streamed past to reach the offset. */
  reads: number;
  streamedBytes: number;
  /** The most bytes held from one read (the memory bound of a read). */
  largestRead: number;
  rotations: number;
  /** Files not read because their new bytes lie beyond `maxResponseBytes` or the read timed out. */
  oversizeFiles: number;
  /** TaskManagers whose log list or file could not be read this time. */
  failedTaskManagers: number;
}

interface FileState {
  offset: number;
  parser: Log4jParser;
  /** Collect number that last listed the file. */
  seen: number;
}

interface Plan {
  key: string;
  tm: string | undefined;
  file: LogFileWire;
  /** The rotated predecessor, when the file shrank and the list still has it. */
  rotatedFrom?: LogFileWire;
  state: FileState;
}

const DEFAULTS = {
  glob: '*.log',
  bytesPerCycle: 256 * 1024,
  maxResponseBytes: 32 * 1024 * 1024,
  maxTaskManagers: 64,
};

export class RestLogSource {
  private readonly files = new Map<string, FileState>();
  private readonly counter: LogClassCounter;
  /** Components (jm, TaskManager ids) listed before: their files that appear later start at 0. */
  private readonly known = new Set<string>();
  private collects = 0;
  private tmCursor = 0;
  private readonly budget: number;
  private readonly maxResponse: number;
  private readonly maxBacklog: number;
  private readonly glob: string;

  constructor(private readonly opts: RestLogSourceOptions) {
    this.counter = new LogClassCounter(opts.classifier, opts.minLevel ?? 'INFO');
    this.budget = opts.bytesPerCycle ?? DEFAULTS.bytesPerCycle;
    this.maxResponse = opts.maxResponseBytes ?? DEFAULTS.maxResponseBytes;
    this.maxBacklog = opts.maxBacklogBytes ?? 4 * this.budget;
    this.glob = opts.glob ?? DEFAULTS.glob;
  }

  /** Components of this cycle: the JobManager and (a window of) the TaskManagers. */
  private async components(): Promise<(string | undefined)[]> {
    if (this.opts.taskManagers === false) return [undefined];
    const ids = (await this.opts.client.taskManagers()).taskmanagers.map(t => t.id).sort();
    const max = this.opts.maxTaskManagers ?? DEFAULTS.maxTaskManagers;
    if (ids.length <= max) return [undefined, ...ids];
    const start = this.tmCursor % ids.length;
    this.tmCursor = start + max;
    return [undefined, ...[...ids, ...ids].slice(start, start + max)];
  }

  /**
   * Reads what is new since the last collect. Throws (a FlinkRestError) when the JobManager's log
   * list cannot be read: then nothing is known about the logs this cycle. A TaskManager that
   * cannot be read is counted and skipped.
   */
  async collect(): Promise<RestLogCollection> {
    const n = ++this.collects;
    const out: RestLogCollection = {
      ...emptyCollection(),
      reads: 0,
      streamedBytes: 0,
      largestRead: 0,
      rotations: 0,
      oversizeFiles: 0,
      failedTaskManagers: 0,
    };
    const components = await this.components();
    const lists = await Promise.all(
      components.map(async tm => {
        try {
          return { tm, logs: (await this.opts.client.logList(tm)).logs };
        } catch (err) {
          if (tm === undefined) throw err;
          out.failedTaskManagers++;
          return { tm, logs: undefined };
        }
      }),
    );
    const plans: Plan[] = [];
    for (const { tm, logs } of lists) {
      const component = tm ?? 'jobmanager';
      if (logs === undefined) {
        // Unreadable this time: keep its files' offsets (it may answer next cycle).
        for (const [key, st] of this.files) if (key.startsWith(`${component}/`)) st.seen = n;
        continue;
      }
      const byName = new Map(logs.map(l => [l.name, l]));
      const fresh = !this.known.has(component);
      this.known.add(component);
      for (const file of logs) {
        if (!matchesGlob(file.name, this.glob)) continue;
        const key = `${component}/${file.name}`;
        let state = this.files.get(key);
        if (state === undefined) {
          // History from before we started watching is not news; a file that appears later is.
          const offset = fresh && this.collects === 1 ? file.size : 0;
          state = {
            offset,
            seen: n,
            parser: new Log4jParser(
              this.counter.emitFor(tm === undefined ? 'jm' : `tm:${stableTaskManagerId(tm)}`),
              { ...DEFAULT_PARSER_LIMITS, ...this.opts.parser },
            ),
          };
          this.files.set(key, state);
        }
        state.seen = n;
        const plan: Plan = { key, tm, file, state };
        if (file.size < state.offset) {
          const previous = byName.get(`${file.name}.1`);
          // Rotated: the rest of the old file is in `<name>.1`; truncated in place: it is gone.
          if (previous !== undefined && previous.size >= state.offset) plan.rotatedFrom = previous;
          out.rotations++;
        }
        plans.push(plan);
      }
    }
    for (const [key, st] of this.files) {
      if (st.seen === n) continue;
      st.parser.flush();
      this.files.delete(key);
    }
    out.files = plans.length;

    const growing = plans.filter(p => p.rotatedFrom !== undefined || p.file.size > p.state.offset);
    const share = Math.max(4096, Math.floor(this.budget / Math.max(1, growing.length)));
    let left = this.budget;
    for (const p of growing) {
      if (left <= 0) break; // the rest is read next cycle: offsets stay
      const allowed = Math.min(share, left);
      try {
        const used = await this.readPlan(p, allowed, out);
        left -= used;
      } catch (err) {
        if (p.tm === undefined) throw err;
        out.failedTaskManagers++;
      }
    }
    out.counts = this.counter.take();
    return out;
  }

  /** Reads one file's new bytes (and the end of its rotated predecessor); returns bytes kept. */
  private async readPlan(p: Plan, allowed: number, out: RestLogCollection): Promise<number> {
    let used = 0;
    const { state } = p;
    if (p.rotatedFrom !== undefined) {
      const rest = p.rotatedFrom.size - state.offset;
      const kept = await this.readRange(p, p.rotatedFrom, state.offset, allowed, out);
      if (kept !== undefined) {
        out.skippedBytes += Math.max(0, rest - kept);
        used += kept;
      }
      state.parser.flush();
      state.offset = 0;
    } else if (p.file.size < state.offset) {
      state.parser.flush();
      state.offset = 0;
    }
    const growth = p.file.size - state.offset;
    if (growth <= 0) return used;
    let take = Math.min(growth, allowed - used);
    if (growth > this.maxBacklog) {
      // Far behind: skip to the newest bytes rather than fall further behind.
      take = Math.min(allowed - used, this.budget);
      const skipTo = p.file.size - take;
      out.skippedBytes += skipTo - state.offset;
      state.parser.flush();
      state.offset = skipTo;
    }
    if (take <= 0) return used;
    const kept = await this.readRange(p, p.file, state.offset, take, out);
    if (kept === undefined) {
      state.offset = p.file.size;
      return used;
    }
    state.offset += kept;
    return used + kept;
  }

  /**
   * Fetches `file` keeping [from, from + take) and feeds it to the parser; returns bytes kept, or
   * undefined when the file was too large to reach (its new bytes are counted as skipped).
   */
  private async readRange(
    p: Plan,
    file: LogFileWire,
    from: number,
    take: number,
    out: RestLogCollection,
  ): Promise<number | undefined> {
    const want = Math.min(take, file.size - from);
    if (want <= 0) return 0;
    if (from + want > this.maxResponse) {
      out.oversizeFiles++;
      out.skippedBytes += file.size - from;
      return undefined;
    }
    const before = p.state.parser.stats;
    const events = before.events;
    const binary = before.binaryChunks;
    let res;
    try {
      res = await this.opts.client.readSlice(this.opts.client.logPath(file.name, p.tm), {
        skip: from,
        take: want,
        max: this.maxResponse,
      });
    } catch (err) {
      // Too large, or too slow to stream up to the offset: skip what is new (counted) rather
      // than try the same read every cycle.
      if (err instanceof FlinkRestError && (err.code === 'too-large' || err.code === 'timeout')) {
        out.oversizeFiles++;
        out.skippedBytes += file.size - from;
        return undefined;
      }
      throw err;
    }
    out.reads++;
    out.bytes += res.sliced.kept;
    out.streamedBytes += res.sliced.received - res.sliced.kept;
    out.largestRead = Math.max(out.largestRead, res.sliced.kept);
    p.state.parser.push(res.text);
    p.state.parser.endOfRead();
    out.events += p.state.parser.stats.events - events;
    out.binaryChunks += p.state.parser.stats.binaryChunks - binary;
    return res.sliced.kept;
  }
}
