import type { Config } from '../../../config/schema.js';
import type { JobRef, PlannedActionOrigin } from '../../../domain/index.js';
import type { Store } from '../../../state/store.js';
import { activePause, type Pause } from './fleet-state.js';
import { compileFreezes, type ActiveFreeze } from './freeze.js';
import { resolvePolicy, toCyclePolicy, type EffectivePolicy } from './policy.js';

type SafetyConfig = Pick<Config, 'mode' | 'policies' | 'policyDefaults' | 'autoscaler' | 'rules' | 'freezes'>;

/**
 * The fleet's policy in one object, for the daemon and the action executor: the merged per-job
 * policy, the cycle policy, pauses from the store and freezes from the config.
 */
export interface FleetSafety {
  policy(job: JobRef): EffectivePolicy;
  cyclePolicy(job: JobRef): ReturnType<typeof toCyclePolicy>;
  mode(job: JobRef): EffectivePolicy['mode'];
  pause(job: JobRef, now: number): Promise<Pause | undefined>;
  activeFreeze(job: JobRef, now: number): ActiveFreeze | undefined;
  blockingFreeze(job: JobRef, now: number, origin: PlannedActionOrigin): ActiveFreeze | undefined;
}

export function fleetSafety(store: Store, config: SafetyConfig): FleetSafety {
  const freezes = compileFreezes(config.freezes);
  const policy = (job: JobRef): EffectivePolicy => resolvePolicy(job, config);
  return {
    policy,
    cyclePolicy: job => toCyclePolicy(policy(job)),
    mode: job => policy(job).mode,
    pause: (job, now) => activePause(store, job, now),
    activeFreeze: (job, now) => freezes.activeFreeze(job, now),
    blockingFreeze: (job, now, origin) => freezes.blockingFreeze(job, now, origin),
  };
}
