import { parse as parseCron } from 'node-cron';
import type { FreezeEntry } from '../../../config/safety-schema.js';
import type { JobRef, PlannedActionOrigin } from '../../../domain/index.js';
import { compileSelector, type CompiledSelector } from './selector.js';
import { parseZonedIso, zonedParts, type ZonedParts } from './zoned-time.js';

/**
 * Freeze windows: while one is active for a job, only the action kinds it allows act (today:
 * calendar floors); everything else is journaled as skipped `freeze:<id>`.
 *
 * A window is either `start`/`end` (ISO; without an offset, in `timezone`) or a `cron`
 * expression giving each freeze's start in `timezone` plus a `duration` (default: one minute per
 * match, so `* 0-6 * * 1-5` freezes weekday nights minute by minute). Evaluated from the Clock's
 * `now` on every check, so a daemon that was down at the start is frozen as soon as it is back.
 */
export interface ActiveFreeze {
  id: string;
  allow: readonly FreezeEntry['allow'][number][];
  reason?: string;
  /** When this window started (epoch ms). */
  since: number;
}

export interface FreezeCalendar {
  /** Every freeze active for the job now, in config order. */
  activeFreezes(job: JobRef, now: number): ActiveFreeze[];
  /** The first active freeze, if any. */
  activeFreeze(job: JobRef, now: number): ActiveFreeze | undefined;
  /** The first active freeze that does not let an action of this origin through. */
  blockingFreeze(job: JobRef, now: number, origin: PlannedActionOrigin): ActiveFreeze | undefined;
}

const MINUTE = 60_000;

interface CronFields {
  minute: ReadonlySet<number>;
  hour: ReadonlySet<number>;
  dayOfMonth: ReadonlySet<number>;
  lastDayOfMonth: boolean;
  month: ReadonlySet<number>;
  dayOfWeek: ReadonlySet<number>;
  /** Standard cron: when both day fields are restricted, either may match. */
  eitherDay: boolean;
}

function compileCron(expr: string): CronFields {
  const f = parseCron(expr);
  const dom = f.dayOfMonth.filter((d): d is number => typeof d === 'number');
  const lastDayOfMonth = f.dayOfMonth.includes('L');
  const dow = f.dayOfWeek.filter((d): d is number => typeof d === 'number').map(d => d % 7);
  const domRestricted = lastDayOfMonth || dom.length < 31;
  const dowRestricted = new Set(dow).size < 7;
  return {
    minute: new Set(f.minute),
    hour: new Set(f.hour),
    dayOfMonth: new Set(dom),
    lastDayOfMonth,
    month: new Set(f.month),
    dayOfWeek: new Set(dow),
    eitherDay: domRestricted && dowRestricted,
  };
}

function dayMatches(c: CronFields, p: ZonedParts): boolean {
  const lastDay = new Date(Date.UTC(p.year, p.month, 0)).getUTCDate();
  const dom = c.dayOfMonth.has(p.day) || (c.lastDayOfMonth && p.day === lastDay);
  const dow = c.dayOfWeek.has(p.weekday);
  return c.eitherDay ? dom || dow : dom && dow;
}

/**
 * The latest cron match in (now − windowMs, now], walking back and skipping whole non-matching
 * months, days and hours.
 */
export function latestCronStart(
  c: CronFields,
  timeZone: string,
  now: number,
  windowMs: number,
): number | undefined {
  const lower = now - windowMs;
  let t = Math.floor(now / MINUTE) * MINUTE;
  while (t > lower) {
    const p = zonedParts(t, timeZone);
    const minutesIntoHour = p.minute + 1;
    const minutesIntoDay = p.hour * 60 + minutesIntoHour;
    if (!c.month.has(p.month)) t -= ((p.day - 1) * 1440 + minutesIntoDay) * MINUTE;
    else if (!dayMatches(c, p)) t -= minutesIntoDay * MINUTE;
    else if (!c.hour.has(p.hour)) t -= minutesIntoHour * MINUTE;
    else if (!c.minute.has(p.minute)) t -= MINUTE;
    else return t;
  }
  return undefined;
}

interface CompiledFreeze {
  entry: FreezeEntry;
  selector: CompiledSelector;
  /** Start of the window containing `now`, if one does. */
  startAt(now: number): number | undefined;
}

function compileFreeze(entry: FreezeEntry): CompiledFreeze {
  const selector = compileSelector(entry.selector);
  if (entry.cron !== undefined) {
    const cron = compileCron(entry.cron);
    const duration = entry.duration ?? MINUTE;
    return { entry, selector, startAt: now => latestCronStart(cron, entry.timezone, now, duration) };
  }
  const start = parseZonedIso(entry.start ?? '', entry.timezone);
  const end = parseZonedIso(entry.end ?? '', entry.timezone);
  if (start === undefined || end === undefined)
    throw new RangeError(`freeze ${entry.id}: start/end are not ISO times`);
  return { entry, selector, startAt: now => (now >= start && now < end ? start : undefined) };
}

export function compileFreezes(entries: readonly FreezeEntry[]): FreezeCalendar {
  const freezes = entries.map(compileFreeze);
  const activeFreezes = (job: JobRef, now: number): ActiveFreeze[] => {
    const out: ActiveFreeze[] = [];
    for (const f of freezes) {
      if (!f.selector.matches(job)) continue;
      const since = f.startAt(now);
      if (since === undefined) continue;
      out.push({
        id: f.entry.id,
        allow: f.entry.allow,
        since,
        ...(f.entry.reason === undefined ? {} : { reason: f.entry.reason }),
      });
    }
    return out;
  };
  return {
    activeFreezes,
    activeFreeze: (job, now) => activeFreezes(job, now)[0],
    blockingFreeze: (job, now, origin) =>
      activeFreezes(job, now).find(f => !(origin === 'calendar' && f.allow.includes('calendar'))),
  };
}
