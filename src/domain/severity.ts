export const SEVERITIES = ['high', 'medium', 'low'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Health-score weight of one fingerprint at this severity (ARCHITECTURE §3). */
export const SEVERITY_WEIGHT: Readonly<Record<Severity, number>> = { high: 5, medium: 3, low: 1 };

/** Lower rank sorts first. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { high: 0, medium: 1, low: 2 };

export const RISKS = ['high', 'medium', 'low'] as const;
export type Risk = (typeof RISKS)[number];

/**
 * The stable category vocabulary alerts route on. The order is the first-action order.
 */
export const CATEGORIES = [
  'availability',
  'connector',
  'checkpoint',
  'state',
  'memory',
  'gc',
  'backpressure',
  'lag',
  'skew',
  'watermark',
  'resources',
  'node',
  'scaling',
  'config',
] as const;
export type Category = (typeof CATEGORIES)[number];

export const CATEGORY_RANK: Readonly<Record<Category, number>> = Object.fromEntries(
  CATEGORIES.map((c, i) => [c, i]),
) as Record<Category, number>;
