/**
 * Every gRPC call is authenticated and gets `caller` in its context; every failure becomes a
 * gRPC status. Refusals are logged with the method, the peer and the key id (never the secret).
 */
import type { CallContext, ServiceImplementation, TsProtoServiceDefinition } from 'nice-grpc';
import type { Logger } from 'pino';
import { keyIdOf } from '../../domain/api-key-format.js';
import type { Authenticator } from '../../usecases/authenticate.js';
import type { Caller } from '../../domain/caller.js';
import { UnauthenticatedError } from '@warden/errors';
import { failure } from './errors.js';

export interface CallerContext {
  readonly caller: Caller;
}

type Method = (request: unknown, context: CallContext & CallerContext) => unknown;

/**
 * A service implementation whose every method first authenticates the call and adds `caller`
 * to its context; failures (of either) leave as gRPC statuses (errors.ts). Wrapped methods
 * rather than a nice-grpc middleware: a middleware is one more async generator, and a copy
 * of the context, on every call a Check included; here a unary call is one async function.
 * The context is the call's own object (nice-grpc makes one per call), so `caller` is set on it.
 */
export function authenticated<Service extends TsProtoServiceDefinition>(
  definition: Service,
  implementation: ServiceImplementation<Service, CallerContext>,
  authenticator: Authenticator,
  logger: Logger,
): ServiceImplementation<Service> {
  const wrapped: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const run = (implementation as unknown as Record<string, Method>)[key]!.bind(implementation);
    const path = `/${definition.fullName}/${method.name}`;
    const authenticate = async (context: CallContext): Promise<CallContext & CallerContext> => {
      const authorization = context.metadata.get('authorization');
      try {
        const caller = await authenticator.authenticate({ authorization, peer: context.peer });
        const extended = context as CallContext & { caller: Caller };
        extended.caller = caller;
        return extended;
      } catch (error) {
        if (error instanceof UnauthenticatedError) {
          const token = /^Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1];
          logger.warn({ method: path, peer: context.peer, keyId: token ? keyIdOf(token) : undefined, reason: error.message }, 'unauthenticated call refused');
        }
        throw error;
      }
    };
    wrapped[key] = method.responseStream
      ? async function* (request: unknown, context: CallContext) {
          try {
            yield* run(request, await authenticate(context)) as AsyncIterable<unknown>;
          } catch (error) {
            throw failure(error, path, context.signal, logger);
          }
        }
      : async (request: unknown, context: CallContext) => {
          try {
            return await run(request, await authenticate(context));
          } catch (error) {
            throw failure(error, path, context.signal, logger);
          }
        };
  }
  return wrapped as ServiceImplementation<Service>;
}
