/**
 * Wall-clock time in an IANA time zone, from epoch milliseconds, through Intl (no time zone
 * database of our own). Formatters are cached per zone.
 */
export interface ZonedParts {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday … 6 = Saturday */
  weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Readonly<Record<string, number>> = { Sun: 0, Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6 };

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      weekday: 'short',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export function zonedParts(epochMs: number, timeZone: string): ZonedParts {
  const out: ZonedParts = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const part of formatter(timeZone).formatToParts(epochMs)) {
    if (part.type === 'weekday') out.weekday = WEEKDAYS[part.value] ?? 0;
    else if (part.type in out) out[part.type as keyof ZonedParts] = Number(part.value);
  }
  return out;
}

/** How far the zone's wall clock is ahead of UTC at that instant, in ms. */
function offsetAt(epochMs: number, timeZone: string): number {
  const p = zonedParts(epochMs, timeZone);
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  return wall - Math.floor(epochMs / 1000) * 1000;
}

const LOCAL_ISO = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?$/;

/**
 * An ISO time to epoch ms. With `Z` or an offset it is absolute; without, it is wall-clock time
 * in `timeZone` (a date alone is its midnight). Undefined when unreadable.
 */
export function parseZonedIso(text: string, timeZone: string): number | undefined {
  const m = LOCAL_ISO.exec(text.trim());
  if (!m) {
    const abs = Date.parse(text);
    return Number.isNaN(abs) ? undefined : abs;
  }
  const wall = Date.UTC(
    Number(m[1]),
    Number(m[2]) - 1,
    Number(m[3]),
    Number(m[4] ?? 0),
    Number(m[5] ?? 0),
    Number(m[6] ?? 0),
  );
  // Two passes settle the offset also next to a DST switch.
  let guess = wall - offsetAt(wall, timeZone);
  guess = wall - offsetAt(guess, timeZone);
  return guess;
}
