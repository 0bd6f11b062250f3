import { describe, expect, it } from 'vitest';
import { logFacts } from '../../../src/agents/detect/logs.js';
import {
  factDefinition,
  logClassOfFact,
  type LogHistory,
  type LogSignal,
} from '../../../src/domain/index.js';

const windows = { short: 300_000, medium: 900_000, long: 3_600_000, day: 86_400_000 };
const t0 = Date.UTC(2026, 10, 11);
const signal = (counts: [string, number, number][]): LogSignal => ({
  bytes: 100,
  skippedBytes: 0,
  counts: counts.map(([cls, count, at]) => ({
    class: cls,
    count,
    firstSeen: at,
    lastSeen: at,
    sample: `WARN x - ${cls}`,
  })),
});
const classes = ['ask-timeout', 'jvm-pause'];

describe('log facts', () => {
  it('are absent when the logs were not read, zero for unseen classes when they were', () => {
    const none = logFacts(undefined, undefined, { windows, now: t0, classes });
    expect(none.facts).toEqual({});
    expect(none.history).toBeUndefined();
    const read = logFacts(signal([]), undefined, { windows, now: t0, classes });
    expect(read.facts).toEqual({
      'job.logs.collectedFor': 0,
      'job.logs.ask-timeout.countShort': 0,
      'job.logs.ask-timeout.countMedium': 0,
      'job.logs.ask-timeout.countLong': 0,
      'job.logs.jvm-pause.countShort': 0,
      'job.logs.jvm-pause.countMedium': 0,
      'job.logs.jvm-pause.countLong': 0,
    });
  });

  it('counts per window from the stored history, with first/last seen and the sample', () => {
    let h = logFacts(signal([['ask-timeout', 2, t0 - 1000]]), undefined, {
      windows,
      now: t0,
      classes,
    }).history;
    // 10 minutes later: out of the short window, still in medium and long.
    const later = t0 + 600_000;
    const r = logFacts(signal([['ask-timeout', 3, later - 500]]), h, { windows, now: later, classes });
    expect(r.facts['job.logs.ask-timeout.countShort']).toBe(3);
    expect(r.facts['job.logs.ask-timeout.countMedium']).toBe(5);
    expect(r.facts['job.logs.ask-timeout.countLong']).toBe(5);
    expect(r.facts['job.logs.ask-timeout.lastSeenAgo']).toBe(0.5);
    expect(r.facts['job.logs.ask-timeout.firstSeenAgo']).toBe(601);
    expect(r.facts['job.logs.ask-timeout.sample']).toBe('WARN x - ask-timeout');
    expect(r.facts['job.logs.collectedFor']).toBe(600);
    // A cycle without logs: facts absent, history kept (the windows survive), collectedFor restarts.
    h = r.history!;
    const gap = logFacts(undefined, h, { windows, now: later + 10_000, classes });
    expect(gap.facts).toEqual({});
    expect(gap.history?.buckets).toHaveLength(2);
    const back = logFacts(signal([]), JSON.parse(JSON.stringify(gap.history)) as LogHistory, {
      windows,
      now: later + 20_000,
      classes,
    });
    expect(back.facts['job.logs.ask-timeout.countMedium']).toBe(5);
    expect(back.facts['job.logs.collectedFor']).toBe(0);
    // After the long window everything has aged out.
    const old = logFacts(signal([]), back.history, { windows, now: later + 2 * 3_600_000, classes });
    expect(old.facts['job.logs.ask-timeout.countLong']).toBe(0);
    expect(old.facts['job.logs.ask-timeout.lastSeenAgo']).toBeUndefined();
    expect(old.history?.buckets).toEqual([]);
  });

  it('keeps at most maxBuckets buckets', () => {
    let h;
    for (let i = 0; i < 50; i++)
      h = logFacts(signal([['jvm-pause', 1, t0 + i * 1000]]), h, {
        windows,
        now: t0 + i * 1000,
        classes,
        maxBuckets: 10,
      }).history;
    expect(h?.buckets).toHaveLength(10);
  });

  it('are in the dictionary as templates per class', () => {
    expect(factDefinition('job.logs.ask-timeout.countShort')).toMatchObject({
      scope: 'job',
      type: 'number',
      window: 'short',
    });
    expect(factDefinition('job.logs.ask-timeout.sample')?.type).toBe('string');
    expect(factDefinition('job.logs.Ask_Timeout.countShort')).toBeUndefined();
    expect(factDefinition('job.logs.ask-timeout.countDay')).toBeUndefined();
    expect(logClassOfFact('job.logs.container-killed.countLong')).toBe('container-killed');
  });
});
