import type { Simulator } from './server.js';

/** The shape of the REST source's Dispatcher (kept structural so sim/ does not import sources/). */
export interface InProcessRequest {
  method: string;
  url: string;
  body?: string;
}

/**
 * A dispatcher that answers from the simulator without sockets: virtual-time mode, where the
 * daemon and the simulator share one process and one VirtualClock. Status 0 = unreachable.
 */
export function inProcessDispatcher(
  sim: Simulator,
): (req: InProcessRequest) => Promise<{ status: number; text: string }> {
  return req => {
    const url = new URL(req.url);
    const res = sim.dispatch(req.method, `${url.pathname}${url.search}`, req.body ?? '');
    return res.status === 0
      ? Promise.reject(new Error('connection refused (simulated JobManager unreachable)'))
      : Promise.resolve(res);
  };
}
