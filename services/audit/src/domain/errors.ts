/**
 * Domain errors: "could not do it". A refused event is a result (AppendOutcome),
 * never an error. The transport maps these to gRPC statuses in one place
 * (api/grpc/errors-middleware.ts).
 */

export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  constructor(
    /** The request field that is wrong, e.g. `filter.org` or `events[3].event.id`. */
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${field}: ${problem}`);
  }

  under(prefix: string): InvalidArgumentError {
    return new InvalidArgumentError(`${prefix}.${this.field}`, this.problem);
  }
}

export class UnauthenticatedError extends Error {
  override readonly name = 'UnauthenticatedError';
}

export class PermissionDeniedError extends Error {
  override readonly name = 'PermissionDeniedError';
}

export class NotFoundError extends Error {
  override readonly name = 'NotFoundError';
}

/** A transient failure of a dependency (store, authz): the caller may retry. */
export class UnavailableError extends Error {
  override readonly name = 'UnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** The request is valid but the log is not in a state to answer it (e.g. no checkpoint yet). */
export class FailedPreconditionError extends Error {
  override readonly name = 'FailedPreconditionError';
}
