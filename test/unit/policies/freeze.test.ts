import { describe, expect, it } from 'vitest';
import { compileFreezes } from '../../../src/agents/select/policies/freeze.js';
import { parseZonedIso, zonedParts } from '../../../src/agents/select/policies/zoned-time.js';
import { compileConfig, ConfigError } from '../../../src/config/load.js';
import type { ConfigInput } from '../../../src/config/schema.js';
import type { JobRef } from '../../../src/domain/index.js';

const job: JobRef = {
  jobKey: 'rest:eu1/orders',
  incarnation: 'a1',
  origin: 'rest',
  cluster: 'eu1',
  name: 'orders',
  flinkJobId: 'a1',
  restUrl: 'http://jm:8081',
  labels: { team: 'checkout' },
};

const calendar = (freezes: ConfigInput['freezes']) => compileFreezes(compileConfig({ freezes }).freezes);
const at = (iso: string) => Date.parse(iso);

describe('zoned time', () => {
  it('reads wall-clock parts in a zone, DST included', () => {
    expect(zonedParts(at('2026-07-01T10:00:00Z'), 'Europe/Berlin')).toMatchObject({ hour: 12, weekday: 3 });
    expect(zonedParts(at('2026-01-01T10:00:00Z'), 'Europe/Berlin')).toMatchObject({ hour: 11 });
    expect(zonedParts(at('2026-01-01T03:00:00Z'), 'America/New_York')).toMatchObject({ day: 31, hour: 22 });
  });

  it('parses offset-less ISO times in the zone and absolute ones as written', () => {
    expect(parseZonedIso('2026-11-11T00:00', 'Asia/Shanghai')).toBe(at('2026-11-10T16:00:00Z'));
    expect(parseZonedIso('2026-07-01T00:00', 'Europe/Berlin')).toBe(at('2026-06-30T22:00:00Z'));
    expect(parseZonedIso('2026-11-11T00:00Z', 'Asia/Shanghai')).toBe(at('2026-11-11T00:00:00Z'));
    expect(parseZonedIso('2026-03-29T03:30', 'Europe/Berlin')).toBe(at('2026-03-29T01:30:00Z'));
  });
});

describe('freeze windows', () => {
  it('start/end without offset are read in the freeze time zone', () => {
    const c = calendar([
      { id: 'singles-day', start: '2026-11-11T00:00', end: '2026-11-12T00:00', timezone: 'Asia/Shanghai' },
    ]);
    const rows: [string, boolean][] = [
      ['2026-11-10T15:59:59Z', false],
      ['2026-11-10T16:00:00Z', true],
      ['2026-11-11T15:59:59Z', true],
      ['2026-11-11T16:00:00Z', false],
    ];
    for (const [t, active] of rows)
      expect(c.activeFreeze(job, at(t))?.id, t).toBe(active ? 'singles-day' : undefined);
  });

  it('cron + duration: a weekend freeze from Friday 18:00 Berlin for 62 h', () => {
    const c = calendar([{ id: 'weekend', cron: '0 18 * * 5', duration: '62h', timezone: 'Europe/Berlin' }]);
    const rows: [string, boolean][] = [
      ['2026-07-03T15:59:00Z', false], // Fri 17:59 CEST
      ['2026-07-03T16:00:00Z', true], // Fri 18:00 CEST
      ['2026-07-05T12:00:00Z', true], // Sunday
      ['2026-07-06T05:59:00Z', true], // Mon 07:59
      ['2026-07-06T06:00:00Z', false], // Mon 08:00
      ['2026-01-09T17:00:00Z', true], // Fri 18:00 CET (winter: UTC+1)
      ['2026-01-09T16:30:00Z', false],
    ];
    for (const [t, active] of rows)
      expect(c.activeFreeze(job, at(t))?.id, t).toBe(active ? 'weekend' : undefined);
    expect(c.activeFreeze(job, at('2026-07-05T12:00:00Z'))?.since).toBe(at('2026-07-03T16:00:00Z'));
  });

  it('cron without duration freezes each matching minute (weekday nights in New York)', () => {
    const c = calendar([{ id: 'nights', cron: '* 0-5 * * 1-5', timezone: 'America/New_York' }]);
    expect(c.activeFreeze(job, at('2026-07-07T05:30:00Z'))?.id).toBe('nights'); // Tue 01:30 EDT
    expect(c.activeFreeze(job, at('2026-07-07T10:30:00Z'))).toBeUndefined(); // Tue 06:30 EDT
    expect(c.activeFreeze(job, at('2026-07-05T05:30:00Z'))).toBeUndefined(); // Sunday 01:30
  });

  it('day of month and day of week both restricted match either (cron semantics); L is the last day', () => {
    const either = calendar([{ id: 'x', cron: '* * 1 * 1', timezone: 'UTC' }]);
    expect(either.activeFreeze(job, at('2026-07-01T12:00:00Z'))?.id).toBe('x'); // the 1st, a Wednesday
    expect(either.activeFreeze(job, at('2026-07-06T12:00:00Z'))?.id).toBe('x'); // a Monday
    expect(either.activeFreeze(job, at('2026-07-07T12:00:00Z'))).toBeUndefined();
    const last = calendar([{ id: 'month-end', cron: '0 0 L * *', duration: '1d', timezone: 'UTC' }]);
    expect(last.activeFreeze(job, at('2026-02-28T12:00:00Z'))?.id).toBe('month-end');
    expect(last.activeFreeze(job, at('2026-02-27T12:00:00Z'))).toBeUndefined();
  });

  it('applies only to selected jobs; calendar floors pass where allowed', () => {
    const c = calendar([
      {
        id: 'pay-only',
        start: '2026-01-01T00:00Z',
        end: '2027-01-01T00:00Z',
        selector: { labels: { team: 'pay' } },
      },
      { id: 'peak', start: '2026-01-01T00:00Z', end: '2027-01-01T00:00Z', allow: ['calendar'] },
    ]);
    const now = at('2026-06-01T00:00:00Z');
    expect(c.activeFreezes(job, now).map(f => f.id)).toEqual(['peak']);
    expect(c.blockingFreeze(job, now, 'reactive')?.id).toBe('peak');
    expect(c.blockingFreeze(job, now, 'calendar')).toBeUndefined();
    expect(c.blockingFreeze({ ...job, labels: { team: 'pay' } }, now, 'calendar')?.id).toBe('pay-only');
  });

  it('config refuses bad freezes with the field named', () => {
    const bad: [ConfigInput['freezes'], string][] = [
      [[{ id: 'a', cron: '61 * * * *' }], 'freezes.0.cron'],
      [[{ id: 'b', cron: '* * * * *', timezone: 'Mars/Olympus' }], 'freezes.0.timezone'],
      [[{ id: 'c', start: '2026-01-01T00:00Z' }], 'freezes.0'],
      [[{ id: 'd' }], 'freezes.0'],
      [[{ id: 'e', start: 'tomorrow', end: '2026-01-01' }], 'freezes.0.start'],
    ];
    for (const [freezes, path] of bad) {
      try {
        compileConfig({ freezes });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).problems.join('\n')).toContain(`${path}`);
      }
    }
  });
});
