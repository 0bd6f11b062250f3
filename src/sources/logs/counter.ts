import type { ExceptionClassifier } from '../../agents/detect/classify.js';
import { UNCLASSIFIED } from '../../agents/detect/classify.js';
import { redactSecrets } from '../../telemetry/logger.js';
import { stableTaskManagerId } from '../flink-rest/snapshot.js';
import { classifiableText, LOG_LEVELS, type LogEvent, type LogLevel } from './log4j.js';

/**
 * Log events → counts per class of `rules/log-patterns.json`, with first/last seen and one
 * sample line, secrets masked. Shared by every log source (files, Flink REST, Kubernetes).
 */

export interface LogClassCount {
  class: string;
  /**
   * Whose events these are: `job:<jobId>` when the event names a job ("… of job <id>"),
   * else where it was logged — `jm`, `tm:<stable TaskManager id>` — or `any` when unknown
   * (files, pods). A job counts its own, the JobManager's unattributed ones and those of its
   * TaskManagers (see LogFeeds).
   */
  scope: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** First line of the latest event of the class, secrets masked, at most 300 characters. */
  sample: string;
}

/** What one collection of a log source read: the counts and how much it read or skipped. */
export interface LogCollection {
  counts: LogClassCount[];
  files: number;
  bytes: number;
  skippedBytes: number;
  events: number;
  binaryChunks: number;
}

export function emptyCollection(): LogCollection {
  return { counts: [], files: 0, bytes: 0, skippedBytes: 0, events: 0, binaryChunks: 0 };
}

/** A job named in a message: `of job <id>`, `for job <id>`, `Job <name> (<id>)`. */
const JOB_ID = /\bjob\b[^()\n]{0,200}?\(?\b([0-9a-f]{32})\b/i;

/** A task failure names its TaskManager: `… switched from RUNNING to FAILED on <resource id> @ host`. */
const FAILED_ON = /switched from \w+ to FAILED on (\S+) @ /;

const SECRET_ASSIGNMENT =
  /\b(password|passwd|secret|token|access[_-]?key|sasl\.jaas\.config)(["']?\s*[=:]\s*)("[^"]*"|'[^']*'|\S+)/gi;

/** A log line fit to show: registered secrets and `password=…`-style values masked, length capped. */
export function maskLine(line: string, max = 300): string {
  const masked = redactSecrets(line).replace(SECRET_ASSIGNMENT, '$1$2[masked]');
  return masked.length > max ? `${masked.slice(0, max - 1)}…` : masked;
}

/** Classifies events of `minLevel` and worse; `take()` hands over the counts since the last take. */
export class LogClassCounter {
  private pending = new Map<string, LogClassCount>();
  private readonly minRank: number;

  constructor(
    private readonly classifier: ExceptionClassifier,
    /** Least severe level classified (default INFO: Flink logs heartbeat timeouts at INFO). */
    minLevel: LogLevel = 'INFO',
  ) {
    this.minRank = LOG_LEVELS.indexOf(minLevel);
  }

  /** A Log4jParser `emit` for events logged by `origin` (`jm`, `tm:<id>`, `any`). */
  emitFor(origin: string): (e: LogEvent) => void {
    return e => this.addFrom(origin, e);
  }

  /** Events of unknown origin. */
  readonly add = (e: LogEvent): void => this.addFrom('any', e);

  private addFrom(origin: string, e: LogEvent): void {
    if (LOG_LEVELS.indexOf(e.level) < this.minRank) return;
    const text = classifiableText(e);
    const cls = this.classifier.classify({ stacktrace: text });
    if (cls === UNCLASSIFIED) return;
    const job = JOB_ID.exec(e.message)?.[1];
    const tm = job === undefined ? FAILED_ON.exec(e.message)?.[1] : undefined;
    const scope =
      job !== undefined ? `job:${job}` : tm !== undefined ? `tm:${stableTaskManagerId(tm)}` : origin;
    const key = `${cls}\u0000${scope}`;
    const prev = this.pending.get(key);
    const sample = maskLine(`${e.level} ${e.logger} - ${e.message}`);
    if (prev === undefined)
      this.pending.set(key, { class: cls, scope, count: 1, firstSeen: e.at, lastSeen: e.at, sample });
    else {
      prev.count++;
      prev.firstSeen = Math.min(prev.firstSeen, e.at);
      if (e.at >= prev.lastSeen) {
        prev.lastSeen = e.at;
        prev.sample = sample;
      }
    }
  }

  take(): LogClassCount[] {
    const out = [...this.pending.values()].sort(
      (a, b) => a.class.localeCompare(b.class) || a.scope.localeCompare(b.scope),
    );
    this.pending = new Map();
    return out;
  }
}
