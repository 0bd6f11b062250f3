import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { activePause } from '../../../src/agents/select/policies/fleet-state.js';
import { registerPauseCommands } from '../../../src/cli/pause-command.js';
import { VirtualClock } from '../../../src/domain/index.js';
import { FileStore } from '../../../src/state/file-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  process.exitCode = undefined;
});

function cli(clock = new VirtualClock()) {
  const out: string[] = [];
  const err: string[] = [];
  const run = async (...args: string[]): Promise<void> => {
    const program = new Command('autopilot').exitOverride();
    registerPauseCommands(program, { clock, out: t => out.push(t), err: t => err.push(t) });
    await program.parseAsync(args, { from: 'user' });
  };
  return { run, out, err, clock };
}

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'autopilot-pause-'));
  dirs.push(d);
  return d;
}

describe('autopilot pause / resume / pauses', () => {
  it('pauses a cluster until a time, lists it, resumes it — in the file store', async () => {
    const dir = tempDir();
    const c = cli();
    await c.run(
      'pause',
      '--scope',
      'cluster',
      '--target',
      'eu1',
      '--reason',
      'upgrade',
      '--until',
      '2h',
      '--author',
      'ana',
      '--state-dir',
      dir,
    );
    expect(c.out.join('')).toContain('paused cluster eu1 until');
    const store = FileStore.open(dir);
    const p = await activePause(store, { cluster: 'eu1', jobKey: 'rest:eu1/x' }, c.clock.now());
    expect(p?.record).toMatchObject({ reason: 'upgrade', author: 'ana', until: c.clock.now() + 7_200_000 });
    await store.close();

    await c.run('pauses', '--state-dir', dir, '--json');
    expect(JSON.parse(c.out.at(-1) ?? '')).toEqual([
      expect.objectContaining({ key: 'cluster:eu1', reason: 'upgrade' }),
    ]);
    await c.run('resume', '--scope', 'cluster', '--target', 'eu1', '--state-dir', dir);
    expect(c.out.at(-1)).toBe('resumed cluster eu1\n');
    await c.run('pauses', '--state-dir', dir);
    expect(c.out.at(-1)).toBe('no pauses in force\n');
  });

  it('refuses a target on a fleet pause and a missing target on a job pause', async () => {
    const dir = tempDir();
    const c = cli();
    await c.run('pause', '--scope', 'fleet', '--target', 'x', '--reason', 'r', '--state-dir', dir);
    expect(c.err.join('')).toContain('--target is required for --scope cluster|job');
    expect(process.exitCode).toBe(2);
  });

  it('says to use the API while a daemon holds the state directory', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'daemon.lock'), String(process.ppid));
    const c = cli();
    await c.run('pause', '--scope', 'fleet', '--reason', 'incident', '--state-dir', dir);
    expect(c.err.join('')).toMatch(/in use by process .*pause through its API instead/s);
    expect(process.exitCode).toBe(2);
  });
});
