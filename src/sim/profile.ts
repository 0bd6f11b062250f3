import { noiseAt } from './random.js';
import type { Profile } from './scenario.js';

const HOUR_MS = 3_600_000;

/** Smooth 0→1 over [0, 1]. */
function ease(x: number): number {
  const c = Math.min(1, Math.max(0, x));
  return c * c * (3 - 2 * c);
}

/** The profile's rate without noise, `elapsedMs` after the scenario start at `epochMs`. */
export function baseRate(p: Profile, elapsedMs: number, epochMs: number): number {
  switch (p.kind) {
    case 'constant':
      return p.rate;
    case 'step':
      return elapsedMs < p.at ? p.rate : p.to;
    case 'ramp':
      return (
        p.from + (p.to - p.from) * Math.min(1, Math.max(0, (elapsedMs - p.start) / Math.max(1, p.duration)))
      );
    case 'daily': {
      const hour = (((epochMs / HOUR_MS + p.utcOffsetHours) % 24) + 24) % 24;
      const phase = ((hour - p.peakHour) / 24) * 2 * Math.PI;
      return p.base + (p.peak - p.base) * (0.5 + 0.5 * Math.cos(phase)) ** 2;
    }
    case 'promotion': {
      const t = elapsedMs - p.start;
      if (t < 0) return p.base;
      if (t < p.rampUp) return p.base + (p.peak - p.base) * ease(t / Math.max(1, p.rampUp));
      if (t < p.rampUp + p.hold) return p.peak;
      const down = t - p.rampUp - p.hold;
      return p.peak - (p.peak - p.base) * ease(down / Math.max(1, p.rampDown));
    }
  }
}

/**
 * Input rate with seeded noise: uniform noise of the profile's relative standard deviation,
 * drawn per second from (key, second) so the value is a pure function of time.
 */
export function rateAt(p: Profile, key: string, elapsedMs: number, epochMs: number): number {
  const base = baseRate(p, elapsedMs, epochMs);
  if (p.noise === 0) return base;
  const u = noiseAt(key, Math.floor(elapsedMs / 1000));
  return Math.max(0, base * (1 + (u - 0.5) * 2 * Math.sqrt(3) * p.noise));
}
