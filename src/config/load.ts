import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import {
  ConfigSchema,
  type Compiled,
  type Config,
  type DurationSetting,
  type ParsedConfig,
} from './schema.js';

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(`invalid configuration (${source}):\n${problems.map(p => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function isDurationSetting(v: unknown): v is DurationSetting {
  return typeof v === 'object' && v !== null && 'ms' in v && 'explicit' in v && Object.keys(v).length === 2;
}

function resolveDurations<T>(value: T, scale: number): Compiled<T> {
  if (isDurationSetting(value)) return (value.explicit ? value.ms : value.ms * scale) as Compiled<T>;
  if (Array.isArray(value)) return value.map(v => resolveDurations(v as unknown, scale)) as Compiled<T>;
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = resolveDurations(v as unknown, scale);
    return out as Compiled<T>;
  }
  return value as Compiled<T>;
}

function formatIssues(error: z.ZodError): string[] {
  return error.issues.map(issue => {
    const path = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
    return `${path}: ${issue.message}`;
  });
}

/** Deep-merges plain objects; arrays and scalars from `over` replace those in `base`. */
export function mergeConfig(
  base: Record<string, unknown>,
  over: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] =
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      typeof b === 'object' &&
      b !== null &&
      !Array.isArray(b)
        ? mergeConfig(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** Validates raw config and resolves durations; throws ConfigError naming every bad field. */
export function compileConfig(raw: unknown, source = 'config'): Config {
  const parsed = ConfigSchema.safeParse(raw ?? {});
  if (!parsed.success) throw new ConfigError(source, formatIssues(parsed.error));
  const cfg: ParsedConfig = parsed.data;
  return resolveDurations(cfg, cfg.time.scale);
}

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(path, [`cannot read file: ${(err as Error).message}`]);
  }
  let data: unknown;
  try {
    data = path.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(path, [
      `not valid ${path.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`,
    ]);
  }
  if (data === null || data === undefined) return {};
  if (typeof data !== 'object' || Array.isArray(data))
    throw new ConfigError(path, ['(root): expected a mapping']);
  return data as Record<string, unknown>;
}

/**
 * The flags and environment variables of `autopilot run`, as a partial config. Each flag has an
 * AUTOPILOT_* environment variable; flags win over the environment, which wins over the file.
 */
export interface ConfigOverrides {
  flinkUrl?: string;
  mode?: string;
  interval?: string;
  apiPort?: string | number;
  apiHost?: string;
  redisUrl?: string;
  prometheusUrl?: string;
  nodeExporterUrl?: string;
  cooldown?: string;
  stabilization?: string;
  timeScale?: string | number;
  stateDir?: string;
  logLevel?: string;
}

export const ENV_VARS: Readonly<Record<keyof ConfigOverrides, string>> = {
  flinkUrl: 'AUTOPILOT_FLINK_URL',
  mode: 'AUTOPILOT_MODE',
  interval: 'AUTOPILOT_INTERVAL',
  apiPort: 'AUTOPILOT_API_PORT',
  apiHost: 'AUTOPILOT_API_HOST',
  redisUrl: 'AUTOPILOT_REDIS_URL',
  prometheusUrl: 'AUTOPILOT_PROMETHEUS_URL',
  nodeExporterUrl: 'AUTOPILOT_NODE_EXPORTER_URL',
  cooldown: 'AUTOPILOT_COOLDOWN',
  stabilization: 'AUTOPILOT_STABILIZATION',
  timeScale: 'AUTOPILOT_TIME_SCALE',
  stateDir: 'AUTOPILOT_STATE_DIR',
  logLevel: 'AUTOPILOT_LOG_LEVEL',
};

export function overridesFromEnv(env: NodeJS.ProcessEnv): ConfigOverrides {
  const out: ConfigOverrides = {};
  for (const [key, name] of Object.entries(ENV_VARS) as [keyof ConfigOverrides, string][]) {
    const v = env[name];
    if (v !== undefined && v !== '') out[key] = v;
  }
  return out;
}

function num(v: string | number | undefined): number | string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  return /^-?\d+(\.\d+)?$/.test(v) ? Number(v) : v;
}

/** Turns flag/env overrides into the config's shape. */
export function overridesToConfig(o: ConfigOverrides): Record<string, unknown> {
  const cfg: Record<string, unknown> = {};
  const set = (path: string[], value: unknown): void => {
    if (value === undefined) return;
    let node = cfg;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] ?? ''] = value;
  };
  if (o.flinkUrl !== undefined) {
    set(
      ['flink', 'clusters'],
      o.flinkUrl
        .split(',')
        .map((url, i) => ({ label: i === 0 ? 'default' : `cluster-${i}`, url: url.trim() })),
    );
  }
  set(['mode'], o.mode);
  set(['agent', 'interval'], num(o.interval));
  set(['api', 'port'], num(o.apiPort));
  set(['api', 'host'], o.apiHost);
  set(['redis', 'url'], o.redisUrl);
  set(['prometheus', 'url'], o.prometheusUrl);
  set(['prometheus', 'nodeExporterUrl'], o.nodeExporterUrl);
  set(['actions', 'cooldown'], num(o.cooldown));
  set(['actions', 'stabilization'], num(o.stabilization));
  set(['time', 'scale'], num(o.timeScale));
  set(['state', 'dir'], o.stateDir);
  set(['log', 'level'], o.logLevel);
  return cfg;
}

/** File < environment < flags, validated once. */
export function loadConfig(opts: {
  file?: string;
  env?: NodeJS.ProcessEnv;
  flags?: ConfigOverrides;
}): Config {
  const fromFile = opts.file === undefined ? {} : readConfigFile(opts.file);
  const fromEnv = overridesToConfig(overridesFromEnv(opts.env ?? {}));
  const fromFlags = overridesToConfig(opts.flags ?? {});
  const merged = mergeConfig(mergeConfig(fromFile, fromEnv), fromFlags);
  const sources = [
    opts.file,
    Object.keys(fromEnv).length > 0 ? 'environment' : undefined,
    Object.keys(fromFlags).length > 0 ? 'flags' : undefined,
  ]
    .filter((s): s is string => s !== undefined)
    .join(' + ');
  return compileConfig(merged, sources === '' ? 'defaults' : sources);
}

export type { Config } from './schema.js';
