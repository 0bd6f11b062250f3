import type { FactMap, LogHistory, LogSignal, WindowName } from '../../domain/index.js';
import type { WindowLengths } from './windows.js';

/**
 * Log facts of a job: counts per class of `rules/log-patterns.json` per window, when the newest
 * and the first event of an episode were seen, and a sample line. The counts come from a bounded
 * history kept with the job's state in the store (keyed by jobKey), so windows survive a daemon
 * restart like the score history. When the logs were not read this cycle the facts are absent —
 * unknown, not zero.
 */

export interface LogFactOptions {
  windows: WindowLengths;
  now: number;
  /** Every class of log-patterns.json: a class not seen counts 0 (the logs were read). */
  classes: readonly string[];
  /** Most buckets kept (oldest dropped first). */
  maxBuckets?: number;
}

const WINDOWS = [
  ['short', 'countShort'],
  ['medium', 'countMedium'],
  ['long', 'countLong'],
] as const satisfies readonly (readonly [WindowName, string])[];

export const DEFAULT_MAX_LOG_BUCKETS = 2048;

export function emptyLogHistory(): LogHistory {
  return { buckets: [], classes: {} };
}

/** Updates the history with this cycle's signal (if any) and returns the job's log facts. */
export function logFacts(
  signal: LogSignal | undefined,
  previous: LogHistory | undefined,
  opts: LogFactOptions,
): { facts: FactMap; history: LogHistory | undefined } {
  const { now, windows } = opts;
  if (signal === undefined && previous === undefined) return { facts: {}, history: undefined };
  const keepFrom = now - windows.long;
  const history: LogHistory = {
    buckets: (previous?.buckets ?? []).filter(b => b.at > keepFrom && b.at <= now),
    classes: Object.fromEntries(
      Object.entries(previous?.classes ?? {}).filter(([, c]) => c.lastSeen > keepFrom),
    ),
  };
  if (signal === undefined) return { facts: {}, history };
  history.since = previous?.since ?? now;

  const counts: Record<string, number> = {};
  for (const c of signal.counts) {
    if (c.count <= 0) continue;
    counts[c.class] = (counts[c.class] ?? 0) + c.count;
    const prev = history.classes[c.class];
    history.classes[c.class] =
      prev === undefined
        ? { firstSeen: c.firstSeen, lastSeen: c.lastSeen, sample: c.sample }
        : {
            firstSeen: Math.min(prev.firstSeen, c.firstSeen),
            lastSeen: Math.max(prev.lastSeen, c.lastSeen),
            sample: c.lastSeen >= prev.lastSeen ? c.sample : prev.sample,
          };
  }
  if (Object.keys(counts).length > 0) history.buckets.push({ at: now, counts });
  const max = opts.maxBuckets ?? DEFAULT_MAX_LOG_BUCKETS;
  if (history.buckets.length > max) history.buckets.splice(0, history.buckets.length - max);

  const facts: FactMap = { 'job.logs.collectedFor': Math.max(0, (now - history.since) / 1000) };
  const classes = new Set([...opts.classes, ...Object.keys(history.classes)]);
  for (const cls of classes) {
    for (const [w, suffix] of WINDOWS) {
      const from = now - windows[w];
      let n = 0;
      for (const b of history.buckets) if (b.at > from) n += b.counts[cls] ?? 0;
      facts[`job.logs.${cls}.${suffix}`] = n;
    }
    const memory = history.classes[cls];
    if (memory === undefined) continue;
    facts[`job.logs.${cls}.lastSeenAgo`] = Math.max(0, (now - memory.lastSeen) / 1000);
    facts[`job.logs.${cls}.firstSeenAgo`] = Math.max(0, (now - memory.firstSeen) / 1000);
    facts[`job.logs.${cls}.sample`] = memory.sample;
  }
  return { facts, history };
}
