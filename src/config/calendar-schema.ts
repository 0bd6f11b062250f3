import { z } from 'zod';
import { tryParseDuration } from '../domain/duration.js';
import { explicitDuration, IsoTime, Parallelism, SelectorSchema, validTimeZone } from './safety-schema.js';

/**
 * The promotion calendar (`calendar` in the config, ARCHITECTURE §3 "Autoscaler"): desired-state
 * windows `{id, selector, timezone, start, end, floor, lead, release}`. While now is within
 * [start − lead, end + release] the selected jobs keep at least the floor; the reactive planner
 * may go higher, never lower.
 */

export const CalendarWindowSchema = z
  .strictObject({
    id: z.string().min(1).describe('Name of the window (journal and reports say which window acted).'),
    selector: SelectorSchema.default({}),
    timezone: z
      .string()
      .refine(validTimeZone, 'not an IANA time zone')
      .default('UTC')
      .describe('IANA time zone of offset-less start/end.'),
    start: IsoTime.describe('When the peak starts (without offset: in `timezone`).'),
    end: IsoTime.describe('When the peak ends (without offset: in `timezone`).'),
    floor: z
      .record(z.string().min(1), Parallelism)
      .default({})
      .describe('Lowest parallelism per vertex id or name during the window; `*` = every other vertex.'),
    factor: z
      .number()
      .gt(1)
      .max(100)
      .optional()
      .describe(
        'Also at least this multiple of the parallelism each vertex had when the window became active (captured once).',
      ),
    lead: z
      .union([
        z.literal('auto'),
        z.string().refine(t => tryParseDuration(t) !== undefined, 'not a duration (use e.g. "20m") nor auto'),
      ])
      .default('auto')
      .describe(
        'How long before `start` the floor applies: auto = the job’s measured restart time + autoscaler.calendarMargin; or a duration.',
      ),
    release: explicitDuration('How long after `end` the floor still holds (default 30m).'),
  })
  .refine(w => Object.keys(w.floor).length > 0 || w.factor !== undefined, {
    message: 'give a floor (per vertex) or a factor',
  });
export type CalendarWindow = z.output<typeof CalendarWindowSchema>;

export function calendarSection() {
  return z
    .array(CalendarWindowSchema)
    .default([])
    .superRefine((windows, ctx) => {
      const seen = new Set<string>();
      windows.forEach((w, i) => {
        if (seen.has(w.id))
          ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate window ${w.id}` });
        seen.add(w.id);
      });
    })
    .describe('Promotion calendar: capacity floors for known peaks, in place before they start.');
}
