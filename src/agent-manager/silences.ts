import { createSilence, deleteSilence, listSilences } from '../agents/select/policies/fleet-state.js';
import { ControlError, type SilenceControl } from '../api/controls.js';
import type { Store } from '../state/store.js';

/** Silences for the API, on the store (validated by the fleet-state schema). */
export function silenceControl(store: Store, now: () => number): SilenceControl {
  return {
    list: () => listSilences(store, now()),
    create: (input, by) =>
      createSilence(store, { ...input, author: by } as Parameters<typeof createSilence>[1], now()),
    remove: async id => {
      if (!(await deleteSilence(store, id, now())))
        throw new ControlError('not_found', `no silence ${id} in force`);
    },
  };
}
