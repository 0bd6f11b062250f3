import { appendFile, mkdtemp, open, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compileClassifier } from '../../../src/agents/detect/classify.js';
import { loadLogPatterns } from '../../../src/config/log-patterns.js';
import { defaultRulesDir } from '../../../src/config/rule-files.js';
import { FileLogSource, maskLine } from '../../../src/sources/logs/file-source.js';
import { FileTail, matchesGlob } from '../../../src/sources/logs/file-tail.js';
import { classifiableText, Log4jParser, type LogEvent } from '../../../src/sources/logs/log4j.js';
import { registerSecret } from '../../../src/telemetry/logger.js';

/** Log files on a real disk: Flink's log4j layout, rotation, truncation, a 200 MB file. */

const line = (t: string, level: string, logger: string, msg: string): string =>
  `2026-11-11 00:${t},123 ${level.padEnd(5)} ${logger.padEnd(60)} [] - ${msg}\n`;
const HEARTBEAT = (t: string): string =>
  line(
    t,
    'INFO',
    'org.apache.flink.runtime.jobmaster.JobMaster',
    'Heartbeat of TaskManager with id tm-1 timed out.',
  );
const OOM_TRACE = [
  line(
    '00:05',
    'WARN',
    'org.apache.flink.runtime.taskmanager.Task',
    'Window (1/4) switched from RUNNING to FAILED.',
  ),
  'java.lang.RuntimeException: Could not forward element to next operator\n',
  '\tat org.apache.flink.streaming.runtime.tasks.ChainingOutput.pushToOperator(ChainingOutput.java:92)\n',
  'Caused by: java.lang.OutOfMemoryError: Java heap space\n',
  '\tat java.util.Arrays.copyOf(Arrays.java:3512)\n',
  '\t... 12 more\n',
].join('');

