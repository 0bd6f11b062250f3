/**
 * Flink's log files in its default log4j layout
 * (`%d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n`) → events. A line that does not start
 * with a timestamp continues the previous event (stack traces, multi-line messages), so one
 * exception is one event. Bounded: an event keeps at most `maxLines` lines of at most
 * `maxLineLength` characters; a chunk that looks binary (NUL bytes) is dropped and counted.
 */

export const LOG_LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'FATAL'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LogEvent {
  /** Epoch ms, from the line's timestamp read as UTC unless `utcOffsetMinutes` says otherwise. */
  at: number;
  level: LogLevel;
  logger: string;
  /** First line of the message. */
  message: string;
  /** Continuation lines (stack trace), already bounded. */
  trace: string[];
}

export interface ParserLimits {
  maxLines: number;
  maxLineLength: number;
  /** Offset of the log's timestamps from UTC (Flink logs in the JVM's zone). */
  utcOffsetMinutes: number;
}

export const DEFAULT_PARSER_LIMITS: ParserLimits = {
  maxLines: 200,
  maxLineLength: 8192,
  utcOffsetMinutes: 0,
};

const HEADER =
  /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})[,.](\d{3})\s+(TRACE|DEBUG|INFO|WARN|ERROR|FATAL)\s+(\S+)\s*(?:\[[^\]]*\]\s*)?-\s?(.*)$/;

export interface ParserStats {
  events: number;
  /** Lines before the first event of the stream, or dropped beyond maxLines. */
  droppedLines: number;
  /** Chunks dropped because they contained NUL bytes. */
  binaryChunks: number;
}

/**
 * Incremental parser: feed it text chunks as they are read; complete events are handed to
 * `emit`; an event is complete when the next header line arrives or on `flush()`.
 */
export class Log4jParser {
  private partial = '';
  private current: LogEvent | undefined;
  readonly stats: ParserStats = { events: 0, droppedLines: 0, binaryChunks: 0 };

  constructor(
    private readonly emit: (e: LogEvent) => void,
    private readonly limits: ParserLimits = DEFAULT_PARSER_LIMITS,
  ) {}

  push(chunk: string): void {
    if (chunk.includes('\u0000')) {
      this.stats.binaryChunks++;
      this.partial = '';
      return;
    }
    const text = this.partial + chunk;
    const lines = text.split('\n');
    this.partial = lines.pop() ?? '';
    // A line longer than the limit is cut now, so a file without newlines cannot grow `partial`.
    if (this.partial.length > this.limits.maxLineLength) {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const line of lines) this.line(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  /**
   * The end of what is readable now. When it ends on a line break the last event is taken as
   * complete: log4j writes an event and its stack trace in one append, and waiting for the next
   * header would delay the newest event (often the warning that matters) by a cycle.
   */
  endOfRead(): void {
    if (this.partial === '') this.finish();
  }

  /** Ends the stream (or a rotated file): the last event is complete. */
  flush(): void {
    if (this.partial !== '') this.line(this.partial);
    this.partial = '';
    this.finish();
  }

  private line(raw: string): void {
    const line = raw.length > this.limits.maxLineLength ? raw.slice(0, this.limits.maxLineLength) : raw;
    const m = HEADER.exec(line);
    if (m) {
      this.finish();
      const [, y, mo, d, h, mi, s, ms, level, logger, message] = m;
      const at =
        Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(ms)) -
        this.limits.utcOffsetMinutes * 60_000;
      this.current = {
        at,
        level: level as LogLevel,
        logger: logger ?? '',
        message: message ?? '',
        trace: [],
      };
      return;
    }
    if (this.current === undefined || this.current.trace.length >= this.limits.maxLines) {
      this.stats.droppedLines++;
      return;
    }
    if (line !== '') this.current.trace.push(line);
  }

  private finish(): void {
    if (this.current === undefined) return;
    this.stats.events++;
    this.emit(this.current);
    this.current = undefined;
  }
}

/**
 * The text the exception classifier reads for an event: the stack trace when the event carries
 * one (its first line is `a.b.SomeException: message`), else `logger: message`, so message
 * patterns of `rules/log-patterns.json` also classify plain WARN/ERROR lines.
 */
export function classifiableText(e: LogEvent): string {
  const first = e.trace[0];
  if (first !== undefined && /^(?:[A-Za-z_$][\w$]*\.)+[A-Za-z_$][\w$]*(?::|$)/.test(first))
    return e.trace.join('\n');
  return [`${e.logger}: ${e.message}`, ...e.trace].join('\n');
}
