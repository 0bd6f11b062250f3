import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { compileClassifier, type ExceptionClassifier } from '../../../src/agents/detect/classify.js';
import { loadLogPatterns } from '../../../src/config/log-patterns.js';
import { defaultRulesDir } from '../../../src/config/rule-files.js';
import { VirtualClock } from '../../../src/domain/index.js';
import { parseScenario, startSimulator, type Simulator } from '../../../src/sim/index.js';
import { FlinkRestClient } from '../../../src/sources/flink-rest/client.js';
import { RestLogSource, type RestLogCollection } from '../../../src/sources/logs/rest-source.js';

/**
 * The Flink REST log source against the simulator over real HTTP: the JobManager's and the
 * TaskManagers' log files grow with the (virtual) clock and rotate; the source must read only
 * what is new, stay within its byte budget, finish rotated files and skip what it cannot reach.
 */

const scenario = (maxFileBytes: number) =>
  parseScenario(`
name: logs
seed: 7
cluster: { label: logs, taskManagers: 3, slotsPerTaskManager: 2, logMaxFileBytes: ${maxFileBytes}, logKeepRotated: 3 }
jobs:
  - name: orders
    vertices:
      - { name: 'Source: Kafka orders', parallelism: 2, capacity: 20000, profile: { kind: constant, rate: 1000 } }
      - { name: 'Sink: Kafka out', inputs: ['Source: Kafka orders'], parallelism: 2, capacity: 20000 }
faults:
  - { kind: connector-unreachable, job: orders, vertex: 'Source: Kafka orders', from: 0s }
  - { kind: gc-pressure, from: 0s }
`);

let classifier: ExceptionClassifier;
let sim: Simulator | undefined;
beforeAll(async () => {
  const patterns = (await loadLogPatterns(defaultRulesDir())).patterns;
  if (patterns === undefined) throw new Error('rules/log-patterns.json did not load');
  classifier = compileClassifier(patterns);
});
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function setup(maxFileBytes: number) {
  const clock = new VirtualClock(Date.parse('2026-11-11T00:00:00Z'));
  sim = await startSimulator({ scenario: scenario(maxFileBytes), clock });
  const client = new FlinkRestClient({ baseUrl: sim.url, sleep: () => Promise.resolve() });
  await clock.advance(5_000);
  return { clock, client, url: sim.url };
}

/** Every listed log file of the cluster (JobManager and TaskManagers) with its size, by key. */
async function sizes(client: FlinkRestClient): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const tms = (await client.taskManagers()).taskmanagers.map(t => t.id);
  for (const tm of [undefined, ...tms])
    for (const f of (await client.logList(tm)).logs) out.set(`${tm ?? 'jm'}/${f.name}`, f.size);
  return out;
}
const total = (m: Map<string, number>, match: (k: string) => boolean = () => true): number =>
  [...m].filter(([k]) => match(k)).reduce((a, [, v]) => a + v, 0);
const current = (k: string): boolean => k.endsWith('.log');

