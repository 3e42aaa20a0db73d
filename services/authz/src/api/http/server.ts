/**
 * The HTTP front door (fastify): the AuthZEN API, the AuthzService and AdminService
 * as Connect-style JSON (`POST /warden.authz.v1.AdminService/GrantBinding`, proto3
 * JSON bodies; the same implementations as gRPC), and /healthz, /readyz.
 *
 * Every route but discovery and health is authenticated. Errors: AuthZEN routes
 * answer the spec's status with a plain error-message string; Connect routes a JSON
 * `{code, message}` with Connect's status codes.
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { Metadata, Status, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import type { Authenticator } from '../../usecases/authenticate.js';
import type { Caller } from '../../domain/caller.js';
import { UnauthenticatedError } from '@warden/errors';
import { toServerError } from '../grpc/errors.js';
import type { CallerContext } from '../grpc/auth.js';
import { registerAuthzen, type AuthzenDeps } from './authzen.js';
import { keyIdOf } from '../../domain/api-key-format.js';

declare module 'fastify' {
  interface FastifyRequest {
    caller: Caller | null;
  }
  interface FastifyContextConfig {
    public?: boolean;
  }
}

interface MessageFns {
  fromJSON(object: unknown): unknown;
  toJSON(message: unknown): unknown;
}
interface UnaryMethod {
  readonly name: string;
  readonly requestType: MessageFns;
  readonly responseType: MessageFns;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}
export interface ServiceDefinitionLike {
  readonly fullName: string;
  readonly methods: Readonly<Record<string, UnaryMethod>>;
}
type Implementation = Record<string, (request: unknown, context: CallContext & CallerContext) => Promise<unknown>>;

export interface HttpServerOptions extends Omit<AuthzenDeps, 'callerOf'> {
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Services exposed as Connect-style JSON: definition + the gRPC implementation. */
  readonly services: ReadonlyArray<{ definition: ServiceDefinitionLike; implementation: object }>;
  readonly ready: () => Promise<boolean>;
  /** Browser origins allowed to call the API (CORS); none by default. */
  readonly corsOrigins?: readonly string[] | undefined;
}

const CONNECT_CODES: Partial<Record<Status, [string, number]>> = {
  [Status.INVALID_ARGUMENT]: ['invalid_argument', 400],
  [Status.UNAUTHENTICATED]: ['unauthenticated', 401],
  [Status.PERMISSION_DENIED]: ['permission_denied', 403],
  [Status.NOT_FOUND]: ['not_found', 404],
  [Status.ALREADY_EXISTS]: ['already_exists', 409],
  [Status.FAILED_PRECONDITION]: ['failed_precondition', 400],
  [Status.UNAVAILABLE]: ['unavailable', 503],
};
const AUTHZEN_STATUS: Partial<Record<Status, number>> = {
  [Status.INVALID_ARGUMENT]: 400,
  [Status.UNAUTHENTICATED]: 401,
  [Status.PERMISSION_DENIED]: 403,
  [Status.NOT_FOUND]: 404,
  [Status.ALREADY_EXISTS]: 409,
  [Status.FAILED_PRECONDITION]: 409,
  [Status.UNAVAILABLE]: 503,
};

/** The health routes (public): probes in deploy/ are checked against these. */
export const HEALTH_PATHS = { alive: '/healthz', ready: '/readyz' } as const;

function callerOf(request: FastifyRequest): Caller {
  if (request.caller === null) throw new UnauthenticatedError('missing credentials');
  return request.caller;
}

