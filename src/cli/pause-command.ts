import type { Command } from 'commander';
import { z } from 'zod';
import { listPauses, pause, resume, type PauseScope } from '../agents/select/policies/fleet-state.js';
import { RealClock, tryParseDuration, type Clock } from '../domain/index.js';
import { FileStore } from '../state/file-store.js';
import { StoreError } from '../state/store.js';

/**
 * `autopilot pause`, `autopilot resume` and `autopilot pauses`: the kill switch on a standalone
 * state directory. While a daemon runs on that directory it holds it; then the API is the way
 * (`POST /api/v1/pause`), and these commands say so.
 */

export interface PauseCommandDeps {
  clock?: Clock;
  out?: (text: string) => void;
  err?: (text: string) => void;
}

const DEFAULT_STATE_DIR = '.autopilot-state';

const ScopeOptions = z
  .object({
    scope: z.enum(['fleet', 'cluster', 'job']),
    target: z.string().min(1).optional(),
    stateDir: z.string().min(1),
  })
  .refine(o => (o.scope === 'fleet') === (o.target === undefined), {
    message: '--target is required for --scope cluster|job and not allowed for --scope fleet',
  });

const PauseOptions = z.object({
  reason: z.string().min(1, '--reason is required'),
  until: z.string().optional(),
  author: z.string().min(1),
});

class CliError extends Error {
  readonly code = 'CLI_USAGE';
}

function parse<T>(schema: z.ZodType<T>, raw: unknown): T {
  const r = schema.safeParse(raw);
  if (!r.success) throw new CliError(r.error.issues.map(i => i.message).join('; '));
  return r.data;
}

function toScope(o: z.output<typeof ScopeOptions>): PauseScope {
  if (o.scope === 'fleet') return { kind: 'fleet' };
  const target = o.target ?? '';
  return o.scope === 'cluster' ? { kind: 'cluster', cluster: target } : { kind: 'job', jobKey: target };
}

/** `2h` from now, or an absolute ISO time. */
export function parseUntil(text: string, now: number): number {
  const ms = tryParseDuration(text);
  if (ms !== undefined) return now + ms;
  const at = Date.parse(text);
  if (Number.isNaN(at) || at <= now)
    throw new CliError(`--until: not a duration or a future ISO time: ${text}`);
  return at;
}

async function withStore<T>(dir: string, fn: (store: FileStore) => Promise<T>): Promise<T> {
  let store: FileStore;
  try {
    store = FileStore.open(dir);
  } catch (err) {
    if (err instanceof StoreError && /in use by process/.test(err.message)) {
      throw new CliError(
        `${err.message}.\nA daemon is running on this state directory: pause through its API instead, e.g.\n` +
          `  curl -X POST -H "Authorization: Bearer $TOKEN" -d '{"scope":"fleet","reason":"…"}' http://<api>/api/v1/pause`,
      );
    }
    throw err;
  }
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function describeScope(s: PauseScope): string {
  return s.kind === 'fleet' ? 'the fleet' : s.kind === 'cluster' ? `cluster ${s.cluster}` : `job ${s.jobKey}`;
}

export function registerPauseCommands(program: Command, deps: PauseCommandDeps = {}): void {
  const clock = deps.clock ?? new RealClock();
  const out = deps.out ?? ((t: string) => void process.stdout.write(t));
  const err = deps.err ?? ((t: string) => void process.stderr.write(t));
  const guarded =
    <A extends unknown[]>(fn: (...args: A) => Promise<void>) =>
    async (...args: A): Promise<void> => {
      try {
        await fn(...args);
      } catch (e) {
        if (!(e instanceof CliError)) throw e;
        err(`${e.message}\n`);
        process.exitCode = 2;
      }
    };
  const scopeOptions = (c: Command): Command =>
    c
      .requiredOption('--scope <scope>', 'fleet | cluster | job')
      .option('--target <target>', 'cluster label (--scope cluster) or jobKey (--scope job)')
      .option('--state-dir <dir>', 'standalone state directory', DEFAULT_STATE_DIR);

  scopeOptions(program.command('pause').description('stop every action in a scope (the diagnosis goes on)'))
    .requiredOption('--reason <text>', 'why (shown on the dashboard and in the journal)')
    .option('--until <when>', 'lift by itself after a duration (2h) or at an ISO time')
    .option('--author <name>', 'who pauses', process.env.USER ?? 'cli')
    .action(
      guarded(async (raw: Record<string, unknown>) => {
        const o = parse(ScopeOptions, raw);
        const p = parse(PauseOptions, raw);
        const now = clock.now();
        const until = p.until === undefined ? undefined : parseUntil(p.until, now);
        const scope = toScope(o);
        await withStore(o.stateDir, store =>
          pause(
            store,
            scope,
            { reason: p.reason, author: p.author, ...(until === undefined ? {} : { until }) },
            now,
          ),
        );
        out(
          `paused ${describeScope(scope)}${until === undefined ? '' : ` until ${new Date(until).toISOString()}`}: ${p.reason}\n`,
        );
      }),
    );

  scopeOptions(program.command('resume').description('lift a pause')).action(
    guarded(async (raw: Record<string, unknown>) => {
      const o = parse(ScopeOptions, raw);
      const scope = toScope(o);
      const existed = await withStore(o.stateDir, store => resume(store, scope, clock.now()));
      out(existed ? `resumed ${describeScope(scope)}\n` : `${describeScope(scope)} was not paused\n`);
    }),
  );

  program
    .command('pauses')
    .description('list the pauses in force')
    .option('--state-dir <dir>', 'standalone state directory', DEFAULT_STATE_DIR)
    .option('--json', 'print JSON')
    .action(
      guarded(async (raw: Record<string, unknown>) => {
        const o = parse(z.object({ stateDir: z.string().min(1), json: z.boolean().optional() }), raw);
        const pauses = await withStore(o.stateDir, store => listPauses(store, clock.now()));
        if (o.json === true) {
          out(`${JSON.stringify(pauses.map(p => ({ key: p.key, ...p.record })))}\n`);
          return;
        }
        if (pauses.length === 0) out('no pauses in force\n');
        for (const p of pauses) {
          const until =
            p.record.until === undefined
              ? 'until resumed'
              : `until ${new Date(p.record.until).toISOString()}`;
          out(`${p.key}\t${until}\tby ${p.record.author}\t${p.record.reason}\n`);
        }
      }),
    );
}
