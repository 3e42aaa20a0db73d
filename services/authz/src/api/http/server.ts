/**
 * The HTTP front door (fastify): the AuthZEN API, the AuthzService and AdminService
 * as Connect-style JSON (`POST /warden.authz.v1.AdminService/GrantBinding`, proto3
 * JSON bodies; the same implementations as gRPC), and /healthz, /readyz.
 *
 * Every route but discovery and health is authenticated. Errors (@warden/service-kit's
 * httpErrorHandler): every route answers the status of the one table of @warden/errors;
 * AuthZEN routes with a plain error-message string, Connect routes with a JSON `{code, message}`.
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyRequest } from 'fastify';
import { Metadata, type CallContext } from 'nice-grpc';
import type { Logger } from 'pino';
import type { Authenticator } from '../../usecases/authenticate.js';
import type { Caller } from '../../domain/caller.js';
import { UnauthenticatedError } from '@warden/errors';
import { httpErrorHandler } from '@warden/service-kit';
import type { CallerContext } from '../grpc/auth.js';
import { registerAuthzen, type AuthzenDeps } from './authzen.js';
import { registerAccessRequests, requestableHint } from './access-requests.js';
import type { Approvals } from '../../usecases/approvals.js';
import { keyIdOf } from '../../domain/api-key-format.js';
import { registerConsole } from './console.js';

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

export interface HttpServerOptions extends Omit<AuthzenDeps, 'callerOf' | 'requestable'> {
  /** AuthZEN Access Request and Approval Profile (access-requests.ts): the approvals use cases and the denial-binding secret. */
  readonly accessRequests?: { readonly approvals: Approvals; readonly secret: Buffer } | undefined;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Services exposed as Connect-style JSON: definition + the gRPC implementation. */
  readonly services: ReadonlyArray<{ definition: ServiceDefinitionLike; implementation: object }>;
  readonly ready: () => Promise<boolean>;
  /** Browser origins allowed to call the API (CORS); none by default. */
  readonly corsOrigins?: readonly string[] | undefined;
  /** The web console's built files, served at /console; undefined: no console. */
  readonly consoleDir?: string | undefined;
}

const BODY_LIMIT = 1024 * 1024;

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
    bodyLimit: BODY_LIMIT,
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

  // AuthZEN routes (and their discovery document) answer errors as plain text, the rest as Connect JSON.
  const authzenRoute = (request: FastifyRequest) => request.url.startsWith('/access/') || request.url.startsWith('/.well-known/');
  app.setErrorHandler(httpErrorHandler({ logger, bodyLimit: BODY_LIMIT, body: (request) => (authzenRoute(request) ? 'text' : 'json') }));

  app.get(HEALTH_PATHS.alive, { config: { public: true } }, async () => ({ status: 'ok' }));
  app.get(HEALTH_PATHS.ready, { config: { public: true } }, async (_request, reply) => {
    const ready = await options.ready().catch(() => false);
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready' });
  });

  const arap = options.accessRequests;
  registerAuthzen(app, { ...options, callerOf, requestable: arap === undefined ? undefined : requestableHint(arap.secret) });
  if (arap !== undefined) registerAccessRequests(app, { approvals: arap.approvals, authorizer: options.authorizer, callerOf, publicUrl: options.publicUrl, secret: arap.secret });
  if (options.consoleDir !== undefined) await registerConsole(app, options.consoleDir);

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
          // The caller's credential, for a service that forwards it (AuditStatusService → the audit service).
          metadata: request.headers.authorization === undefined ? Metadata() : Metadata({ authorization: request.headers.authorization }),
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
