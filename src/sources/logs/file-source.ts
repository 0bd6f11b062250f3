import type { ExceptionClassifier } from '../../agents/detect/classify.js';
import { emptyCollection, LogClassCounter, type LogCollection } from './counter.js';
import { DEFAULT_TAIL_LIMITS, FileTail, listLogFiles, type TailLimits } from './file-tail.js';
import { DEFAULT_PARSER_LIMITS, Log4jParser, type LogLevel, type ParserLimits } from './log4j.js';

/**
 * Log signals from a directory of Flink log files: every matching file is tailed (rotation,
 * truncation, a byte budget per cycle shared by the files), parsed (log4j layout, multi-line
 * events) and its INFO and worse events classified with `rules/log-patterns.json`. What a cycle
 * gets is a count per class with first/last seen and one sample line, secrets masked.
 */

export { maskLine, type LogClassCount, type LogCollection } from './counter.js';

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
  private readonly counter: LogClassCounter;
  /** Files present at the first collect start at their end; files that appear later, at 0. */
  private started = false;

  constructor(private readonly opts: FileLogSourceOptions) {
    this.counter = new LogClassCounter(opts.classifier, opts.minLevel ?? 'INFO');
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
    const out: LogCollection = { ...emptyCollection(), files: files.length };
    for (const path of files) {
      let t = this.tails.get(path);
      if (t === undefined) {
        const parser = new Log4jParser(this.counter.add, {
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
    out.counts = this.counter.take();
    return out;
  }

  async close(): Promise<void> {
    for (const t of this.tails.values()) await t.tail.close();
    this.tails.clear();
  }
}
