/**
 * Refusals of approve/reject/verify. `kind` matches the API's ControlError kinds, so the wiring
 * maps them to 404 and 409 without knowing each class.
 */
export class ActionNotFoundError extends Error {
  readonly code = 'ACTION_NOT_FOUND';
  readonly kind = 'not_found' as const;
  constructor(readonly actionId: string) {
    super(`no action ${actionId} is waiting for a decision`);
    this.name = 'ActionNotFoundError';
  }
}

export class ActionStateError extends Error {
  readonly code = 'ACTION_WRONG_STATE';
  readonly kind = 'conflict' as const;
  constructor(
    readonly actionId: string,
    readonly state: string,
    wanted: string,
  ) {
    super(`action ${actionId} is ${state}, not ${wanted}`);
    this.name = 'ActionStateError';
  }
}

export class ApprovalExpiredError extends Error {
  readonly code = 'APPROVAL_EXPIRED';
  readonly kind = 'conflict' as const;
  constructor(
    readonly actionId: string,
    readonly expiredAt: number,
  ) {
    super(`the approval request for action ${actionId} expired; a fresh plan will ask again`);
    this.name = 'ApprovalExpiredError';
  }
}
