/**
 * Warden's errors: "could not do it". A denial is never an error (it is a Decision), and a
 * refused audit event is a result. Every package throws these; the transports map them to
 * a status in one place (status.ts) and never echo the message of anything else.
 */
import type { ErrorCode } from './codes.js';

export abstract class WardenError extends Error {
  abstract readonly code: ErrorCode;
}

/** A request field is malformed or out of range. */
export class InvalidArgumentError extends WardenError {
  override readonly name: string = 'InvalidArgumentError';
  readonly code = 'invalid_argument';
  constructor(
    /** The request field that is wrong, e.g. `resource` or `checks[3].subject`. */
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }

  /** The same problem reported for a field nested under `prefix`. */
  under(prefix: string): InvalidArgumentError {
    return new InvalidArgumentError(`${prefix}.${this.field}`, this.problem);
  }
}

/** The caller did not prove who it is. */
export class UnauthenticatedError extends WardenError {
  override readonly name: string = 'UnauthenticatedError';
  readonly code = 'unauthenticated';
}

/** The caller is known and may not do this. */
export class PermissionDeniedError extends WardenError {
  override readonly name: string = 'PermissionDeniedError';
  readonly code = 'permission_denied';
}

export class NotFoundError extends WardenError {
  override readonly name: string = 'NotFoundError';
  readonly code = 'not_found';
}

/** A conflicting write: the same id with another payload, a name that is taken. */
export class ConflictError extends WardenError {
  override readonly name: string = 'ConflictError';
  readonly code = 'already_exists';
}

/** The request is well-formed but the system's state forbids it (last owner, role in use, no checkpoint yet). */
export class FailedPreconditionError extends WardenError {
  override readonly name: string = 'FailedPreconditionError';
  readonly code = 'failed_precondition';
}

/** A limit was reached (a queue, a quota); the caller may retry later. */
export class ResourceExhaustedError extends WardenError {
  override readonly name: string = 'ResourceExhaustedError';
  readonly code = 'resource_exhausted';
}

/** A dependency (store, cache, peer service) cannot answer safely now; transient, the caller may retry. */
export class UnavailableError extends WardenError {
  override readonly name: string = 'UnavailableError';
  readonly code = 'unavailable';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A deadline passed before the work finished. */
export class DeadlineExceededError extends WardenError {
  override readonly name: string = 'DeadlineExceededError';
  readonly code = 'deadline_exceeded';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
