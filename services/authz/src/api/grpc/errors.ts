/**
 * The one mapping from domain errors to gRPC statuses (used by the server wrapper in
 * auth.ts), from the table in @warden/errors. Unknown errors become INTERNAL with a generic
 * message; their cause is logged, never sent.
 */
import { statusOf } from '@warden/errors';
import { ServerError, Status } from 'nice-grpc';
import type { Logger } from 'pino';

export function toServerError(error: unknown): ServerError | undefined {
  if (error instanceof ServerError) return error;
  const status = statusOf(error);
  return status === undefined ? undefined : new ServerError(status.grpc as Status, (error as Error).message);
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
