import { z } from 'zod';

/**
 * Faults on the wire, set per route through `/__sim/wire-faults` (tests of the REST source):
 * malformed JSON, a valid but partial body, a hang, a 5xx, a slow answer, a reset connection.
 */
export const wireFaultSchema = z
  .object({
    /** Route pattern as registered (`/jobs/:jobid/checkpoints`) or `*` for every route. */
    route: z.string().min(1),
    mode: z.enum(['malformed', 'partial', 'hang', '5xx', 'slow', 'reset']),
    status: z.number().int().min(500).max(599).default(503),
    delayMs: z.number().int().nonnegative().default(0),
    /** How many requests it hits; absent = until cleared. */
    times: z.number().int().positive().optional(),
  })
  .strict();
export type WireFault = z.infer<typeof wireFaultSchema>;
export type WireFaultInput = z.input<typeof wireFaultSchema>;

export class WireFaults {
  private faults: { fault: WireFault; left: number }[] = [];

  add(input: WireFaultInput): WireFault {
    const fault = wireFaultSchema.parse(input);
    this.faults.push({ fault, left: fault.times ?? Number.POSITIVE_INFINITY });
    return fault;
  }

  clear(): void {
    this.faults = [];
  }

  /** The fault to apply to a request of `route` (consumes one use). */
  take(route: string | undefined): WireFault | undefined {
    const hit = this.faults.find(f => f.left > 0 && (f.fault.route === '*' || f.fault.route === route));
    if (hit === undefined) return undefined;
    hit.left--;
    return hit.fault;
  }

  list(): WireFault[] {
    return this.faults.filter(f => f.left > 0).map(f => f.fault);
  }
}

/** Cuts a JSON text so it no longer parses. */
export function malformed(text: string): string {
  return `${text.slice(0, Math.max(1, Math.floor(text.length / 2)))}<!-- truncated`;
}

/** Keeps a valid JSON shape but drops half of the fields (objects) or entries (arrays). */
export function partial(body: unknown): unknown {
  if (Array.isArray(body)) return body.slice(0, Math.floor(body.length / 2)).map(partial);
  if (typeof body === 'object' && body !== null) {
    const entries = Object.entries(body);
    return Object.fromEntries(entries.filter((_, i) => i % 2 === 1));
  }
  return body;
}
