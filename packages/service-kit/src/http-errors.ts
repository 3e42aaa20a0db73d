/**
 * The one fastify error handler of the Warden HTTP APIs. Every route, Connect-style and
 * AuthZEN alike, answers an error with the status of @warden/errors' table (Connect's
 * code→HTTP mapping), so one error has one status wherever it is met; routes differ only
 * in the body: Connect-style JSON `{code, message}` or the AuthZEN plain-text message.
 *
 * A caller's mistake is never a 500: schema failures, malformed JSON, a wrong content type
 * and fastify's other 4xx are 400 naming what is wrong (the body field, when there is one);
 * an oversized body is 413. Anything that is not a Warden error is 500 with a generic
 * message, its cause logged, never echoed; UNAVAILABLE is logged as a warning.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { STATUS, statusOf, statusOfGrpcCode, type Status } from '@warden/errors';

/** How a route's errors are written: Connect-style JSON, or AuthZEN's plain text. */
export type ErrorBody = 'json' | 'text';

export interface HttpErrorOptions {
  readonly logger: Logger;
  /** The body shape for this request's route. @defaultValue () => 'json' */
  readonly body?: (request: FastifyRequest) => ErrorBody;
  /** The body limit, for the 413 message. @defaultValue 1 MiB */
  readonly bodyLimit?: number;
}

/** The status and the message a caller may see. */
export interface HttpFailure {
  readonly status: Status;
  readonly httpStatus: number;
  readonly message: string;
}

/** A schema failure's field: `/subject/id` → `subject.id`, the body itself → `body`. */
function fieldOf(instancePath: string | undefined): string {
  return (instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') || 'body';
}

/** nice-grpc's ServerError (thrown by a gRPC implementation served over HTTP), without importing nice-grpc. */
function grpcStatusOf(error: unknown): { code: number; details: string } | undefined {
  if (!(error instanceof Error) || error.name !== 'ServerError') return undefined;
  const { code, details } = error as Error & { code?: unknown; details?: unknown };
  return typeof code === 'number' && typeof details === 'string' ? { code, details } : undefined;
}

/** What an error becomes over HTTP; undefined for an unknown error (the handler answers 500 and logs it). */
export function httpFailureOf(error: unknown, bodyLimit = 1024 * 1024): HttpFailure | undefined {
  const invalid = (message: string): HttpFailure => ({ status: STATUS.invalid_argument, httpStatus: 400, message });
  const fastify = error as Partial<FastifyError>;
  if (fastify.validation !== undefined) {
    const first = fastify.validation[0];
    return invalid(`${fieldOf(first?.instancePath)} ${first?.message ?? 'is not valid'}`);
  }
  switch (fastify.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return invalid('content-type must be application/json');
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return invalid('the body is not valid JSON');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: STATUS.invalid_argument, httpStatus: 413, message: `the body is larger than ${bodyLimit >= 1024 * 1024 ? `${bodyLimit / (1024 * 1024)} MiB` : `${bodyLimit} bytes`}` };
  }
  if (error instanceof SyntaxError) return invalid(error.message.startsWith('the body') ? error.message : 'the body is not valid JSON');
  const warden = statusOf(error);
  if (warden !== undefined) return { status: warden, httpStatus: warden.http, message: (error as Error).message };
  const grpc = grpcStatusOf(error);
  if (grpc !== undefined) {
    const status = statusOfGrpcCode(grpc.code);
    return status.code === 'internal' ? undefined : { status, httpStatus: status.http, message: grpc.details };
  }
  // fastify's own refusals of a request (a bad URL, a bad header…): the caller's mistake.
  if (typeof fastify.code === 'string' && fastify.code.startsWith('FST_') && typeof fastify.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    return invalid(fastify.message ?? 'the request is not valid');
  }
  return undefined;
}

/** The fastify error handler (`app.setErrorHandler(httpErrorHandler({ logger, body }))`). */
export function httpErrorHandler(options: HttpErrorOptions) {
  const { logger } = options;
  const bodyOf = options.body ?? (() => 'json');
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    let failure = httpFailureOf(error, options.bodyLimit);
    if (failure === undefined) {
      logger.error({ err: error, url: request.url }, 'unexpected error');
      failure = { status: STATUS.internal, httpStatus: 500, message: 'internal error' };
    } else if (failure.status.code === 'unavailable') {
      logger.warn({ url: request.url, err: (error as Error).cause ?? error }, failure.message);
    }
    if (failure.httpStatus === 413 || bodyOf(request) === 'text') {
      void reply.code(failure.httpStatus).type('text/plain; charset=utf-8').send(failure.message);
    } else {
      void reply.code(failure.httpStatus).type('application/json').send({ code: failure.status.code, message: failure.message });
    }
  };
}
