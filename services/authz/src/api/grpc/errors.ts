/**
 * The one mapping from domain errors to gRPC statuses (used by the server middleware in
 * auth.ts). Unknown errors become INTERNAL with a generic message; their cause is logged,
 * never sent.
 */
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import {
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
} from '@warden/errors';

export function toServerError(error: unknown): ServerError | undefined {
  if (error instanceof ServerError) return error;
  if (error instanceof InvalidArgumentError) return new ServerError(Status.INVALID_ARGUMENT, error.message);
  if (error instanceof UnauthenticatedError) return new ServerError(Status.UNAUTHENTICATED, error.message);
  if (error instanceof PermissionDeniedError) return new ServerError(Status.PERMISSION_DENIED, error.message);
  if (error instanceof UnavailableError) return new ServerError(Status.UNAVAILABLE, error.message);
  if (error instanceof ConflictError) return new ServerError(Status.ALREADY_EXISTS, error.message);
  if (error instanceof FailedPreconditionError) return new ServerError(Status.FAILED_PRECONDITION, error.message);
  if (error instanceof NotFoundError) return new ServerError(Status.NOT_FOUND, error.message);
  return undefined;
}

/** The status a failed call ends with: mapped domain errors as they are, anything else INTERNAL (logged). */
export function failure(error: unknown, method: string, signal: AbortSignal, logger: Logger): unknown {
  if (signal.aborted) return error;
  const mapped = toServerError(error);
  if (mapped !== undefined) {
    if (mapped.code === Status.UNAVAILABLE) logger.warn({ method, err: (error as Error).cause ?? error }, mapped.details);
    return mapped;
  }
  logger.error({ method, err: error }, 'unexpected error');
  return new ServerError(Status.INTERNAL, 'internal error');
}
