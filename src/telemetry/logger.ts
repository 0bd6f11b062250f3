import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger } from 'pino';

/** Keys whose values never reach a log line, wherever they appear. */
export const REDACTED_KEYS = [
  'token',
  'tokens',
  'authorization',
  'password',
  'secret',
  'signingKey',
  'webhookUrl',
  'url',
] as const;

const registeredSecrets = new Set<string>();

/**
 * Registers a secret value (a token, a webhook URL): it is replaced in every log line even when
 * it hides inside a message or an error text. Redaction by key alone misses those.
 */
export function registerSecret(value: string | undefined): void {
  if (value !== undefined && value.length >= 6) registeredSecrets.add(value);
}

export function redactSecrets(text: string): string {
  let out = text;
  for (const s of registeredSecrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
  return out;
}

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

/**
 * pino JSON logs: static messages with structured fields. Secrets are redacted by key (any
 * depth up to two levels) and by registered value.
 */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const paths = REDACTED_KEYS.flatMap(k => [k, `*.${k}`, `*.*.${k}`]);
  return pino(
    {
      level: opts.level ?? 'info',
      base: { service: 'flink-autopilot', ...opts.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths, censor: '[redacted]' },
      hooks: {
        streamWrite: line => (registeredSecrets.size === 0 ? line : redactSecrets(line)),
      },
    },
    opts.destination ?? pino.destination({ dest: 1, sync: false }),
  );
}
