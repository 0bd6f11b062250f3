import type { CalendarWindow } from '../../../config/calendar-schema.js';
import { tryParseDuration } from '../../../domain/duration.js';
import type { JobRef, VertexSnapshot } from '../../../domain/index.js';
import { compileSelector, type CompiledSelector } from '../policies/selector.js';
import { parseZonedIso } from '../policies/zoned-time.js';

/**
 * The promotion calendar evaluated from the Clock on every tick (never from a timer alone, so a
 * daemon that was down when a window opened applies its floor on its next tick).
 *
 * A window's floor applies to a job while now ∈ [start − lead − stagger, end + release]:
 * - lead: the window's own, or `auto` = the job's measured restart time (the slowest of its
 *   last rescales, the default restart time before any) plus the provisioning margin, so the
 *   restart is over and new TaskManagers are up before the peak;
 * - stagger: a per-job offset in [0, stagger) from a hash of job and window, so the pre-scales of
 *   one cluster spread out instead of restarting every job in the same minute (the fleet rails'
 *   concurrency caps still apply on top).
 */

export interface CalendarSettings {
  /** Added to the measured restart time for `lead: auto`: TaskManager provisioning. */
  marginMs: number;
  /** Pre-scales of different jobs spread over this much time before their lead. */
  staggerMs: number;
  /** `release` when a window does not give one. */
  releaseMs: number;
}

export type WindowPhase = 'lead' | 'peak' | 'release';

export interface ActiveWindow {
  id: string;
  phase: WindowPhase;
  /** Epoch ms: when this job's floor started to apply, the peak's start and end, the release end. */
  activeFrom: number;
  start: number;
  end: number;
  until: number;
  /** Lowest parallelism per vertex id (vertices the window does not name are absent). */
  floor(
    vertices: readonly Pick<VertexSnapshot, 'id' | 'name'>[],
    baseline?: Readonly<Record<string, number>>,
  ): Record<string, number>;
  /** The window multiplies a baseline: the planner captures it once, when the window becomes active. */
  needsBaseline: boolean;
}

interface CompiledWindow {
  entry: CalendarWindow;
  selector: CompiledSelector;
  start: number;
  end: number;
  leadMs: number | undefined;
  releaseMs: number;
}

/** FNV-1a over the text: a stable per-job spread. */
function spread(text: string, range: number): number {
  if (range <= 0) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % range;
}

export class PromotionCalendar {
  private readonly windows: CompiledWindow[];

  constructor(
    entries: readonly CalendarWindow[],
    private readonly settings: CalendarSettings,
  ) {
    this.windows = entries.map(entry => {
      const start = parseZonedIso(entry.start, entry.timezone);
      const end = parseZonedIso(entry.end, entry.timezone);
      if (start === undefined || end === undefined)
        throw new RangeError(`calendar ${entry.id}: start/end are not ISO times`);
      if (end <= start)
        throw new RangeError(`calendar ${entry.id}: end ${entry.end} is not after start ${entry.start}`);
      return {
        entry,
        selector: compileSelector(entry.selector),
        start,
        end,
        leadMs: entry.lead === 'auto' ? undefined : tryParseDuration(entry.lead),
        releaseMs: entry.release ?? settings.releaseMs,
      };
    });
  }

  get size(): number {
    return this.windows.length;
  }

  /** The lead a window gives this job: its own, or the measured restart time plus the margin. */
  leadFor(w: Pick<CompiledWindow, 'leadMs'>, restartMs: number): number {
    return w.leadMs ?? restartMs + this.settings.marginMs;
  }

  /**
   * True when a window of the job released its floor within (from, now] — the peak it announced
   * is over — and none is active now.
   */
  releasedSince(job: JobRef, from: number, now: number, restartMs: number): boolean {
    if (this.active(job, now, restartMs).length > 0) return false;
    return this.windows.some(w => {
      const until = w.end + w.releaseMs;
      return w.selector.matches(job) && until > from && until <= now;
    });
  }

  /** Windows whose floor applies to the job at `now`, given its restart time. */
  active(job: JobRef, now: number, restartMs: number): ActiveWindow[] {
    const out: ActiveWindow[] = [];
    for (const w of this.windows) {
      if (!w.selector.matches(job)) continue;
      const activeFrom =
        w.start - this.leadFor(w, restartMs) - spread(`${job.jobKey}|${w.entry.id}`, this.settings.staggerMs);
      const until = w.end + w.releaseMs;
      if (now < activeFrom || now >= until) continue;
      const { floor, factor } = w.entry;
      out.push({
        id: w.entry.id,
        phase: now < w.start ? 'lead' : now < w.end ? 'peak' : 'release',
        activeFrom,
        start: w.start,
        end: w.end,
        until,
        needsBaseline: factor !== undefined,
        floor(vertices, baseline) {
          const result: Record<string, number> = {};
          for (const v of vertices) {
            const named = floor[v.id] ?? floor[v.name] ?? floor['*'];
            const base = baseline?.[v.id];
            const scaled = factor === undefined || base === undefined ? undefined : Math.ceil(base * factor);
            const p = Math.max(named ?? 0, scaled ?? 0);
            if (p > 0) result[v.id] = p;
          }
          return result;
        },
      });
    }
    return out;
  }
}
