import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEntry } from '../../../src/domain/index.js';
import { loadScenario, startSimulator } from '../../../src/sim/index.js';

/**
 * A real `kill -9` of the daemon between Flink accepting the rescale (PUT resource-requirements)
 * and the daemon journaling it, then a restart on the same state directory. A proxy between the
 * daemon and the simulator forwards the PUT, and once Flink answered it SIGKILLs the daemon
 * process before the answer reaches it. No hook in the product: the daemon dies as it would.
 */

const dir = mkdtempSync(join(tmpdir(), 'autopilot-kill9-'));
const stateDir = join(dir, 'state');
const scenarioFile = join(dir, 'two-jobs.yaml');
const configFile = join(dir, 'autopilot.yaml');

writeFileSync(
  scenarioFile,
  `name: kill9
seed: 9
cluster: { label: k9, flinkVersion: '1.20', taskManagers: 4, slotsPerTaskManager: 8 }
jobs:
${['alpha', 'beta']
  .map(
    name => `  - name: ${name}
    vertices:
      - { name: 'Source', parallelism: 2, capacity: 20000, profile: { kind: constant, rate: 2000 } }
      - { name: 'Sink', inputs: ['Source'], parallelism: 2, capacity: 20000 }`,
  )
  .join('\n')}
`,
);

const puts: string[] = [];
let victim: ChildProcess | undefined;
let proxy: Server;
let sim: Awaited<ReturnType<typeof startSimulator>>;

beforeAll(async () => {
  sim = await startSimulator({ scenario: await loadScenario(scenarioFile) });
  const upstream = new URL(sim.url);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const up = request(
        {
          host: upstream.hostname,
          port: upstream.port,
          path: req.url,
          method: req.method,
          headers: req.headers,
        },
        upRes => {
          const body: Buffer[] = [];
          upRes.on('data', (c: Buffer) => body.push(c));
          upRes.on('end', () => {
            if (req.method === 'PUT' && req.url?.endsWith('/resource-requirements')) {
              puts.push(req.url);
              if (victim !== undefined) {
                // Flink has the new requirements; the daemon dies before it hears so.
                const dying = victim;
                victim = undefined;
                dying.once('exit', () => req.socket.destroy());
                dying.kill('SIGKILL');
                return;
              }
            }
            res.writeHead(upRes.statusCode ?? 502, upRes.headers).end(Buffer.concat(body));
          });
        },
      );
      up.on('error', () => res.writeHead(502).end());
      up.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>(r => proxy.listen(0, '127.0.0.1', r));
  const now = Date.now();
  writeFileSync(
    configFile,
    JSON.stringify({
      mode: 'auto',
      flink: {
        clusters: [{ label: 'k9', url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}` }],
      },
      state: { dir: stateDir },
      api: { port: 0 },
      agent: { interval: '1s', jitter: 0, discoveryInterval: '2s' },
      actions: { stabilization: '1s', cooldown: '1h' },
      log: { level: 'warn' },
      calendar: [
        {
          id: 'peak',
          selector: { nameRegex: 'alpha|beta' },
          start: new Date(now).toISOString(),
          end: new Date(now + 3_600_000).toISOString(),
          floor: { '*': 3 },
          lead: '0s',
        },
      ],
    }),
  );
});

afterAll(async () => {
  victim?.kill('SIGKILL');
  proxy.closeAllConnections();
  await new Promise(r => proxy.close(r));
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

function daemon(): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'run', '--config', configFile], {
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** The journal as the daemon wrote it (read from disk: a running daemon holds the store's lock). */
function journal(): JournalEntry[] {
  let text: string;
  try {
    text = readFileSync(join(stateDir, 'journal.jsonl'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter(l => l.trim() !== '')
    .flatMap(l => {
      try {
        return [JSON.parse(l) as JournalEntry];
      } catch {
        return []; // a torn last line of the killed process
      }
    });
}

async function until<T>(what: string, fn: () => T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise(r => setTimeout(r, 200));
  }
}

describe('kill -9 between the PUT and the journal write', () => {
  it('restarts without a second PUT, journals the action executed (reconciled), and a paused job stays paused', async () => {
    // beta is paused before anything runs; the pause lives in the state directory.
    const paused = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/main.ts',
        'pause',
        '--scope',
        'job',
        '--target',
        'rest:k9/beta',
        '--state-dir',
        stateDir,
        '--reason',
        'kill9 test',
      ],
      { env: { ...process.env, NODE_OPTIONS: '' }, encoding: 'utf8' },
    );
    expect(paused.status, paused.stderr).toBe(0);

    const first = daemon();
    victim = first;
    const signal = await new Promise<NodeJS.Signals | null>(r => first.on('exit', (_code, sig) => r(sig)));
    expect(signal).toBe('SIGKILL');
    expect(puts).toHaveLength(1);
    expect(puts[0]).toMatch(/^\/jobs\/[0-9a-f]{32}\/resource-requirements$/);

    // What the dead daemon left: the action journaled executing, no outcome.
    const before = journal().filter(e => e.jobKey === 'rest:k9/alpha');
    const actionId = before.find(e => e.status === 'executing')?.actionId;
    expect(actionId).toBeDefined();
    expect(before.filter(e => e.actionId === actionId).map(e => e.status)).not.toContain('executed');

    // Restart on the same state directory (the dead daemon's lock is stale).
    const second = daemon();
    let errText = '';
    second.stderr?.on('data', (d: Buffer) => (errText += d.toString()));
    try {
      const reconciled = await until('the reconciled outcome', () =>
        journal().find(e => e.actionId === actionId && e.status === 'executed'),
      ).catch((err: unknown) => {
        console.log(errText.slice(-3000), JSON.stringify(journal().map(e => [e.jobKey, e.status, e.detail])));
        throw err;
      });
      expect(reconciled.detail).toMatch(/^reconciled: target already (live|requested)$/);
      // Let a few more cycles run: nothing is written again, and beta stays paused.
      await new Promise(r => setTimeout(r, 4000));
      expect(puts).toHaveLength(1);
      // beta sits below the same floor and would have been rescaled: paused, nothing was planned
      // nor written for it by either daemon (the one PUT was alpha's).
      expect(journal().filter(e => e.jobKey === 'rest:k9/beta')).toEqual([]);
    } finally {
      second.kill('SIGTERM');
      await new Promise(r => second.on('exit', r));
    }
  }, 120_000);
});
