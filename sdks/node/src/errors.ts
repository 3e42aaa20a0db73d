/** The SDK's errors: one base class with the gRPC status name, and the decisions that callers catch. */
import type { Decision } from './decision.js';

export class WardenError extends Error {
  override readonly name: string = 'WardenError';
  constructor(
    message: string,
    /** The gRPC status name (`UNAVAILABLE`, `INVALID_ARGUMENT`, …) when the service answered with one. */
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The request was malformed (a bad name, an oversized attribute bag…); retrying will not help. */
export class WardenInvalidArgumentError extends WardenError {
  override readonly name = 'WardenInvalidArgumentError';
}

/** The credentials were refused, or the caller may not ask this. */
export class WardenAuthError extends WardenError {
  override readonly name = 'WardenAuthError';
}

/** The service could not answer (down, overloaded, timed out). Nothing was decided: fail closed. */
export class WardenUnavailableError extends WardenError {
  override readonly name = 'WardenUnavailableError';
}

/** `enforce` or `change` was denied. Carries the decision with its reason. */
export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
  constructor(readonly decision: Decision) {
    super(`denied: ${decision.reason.message}`);
  }
}

/** The action is allowed only after approval (the environment requires it). */
export class ApprovalRequiredError extends Error {
  override readonly name = 'ApprovalRequiredError';
  constructor(readonly decision: Decision) {
    super(`requires approval: ${decision.reason.message}`);
  }
}
