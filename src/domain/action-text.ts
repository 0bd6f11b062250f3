import { formatDuration } from './duration.js';
import { factDefinition } from './fact-dictionary.js';
import type { FactUnit, FactValue } from './facts.js';
import type { FactLookup, ParamValue } from './rule.js';
import type { Subject } from './scope.js';

/**
 * Action texts are written for people who are not Flink experts, so the numbers in them are
 * filled in: `{{subject.name}}`, `{{subject.id}}`, `{{params.<name>}}` and `{{<fact name>}}`.
 *
 * Rendering: integers as they are; other numbers with at most 3 decimals (3 significant digits
 * below 1); facts with unit `ratio` as a percentage with at most one decimal (0.93456 → "93.5%"), unit `s` as a duration
 * (4200 → "1h10m") and unit `bytes` in binary units ("1.5 GiB"); params exactly as numbers, because
 * a param has no unit. Booleans render as yes/no, lists comma-separated, and an absent fact or
 * an unknown placeholder as `?`.
 */
export interface ActionTextContext {
  subject: Subject;
  params: Readonly<Record<string, ParamValue>>;
  facts: FactLookup;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** The placeholder names in a text, in order of first appearance, without duplicates. */
export function actionTextPlaceholders(text: string): string[] {
  return [...new Set(Array.from(text.matchAll(PLACEHOLDER), m => m[1] ?? ''))];
}

export function renderActionText(text: string, ctx: ActionTextContext): string {
  return text.replace(PLACEHOLDER, (_match, name: string) => renderPlaceholder(name, ctx));
}

function renderPlaceholder(name: string, ctx: ActionTextContext): string {
  if (name === 'subject.name') return ctx.subject.name;
  if (name === 'subject.id') return ctx.subject.id;
  if (name.startsWith('params.')) {
    const key = name.slice('params.'.length);
    return Object.hasOwn(ctx.params, key) ? formatValue(ctx.params[key]) : '?';
  }
  const def = factDefinition(name);
  return def === undefined ? '?' : formatValue(ctx.facts.get(name), def.unit);
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n) || !Number.isFinite(n)) return String(n);
  return String(Math.abs(n) >= 1 ? Number(n.toFixed(3)) : Number(n.toPrecision(3)));
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

function formatBytes(n: number): string {
  let value = n;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < BINARY_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? formatNumber(value) : value.toFixed(1)} ${BINARY_UNITS[unit] ?? 'B'}`;
}

function formatValue(value: FactValue | ParamValue | undefined, unit?: FactUnit): string {
  if (value === undefined) return '?';
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'string') return value;
  if (typeof value !== 'number')
    return value.length === 0 ? 'none' : value.map(v => formatValue(v)).join(', ');
  if (!Number.isFinite(value)) return String(value);
  switch (unit) {
    case 'ratio':
      return `${formatNumber(Math.round(value * 1000) / 10)}%`;
    case 's':
      return value >= 0 ? formatDuration(value * 1000) : `${formatNumber(value)}s`;
    case 'bytes':
      return formatBytes(value);
    default:
      return formatNumber(value);
  }
}
