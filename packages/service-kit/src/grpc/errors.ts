/**
 * Warden errors → gRPC statuses, by @warden/errors' one table. A ServerError passes as it
 * is; an unknown error is INTERNAL with a generic message, its cause logged and never sent;
 * UNAVAILABLE is logged as a warning (with the dependency's error as the cause).
 */
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';
import { InvalidArgumentError, statusOf } from '@warden/errors';

/** Renames a field for the wire (e.g. the domain's `eventId` → the proto's `event_id`). */
export type FieldName = (field: string) => string;

/** The status of a Warden error (or a ServerError); undefined for anything else. */
export function toServerError(error: unknown, fieldName?: FieldName): ServerError | undefined {
  if (error instanceof ServerError) return error;
  const status = statusOf(error);
  if (status === undefined) return undefined;
  // INVALID_ARGUMENT names the field, as the caller knows it.
  const message = error instanceof InvalidArgumentError && fieldName !== undefined ? `${fieldName(error.field)}: ${error.problem}` : (error as Error).message;
  return new ServerError(status.grpc, message);
}

/** What a failed call ends with: its own error when the call was cancelled, else its status. */
export function grpcFailure(error: unknown, method: string, signal: AbortSignal, logger: Logger, fieldName?: FieldName): unknown {
  if (signal.aborted) return error;
  const mapped = toServerError(error, fieldName);
  if (mapped !== undefined) {
    if (mapped.code === Status.UNAVAILABLE) logger.warn({ method, err: (error as Error).cause ?? error }, mapped.details);
    return mapped;
  }
  logger.error({ method, err: error }, 'unexpected error');
  return new ServerError(Status.INTERNAL, 'internal error');
}
