import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * Drives scripts/flink-local from tests: a real Flink session cluster per run directory, under
 * one parent directory so that a global teardown can stop whatever a crashed test left behind.
 */

const run = promisify(execFile);
export const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'flink-local');
const CACHE = process.env.FLINK_AUTOPILOT_CACHE ?? join(homedir(), '.cache', 'flink-autopilot');
/** Every e2e run directory lives here (one per version and process). */
export const E2E_RUNS = join(CACHE, 'e2e-runs');

export class LocalFlink {
  readonly runDir: string;

  constructor(readonly version: string) {
    mkdirSync(E2E_RUNS, { recursive: true });
    this.runDir = join(E2E_RUNS, `flink-${version}-${process.pid}`);
  }

  private async cmd(...args: string[]): Promise<string> {
    const { stdout } = await run(SCRIPT, ['--version', this.version, '--run-dir', this.runDir, ...args], {
      maxBuffer: 16 * 1024 * 1024,
      timeout: 15 * 60_000,
    });
    return stdout.trim();
  }

  /** Starts the cluster (downloading and unpacking Flink once per cache); returns the REST URL. */
  async start(taskManagers = 2): Promise<string> {
    LIVE.add(this);
    const out = await this.cmd('start', '--taskmanagers', String(taskManagers));
    return out.split('\n').at(-1) ?? '';
  }

  /** Submits a canned job; returns its id. */
  async submit(mode: 'healthy' | 'cpu' | 'closed-port'): Promise<string> {
    return (await this.cmd('submit', mode)).split('\n').at(-1) ?? '';
  }

  /** kill -9 of one TaskManager (by resource id, else the last started); returns its pid. */
  async killTaskManager(resourceId?: string): Promise<number> {
    const args = resourceId === undefined ? ['kill-tm'] : ['kill-tm', resourceId];
    return Number((await this.cmd(...args)).split('\n').at(-1));
  }

  async stop(): Promise<void> {
    await this.cmd('stop');
    LIVE.delete(this);
  }

  /** Synchronous stop, for process exit and signals. */
  stopSync(): void {
    stopRunDir(this.version, this.runDir);
    LIVE.delete(this);
  }

  /** Pids of this run's processes that are still alive. */
  alivePids(): number[] {
    return alivePidsOf(this.runDir);
  }
}

/** Pids of live processes whose command line names `runDir` (JobManager and TaskManagers). */
export function alivePidsOf(runDir: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmdline.includes(`${runDir}/conf`)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function stopRunDir(version: string, runDir: string): void {
  if (!existsSync(runDir)) return;
  try {
    execFileSync(SCRIPT, ['--version', version, '--run-dir', runDir, 'stop'], {
      stdio: 'ignore',
      timeout: 30_000,
    });
  } catch {
    // fall through to the kill below
  }
  for (const pid of alivePidsOf(runDir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Stops every e2e run directory (global teardown: also what a crashed worker left). */
export function stopAllRuns(): void {
  if (!existsSync(E2E_RUNS)) return;
  for (const d of readdirSync(E2E_RUNS)) {
    const version = /^flink-(\d+\.\d+\.\d+)-/.exec(d)?.[1];
    if (version !== undefined) stopRunDir(version, join(E2E_RUNS, d));
  }
}

const LIVE = new Set<LocalFlink>();
let hooked = false;

/** Stops every cluster of this process when it exits or is interrupted, even after a failed test. */
export function stopClustersOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', () => {
    for (const f of [...LIVE]) f.stopSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.once(signal, () => {
      for (const f of [...LIVE]) f.stopSync();
      process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
    });
}
