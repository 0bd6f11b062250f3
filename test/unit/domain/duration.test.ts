import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration, tryParseDuration } from '../../../src/domain/duration.js';

describe('durations', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h30m', 5_400_000],
    ['250ms', 250],
    ['2d', 172_800_000],
    ['1.5s', 1500],
    [1500, 1500],
    ['1500', 1500],
  ] as const)('parses %s', (input, ms) => {
    expect(parseDuration(input)).toBe(ms);
  });

  it.each(['', '5 minutes', 'm5', '5x', '-1s', '1h 30m'])('rejects %j', input => {
    expect(tryParseDuration(input)).toBeUndefined();
    expect(() => parseDuration(input)).toThrow(/not a duration/);
  });

  it('rejects negative and non-finite numbers', () => {
    expect(tryParseDuration(-1)).toBeUndefined();
    expect(tryParseDuration(Number.NaN)).toBeUndefined();
  });

  it('formats compactly', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(500)).toBe('500ms');
    expect(formatDuration(86_400_000 + 1000)).toBe('1d1s');
  });
});
