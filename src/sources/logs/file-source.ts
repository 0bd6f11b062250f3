import type { ExceptionClassifier } from '../../agents/detect/classify.js';
import { UNCLASSIFIED } from '../../agents/detect/classify.js';
import { redactSecrets } from '../../telemetry/logger.js';
import { DEFAULT_TAIL_LIMITS, FileTail, listLogFiles, type TailLimits } from './file-tail.js';
import {
  classifiableText,
  DEFAULT_PARSER_LIMITS,
  LOG_LEVELS,
  Log4jParser,
  type LogEvent,
  type LogLevel,
  type ParserLimits,
} from './log4j.js';

/**
 * Log signals from a directory of Flink log files: every matching file is tailed (rotation,
 * truncation, a byte budget per cycle shared by the files), parsed (log4j layout, multi-line
 * events) and its INFO and worse events classified with `rules/log-patterns.json`. What a cycle
 * gets is a count per class with first/last seen and one sample line, secrets masked.
 */

export interface LogClassCount {
  class: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** First line of the latest event of the class, secrets masked, at most 300 characters. */
  sample: string;
}

export interface LogCollection {
  counts: LogClassCount[];
  files: number;
  bytes: number;
  skippedBytes: number;
  events: number;
  binaryChunks: number;
}

const SECRET_ASSIGNMENT =
  /\b(password|passwd|secret|token|access[_-]?key|sasl\.jaas\.config)(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi;

/** A log line fit to show: registered secrets and `password=…`-style values masked, length capped. */
export function maskLine(line: string, max = 300): string {
  const masked = redactSecrets(line).replace(SECRET_ASSIGNMENT, '$1$2[masked]');
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
}

export interface FileLogSourceOptions {
  dir: string;
  glob: string;
  classifier: ExceptionClassifier;
  /** Least severe level classified (default INFO: Flink logs heartbeat timeouts at INFO). */
  minLevel?: LogLevel;
  /** Byte budget per cycle for all files together. */
  maxBytesPerCycle?: number;
  tail?: Partial<TailLimits>;
  parser?: Partial<ParserLimits>;
}

export class FileLogSource {
  private readonly tails = new Map<string, { tail: FileTail; parser: Log4jParser }>();
  private pending = new Map<string, LogClassCount>();
  private readonly minRank: number;
  /** Files present at the first collect start at their end; files that appear later, at 0. */
  private started = false;

  constructor(private readonly opts: FileLogSourceOptions) {
    this.minRank = LOG_LEVELS.indexOf(opts.minLevel ?? 'INFO');
  }

  private onEvent(e: LogEvent): void {
    if (LOG_LEVELS.indexOf(e.level) < this.minRank) return;
    const cls = this.opts.classifier.classify({ stacktrace: classifiableText(e) });
    if (cls === UNCLASSIFIED) return;
    const prev = this.pending.get(cls);
    const sample = maskLine(`${e.level} ${e.logger} - ${e.message}`);
    if (prev === undefined)
      this.pending.set(cls, { class: cls, count: 1, firstSeen: e.at, lastSeen: e.at, sample });
    else {
      prev.count++;
      prev.firstSeen = Math.min(prev.firstSeen, e.at);
      if (e.at >= prev.lastSeen) {
        prev.lastSeen = e.at;
        prev.sample = sample;
      }
    }
  }

  /** Reads what is new in every file (within the budget) and returns this cycle's counts. */
  async collect(): Promise<LogCollection> {
    const files = await listLogFiles(this.opts.dir, this.opts.glob);
    const present = new Set(files);
    for (const [path, t] of this.tails) {
      if (present.has(path)) continue;
      await t.tail.close();
      t.parser.flush();
      this.tails.delete(path);
    }
    const budget = this.opts.maxBytesPerCycle ?? DEFAULT_TAIL_LIMITS.maxBytes;
    const perFile = Math.max(4096, Math.floor(budget / Math.max(1, files.length)));
    const out: LogCollection = {
      counts: [],
      files: files.length,
      bytes: 0,
      skippedBytes: 0,
      events: 0,
      binaryChunks: 0,
    };
    for (const path of files) {
      let t = this.tails.get(path);
      if (t === undefined) {
        const parser = new Log4jParser(e => this.onEvent(e), {
          ...DEFAULT_PARSER_LIMITS,
          ...this.opts.parser,
        });
        const tail = new FileTail(
          path,
          { ...DEFAULT_TAIL_LIMITS, ...this.opts.tail, maxBytes: perFile },
          !this.started,
        );
        t = { tail, parser };
        this.tails.set(path, t);
      }
      const before = { ...t.parser.stats };
      const read = await t.tail.read();
      for (const c of read.chunks) {
        t.parser.push(c.text);
        if (c.endOfFile) t.parser.flush();
      }
      t.parser.endOfRead();
      out.bytes += read.bytes;
      out.skippedBytes += read.skippedBytes;
      out.events += t.parser.stats.events - before.events;
      out.binaryChunks += t.parser.stats.binaryChunks - before.binaryChunks;
    }
    this.started = true;
    out.counts = [...this.pending.values()].sort((a, b) => a.class.localeCompare(b.class));
    this.pending = new Map();
    return out;
  }

  async close(): Promise<void> {
    for (const t of this.tails.values()) await t.tail.close();
    this.tails.clear();
  }
}