let classifier: ReturnType<typeof compileClassifier>;
let dir: string;
beforeEach(async () => {
  const patterns = (await loadLogPatterns(defaultRulesDir())).patterns;
  if (patterns === undefined) throw new Error('rules/log-patterns.json did not load');
  classifier = compileClassifier(patterns);
  dir = await mkdtemp(join(tmpdir(), 'autopilot-logs-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('log4j parsing', () => {
  it('groups a stack trace into one event and classifies it root cause first', () => {
    const events: LogEvent[] = [];
    const p = new Log4jParser(e => events.push(e));
    // Split mid-line and mid-trace: chunks never align with lines.
    const text = OOM_TRACE + line('00:06', 'INFO', 'x.Y', 'next');
    p.push(text.slice(0, 37));
    p.push(text.slice(37, 300));
    p.push(text.slice(300));
    p.flush();
    expect(events.map(e => [e.level, e.logger, e.trace.length])).toEqual([
      ['WARN', 'org.apache.flink.runtime.taskmanager.Task', 5],
      ['INFO', 'x.Y', 0],
    ]);
    expect(events[0]?.at).toBe(Date.UTC(2026, 10, 11, 0, 0, 5, 123));
    expect(classifier.classify({ stacktrace: classifiableText(events[0] as LogEvent) })).toBe('heap-oom');
  });

  it('classifies a plain WARN line by its message (no trace)', () => {
    const events: LogEvent[] = [];
    const p = new Log4jParser(e => events.push(e));
    p.push(HEARTBEAT('00:01').replace('INFO ', 'WARN '));
    p.flush();
    expect(classifier.classify({ stacktrace: classifiableText(events[0] as LogEvent) })).toBe(
      'tm-heartbeat-timeout',
    );
  });

  it('bounds an event: lines beyond maxLines and characters beyond maxLineLength are dropped', () => {
    const events: LogEvent[] = [];
    const p = new Log4jParser(e => events.push(e), { maxLines: 3, maxLineLength: 120, utcOffsetMinutes: 0 });
    p.push(line('00:01', 'ERROR', 'a.B', 'boom') + '\tat x\n'.repeat(10) + 'y'.repeat(10_000));
    p.flush();
    expect(events[0]?.trace).toHaveLength(3);
    expect(p.stats.droppedLines).toBe(8);
  });
});

describe('following files', () => {
  it('reads only what is new, across rename rotation and truncation', async () => {
    const path = join(dir, 'flink-taskexecutor-0.log');
    await writeFile(path, 'history before start-up\n');
    const tail = new FileTail(path);
    expect((await tail.read()).bytes).toBe(0); // starts at the end of an existing file
    await appendFile(path, 'a\n');
    expect((await tail.read()).chunks.map(c => c.text).join('')).toBe('a\n');
    await appendFile(path, 'b\n');
    await rename(path, `${path}.1`); // log4j rolling: the old file is renamed …
    await writeFile(path, 'c\n'); // … and a new one started
    const rotated = await tail.read();
    expect(rotated.rotated).toBe(true);
    expect(rotated.chunks.map(c => c.text).join('')).toBe('b\nc\n');
    await appendFile(path, 'more lines\n');
    await tail.read();
    await truncate(path, 0); // copytruncate rotation
    await appendFile(path, 'd\n');
    const truncated = await tail.read();
    expect(truncated.truncated).toBe(true);
    expect(truncated.chunks.map(c => c.text).join('')).toBe('d\n');
    await tail.close();
  });

  it('a 200 MB log: at most the byte budget per cycle, the backlog skipped and counted, bounded memory', async () => {
    const path = join(dir, 'big.log');
    const block = (HEARTBEAT('00:01') + OOM_TRACE).repeat(2000);
    const f = await open(path, 'w');
    let size = 0;
    while (size < 200 * 1024 * 1024) size += (await f.write(block)).bytesWritten;
    await f.close();
    const budget = 1 << 20;
    const source = new FileLogSource({
      dir,
      glob: '*.log',
      classifier,
      maxBytesPerCycle: budget,
      tail: { maxBacklogBytes: 8 << 20 },
    });
    // A source that started before the file existed reads it from the start: the worst case.
    await rm(path);
    await source.collect();
    await writeFile(path, '');
    await source.collect();
    const big = await open(path, 'w');
    let written = 0;
    while (written < 200 * 1024 * 1024) written += (await big.write(block)).bytesWritten;
    await big.close();
    const heapBefore = process.memoryUsage().heapUsed;
    const first = await source.collect();
    expect(first.bytes).toBeLessThanOrEqual(budget);
    expect(first.skippedBytes).toBeGreaterThan(190 * 1024 * 1024);
    expect(first.bytes + first.skippedBytes).toBe(written);
    expect(first.counts.map(c => c.class)).toEqual(['heap-oom', 'tm-heartbeat-timeout']);
    const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
    console.info(
      `200 MB log: read ${first.bytes} B, skipped ${first.skippedBytes} B, ${first.events} events, heap +${Math.round(heapGrowth / 1024)} KiB`,
    );
    expect(heapGrowth).toBeLessThan(64 * 1024 * 1024);
    // Nothing new: nothing read.
    expect((await source.collect()).bytes).toBe(0);
    await source.close();
  });

  it('a binary file never stalls nor pollutes: its chunks are dropped and counted', async () => {
    const source = new FileLogSource({ dir, glob: '*.log', classifier, minLevel: 'INFO' });
    await source.collect();
    await writeFile(
      join(dir, 'core.log'),
      Buffer.concat([Buffer.from([0, 1, 2, 0, 255]), Buffer.alloc(100_000)]),
    );
    await writeFile(join(dir, 'jm.log'), HEARTBEAT('00:01') + HEARTBEAT('00:02'));
    const r = await source.collect();
    expect(r.binaryChunks).toBeGreaterThan(0);
    expect(r.counts).toEqual([
      {
        class: 'tm-heartbeat-timeout',
        scope: 'any',
        count: 2,
        firstSeen: Date.UTC(2026, 10, 11, 0, 0, 1, 123),
        lastSeen: Date.UTC(2026, 10, 11, 0, 0, 2, 123),
        sample: expect.stringContaining('Heartbeat of TaskManager with id tm-1 timed out.') as unknown,
      },
    ]);
    await source.close();
  });
});

describe('samples', () => {
  it('mask registered secrets and password/token assignments', () => {
    registerSecret('s3cr3t-broker-pass');
    expect(
      maskLine(
        'login failed for sasl.jaas.config="org... password=\'x\'" using s3cr3t-broker-pass token=abc',
      ),
    ).toBe('login failed for sasl.jaas.config=[masked] using [redacted] token=[masked]');
    expect(maskLine('ssl.keystore.password: hunter2, retrying')).toBe(
      'ssl.keystore.password: [masked] retrying',
    );
  });

  it('globs match file names only', () => {
    expect(matchesGlob('flink-x-taskexecutor-0-host.log', 'flink-*-taskexecutor-*.log')).toBe(true);
    expect(matchesGlob('flink-x-taskexecutor-0-host.log.1', '*.log')).toBe(false);
    expect(matchesGlob('a.log', '?.log')).toBe(true);
  });
});
