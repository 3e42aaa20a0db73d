/**
 * Domain errors: "could not decide". A denial is never an error; it is a Decision.
 * The transport maps these to gRPC / HTTP statuses in one place (api/grpc/errors.ts).
 */

export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
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

export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
}

export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** The request is well-formed but the system's state forbids it (last owner, role in use, …). */
export class FailedPreconditionError extends Error {
  override readonly name = 'FailedPreconditionError';
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}
