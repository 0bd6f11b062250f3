/**
 * Durations in config and rule files are written as `"30s"`, `"5m"`, `"1h30m"`, `"250ms"`, `"2d"`
 * or as a plain number of **milliseconds**. Internally every duration is milliseconds.
 */
export type DurationInput = string | number;

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Parses a duration; returns undefined when the text is not a duration. */
export function tryParseDuration(input: DurationInput): number | undefined {
  if (typeof input === 'number') return Number.isFinite(input) && input >= 0 ? input : undefined;
  const text = input.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text);
  PART.lastIndex = 0;
  let total = 0;
  let consumed = 0;
  for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
    const unit = UNIT_MS[m[2] ?? ''];
    if (unit === undefined) return undefined;
    total += Number(m[1]) * unit;
    consumed = PART.lastIndex;
  }
  return consumed === text.length && consumed > 0 ? total : undefined;
}

export function parseDuration(input: DurationInput): number {
  const ms = tryParseDuration(input);
  if (ms === undefined)
    throw new RangeError(`not a duration: ${JSON.stringify(input)} (use e.g. "30s", "5m", "1h")`);
  return ms;
}

/** Formats milliseconds compactly: 90000 → "1m30s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let rest = Math.round(ms / 1000);
  const parts: string[] = [];
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}
