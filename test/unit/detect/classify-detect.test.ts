import { describe, expect, it } from 'vitest';
import { detect, type DetectOptions } from '../../../src/agents/detect/detect.js';
import type { ExceptionEntry, JobRef, Snapshot } from '../../../src/domain/index.js';

const MIN = 60_000;
const NOW = 1_000 * MIN;
const base: DetectOptions = {
  windows: { short: 5 * MIN, medium: 15 * MIN, long: 60 * MIN, day: 1440 * MIN },
  catchUpMs: 5 * MIN,
};
const job: JobRef = {
  jobKey: 'rest:c1/orders',
  incarnation: 'j1',
  origin: 'rest',
  cluster: 'c1',
  name: 'orders',
  flinkJobId: 'j1',
  restUrl: 'http://x',
  labels: {},
};

function snap(exceptions: ExceptionEntry[] | undefined): Snapshot {
  return {
    job,
    observedAt: NOW,
    sourceId: 'flink:c1',
    cluster: { reachable: true },
    vertices: [],
    ...(exceptions === undefined ? {} : { exceptions }),
    missing: [],
  };
}

const entry = (name: string, ageMin: number): ExceptionEntry => ({
  exceptionName: name,
  stacktrace: `${name}: x\n\tat a.B.c(B.java:1)`,
  timestamp: NOW - ageMin * MIN,
});

/** A stand-in classifier: the simple class name, lower-cased. */
const classify = (e: ExceptionEntry): string => (e.exceptionName.split('.').pop() ?? '').toLowerCase();

describe('detect: exception classes', () => {
  it('classifies the newest entry and the distinct classes of the medium and long windows', () => {
    const { facts } = detect(
      snap([
        entry('java.lang.OutOfMemoryError', 40),
        entry('a.KafkaTimeout', 2),
        entry('a.Heartbeat', 10),
        entry('a.Heartbeat', 12),
        entry('a.Old', 90),
      ]),
      undefined,
      { ...base, classify },
    );
    expect(facts.job.facts).toMatchObject({
      'job.exceptions.latestClass': 'kafkatimeout',
      'job.exceptions.classesMedium': ['heartbeat', 'kafkatimeout'],
      'job.exceptions.classesLong': ['heartbeat', 'kafkatimeout', 'outofmemoryerror'],
      'job.exceptions.countMedium': 3,
    });
  });

  it('an empty history: no latest class, empty class sets (known to be empty)', () => {
    const { facts } = detect(snap([]), undefined, { ...base, classify });
    expect(facts.job.facts['job.exceptions.latestClass']).toBeUndefined();
    expect(facts.job.facts['job.exceptions.classesMedium']).toEqual([]);
    expect(facts.job.facts['job.exceptions.classesLong']).toEqual([]);
  });

  it('absent without exceptions in the snapshot, or without a classifier', () => {
    const none = detect(snap(undefined), undefined, { ...base, classify }).facts.job.facts;
    const unclassified = detect(snap([entry('a.X', 1)]), undefined, base).facts.job.facts;
    for (const facts of [none, unclassified]) {
      expect(facts).not.toHaveProperty('job.exceptions.latestClass');
      expect(facts).not.toHaveProperty('job.exceptions.classesMedium');
      expect(facts).not.toHaveProperty('job.exceptions.classesLong');
    }
    expect(unclassified['job.exceptions.countMedium']).toBe(1);
  });
});