export async function createHttpServer(options: HttpServerOptions): Promise<FastifyInstance> {
  const { logger } = options;
  const app = Fastify({
    loggerInstance: logger.child({ component: 'http' }) as unknown as FastifyBaseLogger,
    disableRequestLogging: true,
    bodyLimit: 1024 * 1024,
    requestIdHeader: 'x-request-id',
    ajv: { customOptions: { allErrors: false, coerceTypes: false, removeAdditional: false } },
  });
  app.decorateRequest('caller', null);
  if (options.corsOrigins !== undefined && options.corsOrigins.length > 0) {
    // Browsers (the browser SDK) call with a bearer token, never cookies: no credentials mode.
    await app.register(cors, {
      origin: [...options.corsOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-request-id'],
      maxAge: 600,
    });
  }
  // JSON only: any other content type is a 400 (AuthZEN), not a string body.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public === true || request.method === 'OPTIONS') return;
    const authorization = request.headers.authorization;
    try {
      request.caller = await options.authenticator.authenticate({ authorization, peer: request.socket.remoteAddress });
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        const token = /^Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1];
        logger.warn({ url: request.url, peer: request.socket.remoteAddress, keyId: token ? keyIdOf(token) : undefined, reason: error.message }, 'unauthenticated request refused');
      }
      throw error;
    }
  });

  // AuthZEN: a PDP answering a request with X-Request-ID MUST echo it.
  app.addHook('onSend', async (request, reply) => {
    if (request.headers['x-request-id'] !== undefined) reply.header('x-request-id', request.headers['x-request-id']);
  });

  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).type('text/plain; charset=utf-8').send(`no route for ${request.method} ${request.url.split('?')[0]}`);
  });

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const connect = !request.url.startsWith('/access/') && !request.url.startsWith('/.well-known/');
    let code: Status;
    let message: string;
    if (error.validation !== undefined) {
      code = Status.INVALID_ARGUMENT;
      const first = error.validation[0];
      message = `${(first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.') || 'body'} ${first?.message ?? 'is not valid'}`;
    } else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || error.code === 'FST_ERR_CTP_INVALID_CONTENT_LENGTH') {
      code = Status.INVALID_ARGUMENT;
      message = 'content-type must be application/json';
    } else if (error.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || error.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || error instanceof SyntaxError) {
      code = Status.INVALID_ARGUMENT;
      message = 'the body is not valid JSON';
    } else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      void reply.code(413).type('text/plain; charset=utf-8').send('the body is larger than 1 MiB');
      return;
    } else {
      const mapped = toServerError(error);
      if (mapped === undefined) {
        logger.error({ err: error, url: request.url }, 'unexpected error');
        code = Status.INTERNAL;
        message = 'internal error';
      } else {
        code = mapped.code;
        message = mapped.details;
        if (code === Status.UNAVAILABLE) logger.warn({ url: request.url, err: (error as Error).cause ?? error }, message);
      }
    }
    if (connect) {
      const [name, status] = CONNECT_CODES[code] ?? ['internal', 500];
      void reply.code(status).type('application/json').send({ code: name, message });
    } else {
      void reply.code(AUTHZEN_STATUS[code] ?? 500).type('text/plain; charset=utf-8').send(message);
    }
  });

  app.get(HEALTH_PATHS.alive, { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get(HEALTH_PATHS.ready, { config: { public: true } }, async (_request, reply) => {
    const ready = await options.ready().catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });

  registerAuthzen(app, { ...options, callerOf });

  for (const { definition, implementation } of options.services) {
    const impl = implementation as Implementation;
    for (const [key, method] of Object.entries(definition.methods)) {
      if (method.requestStream || method.responseStream) continue;
      app.post(`/${definition.fullName}/${method.name}`, async (request, reply) => {
        let message: unknown;
        try {
          message = method.requestType.fromJSON(request.body ?? {});
        } catch (error) {
          throw Object.assign(new SyntaxError(`the body is not a valid ${method.name} request: ${(error as Error).message}`));
        }
        const controller = new AbortController();
        // The response's 'close' before it finished means the client went away (a request's own
        // 'close' fires as soon as its body has been read, so it cannot tell).
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) controller.abort();
        });
        const context = {
          caller: callerOf(request),
          signal: controller.signal,
          metadata: Metadata(),
          peer: request.socket.remoteAddress ?? '',
          header: Metadata(),
          trailer: Metadata(),
        } as unknown as CallContext & CallerContext;
        const response = await impl[key]!(message, context);
        return reply.type('application/json').send(method.responseType.toJSON(response));
      });
    }
  }
  return app;
}
