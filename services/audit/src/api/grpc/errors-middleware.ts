/**
 * The one mapping from domain errors to gRPC statuses, as a nice-grpc server
 * middleware. Unknown errors become INTERNAL with a generic message; their
 * cause is logged, never sent.
 */
import { ServerError, Status, type CallContext, type ServerMiddlewareCall } from 'nice-grpc';
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
import { protoFieldName } from './convert.js';

export function toServerError(error: unknown): ServerError | undefined {
  if (error instanceof ServerError) return error;
  if (error instanceof InvalidArgumentError) return new ServerError(Status.INVALID_ARGUMENT, `${protoFieldName(error.field)}: ${error.problem}`);
  if (error instanceof UnauthenticatedError) return new ServerError(Status.UNAUTHENTICATED, error.message);
  if (error instanceof PermissionDeniedError) return new ServerError(Status.PERMISSION_DENIED, error.message);
  if (error instanceof NotFoundError) return new ServerError(Status.NOT_FOUND, error.message);
  if (error instanceof FailedPreconditionError) return new ServerError(Status.FAILED_PRECONDITION, error.message);
  if (error instanceof UnavailableError) return new ServerError(Status.UNAVAILABLE, error.message);
  if (error instanceof ConflictError) return new ServerError(Status.ALREADY_EXISTS, error.message);
  return undefined;
}

export function errorsMiddleware(logger: Logger) {
  return async function* errors<Request, Response>(
    call: ServerMiddlewareCall<Request, Response>,
    context: CallContext,
  ): AsyncGenerator<Response, Response | void, undefined> {
    try {
      return yield* call.next(call.request, context);
    } catch (error) {
      if (context.signal.aborted) throw error;
      const mapped = toServerError(error);
      if (mapped !== undefined) {
        if (mapped.code === Status.UNAVAILABLE) logger.warn({ method: call.method.path, err: (error as Error).cause ?? error }, mapped.details);
        throw mapped;
      }
      logger.error({ method: call.method.path, err: error }, 'unexpected error');
      throw new ServerError(Status.INTERNAL, 'internal error');
    }
  };
}