describe('Flink REST log source against the simulator over HTTP', () => {
  it('reads only the bytes written since the last collect, each once', async () => {
    const { clock, client, url } = await setup(1024 * 1024);
    const source = new RestLogSource({ client, classifier, bytesPerCycle: 256 * 1024 });
    const first = await source.collect();
    // History from before the source started is not news.
    expect(first.bytes).toBe(0);
    expect(first.files).toBe(4);
    const before = await sizes(client);
    const jmBefore = await (await fetch(`${url}/jobmanager/log`)).text();
    await clock.advance(120_000);
    const after = await sizes(client);
    const c = await source.collect();
    const grown = total(after, current) - total(before, current);
    console.info(
      `REST logs, 120 s: ${c.bytes} new bytes kept in ${c.reads} reads, ${c.streamedBytes} old bytes streamed past (never held), largest read ${c.largestRead} B, ${c.events} events`,
    );
    expect(grown).toBeGreaterThan(0);
    expect(c.bytes).toBe(grown);
    expect(c.skippedBytes).toBe(0);
    // To reach the offsets Flink sends each grown file whole: exactly the old bytes were streamed past.
    const grownKeys = [...after].filter(([k, v]) => current(k) && v > (before.get(k) ?? 0)).map(([k]) => k);
    expect(c.streamedBytes).toBe(grownKeys.reduce((a, k) => a + (before.get(k) ?? 0), 0));
    // The events parsed are the new log lines of every file, not one more.
    const jmAfter = await (await fetch(`${url}/jobmanager/log`)).text();
    expect(jmAfter.startsWith(jmBefore)).toBe(true);
    const kafka = c.counts.find(x => x.class === 'kafka-broker-unreachable');
    const pauses = c.counts.find(x => x.class === 'jvm-pause');
    expect(kafka?.count).toBeGreaterThanOrEqual(30);
    expect(pauses?.count).toBeGreaterThanOrEqual(10);
    expect(kafka?.sample).toContain('could not be established');
    // Nothing new: nothing read (the list says no file grew), no file requested.
    const idle = await source.collect();
    expect(idle.bytes).toBe(0);
    expect(idle.reads).toBe(0);
  });

  it('keeps at most bytesPerCycle per collect and skips (counts) a backlog beyond maxBacklogBytes', async () => {
    const { clock, client } = await setup(8 * 1024 * 1024);
    const budget = 8 * 1024;
    const source = new RestLogSource({
      client,
      classifier,
      bytesPerCycle: budget,
      maxBacklogBytes: 16 * 1024,
    });
    await source.collect();
    const before = await sizes(client);
    await clock.advance(600_000);
    const after = await sizes(client);
    const grown = total(after, current) - total(before, current);
    const cycles: RestLogCollection[] = [];
    for (let i = 0; i < 40; i++) {
      const c = await source.collect();
      cycles.push(c);
      if (c.bytes === 0) break;
    }
    const kept = cycles.reduce((a, c) => a + c.bytes, 0);
    const skipped = cycles.reduce((a, c) => a + c.skippedBytes, 0);
    console.info(
      `REST logs, budget ${budget} B/cycle, ${grown} B backlog: ${cycles.map(c => c.bytes).join(', ')} B kept per cycle, ${skipped} B skipped, largest read ${Math.max(...cycles.map(c => c.largestRead))} B`,
    );
    expect(grown).toBeGreaterThan(4 * 16 * 1024);
    for (const c of cycles) {
      expect(c.bytes).toBeLessThanOrEqual(budget);
      expect(c.largestRead).toBeLessThanOrEqual(budget);
    }
    expect(skipped).toBeGreaterThan(0);
    // Every new byte was either read once or skipped and counted.
    expect(kept + skipped).toBe(grown);
  });

  it('finishes a rotated file from <name>.1 and follows the new one from its start', async () => {
    const { clock, client } = await setup(16 * 1024);
    const source = new RestLogSource({ client, classifier, bytesPerCycle: 1024 * 1024 });
    await source.collect();
    const before = await sizes(client);
    let kept = 0;
    let skipped = 0;
    let rotations = 0;
    for (let i = 0; i < 20; i++) {
      await clock.advance(30_000);
      const c = await source.collect();
      kept += c.bytes;
      skipped += c.skippedBytes;
      rotations += c.rotations;
    }
    const after = await sizes(client);
    // Rotated files are kept (logKeepRotated 3), so all that was written is still listed.
    const written = total(after) - total(before);
    console.info(
      `REST logs across ${rotations} rotations: ${kept} B read of ${written} B written, ${skipped} B skipped`,
    );
    expect(rotations).toBeGreaterThanOrEqual(2);
    expect([...after.keys()].some(k => k.endsWith('.log.1'))).toBe(true);
    expect(skipped).toBe(0);
    expect(kept).toBe(written);
  });

  it('does not read a file whose new bytes lie beyond maxResponseBytes, and stops a read once it has its bytes', async () => {
    const { clock, client } = await setup(8 * 1024 * 1024);
    await clock.advance(1_800_000);
    const list = await sizes(client);
    const [bigKey, bigSize] = [...list].filter(([k]) => current(k)).sort((a, b) => b[1] - a[1])[0] ?? ['', 0];
    expect(bigSize).toBeGreaterThan(64 * 1024);
    const cap = 16 * 1024;
    const source = new RestLogSource({ client, classifier, maxResponseBytes: cap });
    await source.collect();
    await clock.advance(60_000);
    const c = await source.collect();
    console.info(
      `REST logs with a ${cap} B response cap: ${c.oversizeFiles} files too large to reach, ${c.skippedBytes} B skipped, ${c.streamedBytes} B streamed`,
    );
    expect(c.oversizeFiles).toBeGreaterThanOrEqual(1);
    expect(c.skippedBytes).toBeGreaterThan(0);
    expect(c.streamedBytes).toBeLessThanOrEqual(cap);
    // A read of the first 100 bytes of the largest file is stopped long before its end.
    const [tm, name] = bigKey.split('/') as [string, string];
    const res = await client.readSlice(client.logPath(name, tm === 'jm' ? undefined : tm), {
      skip: 0,
      take: 100,
      max: 64 * 1024 * 1024,
    });
    expect(res.sliced.kept).toBe(100);
    expect(res.sliced.ended).toBe(false);
    expect(res.sliced.received).toBeLessThan(bigSize);
    expect(res.text).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} (INFO|WARN|ERROR) /);
  });

  it('a log read that hangs is skipped and counted, never stalls the collect; an unreadable TaskManager is counted', async () => {
    const { clock, url } = await setup(1024 * 1024);
    const slow = new FlinkRestClient({ baseUrl: url, timeoutMs: 300, retries: 0 });
    const source = new RestLogSource({ client: slow, classifier });
    await source.collect();
    await clock.advance(60_000);
    const hang = await fetch(`${url}/__sim/wire-faults`, {
      method: 'POST',
      body: JSON.stringify({ route: '/jobmanager/logs/:filename', mode: 'hang', times: 1 }),
    });
    expect(hang.status).toBe(200);
    const c = await source.collect();
    expect(c.oversizeFiles).toBe(1);
    expect(c.skippedBytes).toBeGreaterThan(0);
    // The TaskManagers' files were read all the same.
    expect(c.bytes).toBeGreaterThan(0);
    // The JobManager's next bytes are read again normally.
    await clock.advance(60_000);
    const next = await source.collect();
    expect(next.oversizeFiles).toBe(0);
    expect(next.reads).toBeGreaterThan(0);
  });
});
