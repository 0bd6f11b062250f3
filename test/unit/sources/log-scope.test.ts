import { describe, expect, it } from 'vitest';
import { concerns } from '../../../src/agent-manager/log-feeds.js';
import { compileClassifier } from '../../../src/agents/detect/classify.js';
import { loadLogPatterns } from '../../../src/config/log-patterns.js';
import { defaultRulesDir } from '../../../src/config/rule-files.js';
import type { JobRef } from '../../../src/domain/index.js';
import { LogClassCounter } from '../../../src/sources/logs/counter.js';
import { Log4jParser } from '../../../src/sources/logs/log4j.js';

const JOB = 'fe130ba9d71c9598c1906ba0fde1a8ad';
const OTHER = '04bc308c31c37fe2bd07eaa1850118cc';
const job = { flinkJobId: JOB } as JobRef;

describe('log event attribution in a shared cluster', () => {
  it('scopes an event to the job it names, else to where it was logged', async () => {
    const patterns = (await loadLogPatterns(defaultRulesDir())).patterns;
    if (patterns === undefined) throw new Error('no patterns');
    const counter = new LogClassCounter(compileClassifier(patterns));
    const jm = new Log4jParser(counter.emitFor('jm'));
    const cp = (id: string) =>
      `2026-11-11 00:27:30,080 INFO  org.apache.flink.runtime.checkpoint.CheckpointCoordinator    [] - Checkpoint 20 of job ${id} expired before completing.\n`;
    jm.push(cp(JOB) + cp(OTHER));
    jm.push(
      '2026-11-11 00:27:31,000 INFO  org.apache.flink.runtime.resourcemanager.active.ActiveResourceManager [] - Heartbeat of TaskManager with id 10.0.0.10:1-abcdef timed out.\n',
    );
    jm.flush();
    const tm = new Log4jParser(counter.emitFor('tm:10.0.0.11:2'));
    tm.push(
      '2026-11-11 00:27:32,000 WARN  org.apache.hadoop.util.JvmPauseMonitor                       [] - Detected pause in JVM or host machine (eg GC): pause of approximately 4000ms\n',
    );
    tm.flush();
    // A task failure without a job id: the TaskManager it failed on.
    jm.push(
      '2026-11-11 00:27:33,000 INFO  org.apache.flink.runtime.executiongraph.ExecutionGraph       [] - Map (1/4) (attempt #0) switched from RUNNING to FAILED on 10.0.0.12:3-a1b2c3 @ 10.0.0.12 (dataPort=4000).\n' +
        'java.lang.OutOfMemoryError: Java heap space\n\tat java.base/java.util.Arrays.copyOf(Arrays.java:3745)\n',
    );
    jm.flush();
    expect(counter.take().map(c => `${c.class}@${c.scope}`)).toEqual([
      `checkpoint-timeout@job:${OTHER}`,
      `checkpoint-timeout@job:${JOB}`,
      'heap-oom@tm:10.0.0.12:3',
      'jvm-pause@tm:10.0.0.11:2',
      'tm-heartbeat-timeout@jm',
    ]);
  });

  it('a job counts its own events, the JobManager’s, and its TaskManagers’', () => {
    const tms = new Set(['10.0.0.11:2']);
    expect(concerns(`job:${JOB}`, job, tms)).toBe(true);
    expect(concerns(`job:${OTHER}`, job, tms)).toBe(false);
    expect(concerns('jm', job, tms)).toBe(true);
    expect(concerns('any', job, tms)).toBe(true);
    expect(concerns('tm:10.0.0.11:2', job, tms)).toBe(true);
    expect(concerns('tm:10.0.0.12:3', job, tms)).toBe(false);
    // Not running (no subtasks placed): every TaskManager's events count.
    expect(concerns('tm:10.0.0.12:3', job, new Set())).toBe(true);
  });
});
