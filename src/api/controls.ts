import type { PlannedActionStatus } from '../domain/index.js';

/**
 * What the write routes call. The API defines these and the daemon passes implementations
 * (the action executor, the fleet-state policy); a route exists only when its control is given.
 */

/** Decides on a planned action waiting for approval. */
export interface ActionControl {
  approve(actionId: string, by: string, reason?: string): Promise<{ status: PlannedActionStatus }>;
  reject(actionId: string, by: string, reason?: string): Promise<{ status: PlannedActionStatus }>;
}

export type PauseScope =
  { kind: 'fleet' } | { kind: 'cluster'; cluster: string } | { kind: 'job'; jobKey: string };

/** Pauses stop every action in their scope; the diagnosis goes on. */
export interface PauseControl {
  pause(scope: PauseScope, by: string, reason?: string): Promise<void>;
  resume(scope: PauseScope, by: string): Promise<void>;
}

/** Silences mute alerts of matching findings until they expire; the findings still count in the score. */
export interface SilenceInput {
  matchers: { name: string; op?: string; value: string }[];
  comment: string;
  startsAt?: number;
  endsAt: number;
}

export interface SilenceControl {
  list(): Promise<unknown[]>;
  create(input: SilenceInput, by: string): Promise<unknown>;
  /** Throws ControlError('not_found') for an unknown or expired silence. */
  remove(id: string, by: string): Promise<void>;
}

export interface ApiControls {
  actions?: ActionControl;
  pauses?: PauseControl;
  silences?: SilenceControl;
}

/** A control's refusal: unknown action (404) or not in a state that allows it (409). */
export class ControlError extends Error {
  constructor(
    readonly kind: 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'ControlError';
  }
}
