import type { Command } from 'commander';
import { z } from 'zod';

/**
 * `autopilot healthcheck`: GETs the daemon's `/healthz` (or `/readyz`) and exits 0 when it answers
 * 200, 1 otherwise. The container image's HEALTHCHECK runs it, so the image needs no curl or wget.
 */

const Flags = z.object({
  url: z.url({ message: '--url must be an http(s) URL' }).optional(),
  port: z.coerce.number().int().min(1).max(65_535).optional(),
  ready: z.boolean().default(false),
  timeout: z.coerce.number().int().positive().default(3000),
});

export interface HealthcheckResult {
  ok: boolean;
  line: string;
}

/** The URL probed: `--url`, else `http://127.0.0.1:<port>/healthz` with port from flag, env or 8080. */
export function healthcheckUrl(flags: z.output<typeof Flags>, env: NodeJS.ProcessEnv): string {
  if (flags.url !== undefined) return flags.url;
  const port = flags.port ?? Number(env.AUTOPILOT_API_PORT ?? 8080);
  return `http://127.0.0.1:${port}/${flags.ready ? 'readyz' : 'healthz'}`;
}

export async function healthcheck(url: string, timeoutMs: number): Promise<HealthcheckResult> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await res.body?.cancel();
    return { ok: res.status === 200, line: `${url}: HTTP ${res.status}` };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return { ok: false, line: `${url}: ${reason}` };
  }
}

export function registerHealthcheckCommand(program: Command): void {
  program
    .command('healthcheck')
    .description('Probe a running daemon: exit 0 when /healthz (or /readyz) answers 200, else 1')
    .option('--url <url>', 'full URL to probe (overrides --port and --ready)')
    .option('--port <n>', 'API port on 127.0.0.1; env: AUTOPILOT_API_PORT (default 8080)')
    .option('--ready', 'probe /readyz instead of /healthz')
    .option('--timeout <ms>', 'request timeout in milliseconds', '3000')
    .action(async (raw: unknown) => {
      const parsed = Flags.safeParse(raw);
      if (!parsed.success) {
        console.error(parsed.error.issues.map(i => i.message).join('; '));
        process.exitCode = 2;
        return;
      }
      const result = await healthcheck(healthcheckUrl(parsed.data, process.env), parsed.data.timeout);
      (result.ok ? console.log : console.error)(result.line);
      process.exitCode = result.ok ? 0 : 1;
    });
}
