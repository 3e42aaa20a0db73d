/**
 * Every gRPC call is authenticated and gets `caller` in its context; every failure becomes a
 * gRPC status. Both through the services' one shape, withCaller (@warden/service-kit/grpc:
 * wrapped methods, not middleware, which keeps a Check one async function). Refusals are
 * logged with the method, the peer and the key id (never the secret).
 */
import type { ServiceImplementation, TsProtoServiceDefinition } from 'nice-grpc';
import type { Logger } from 'pino';
import { UnauthenticatedError } from '@warden/errors';
import { withCaller, type CallerContext as KitCallerContext } from '@warden/service-kit/grpc';
import { keyIdOf } from '../../domain/api-key-format.js';
import type { Authenticator } from '../../usecases/authenticate.js';
import type { Caller } from '../../domain/caller.js';

export type CallerContext = KitCallerContext<Caller>;

/** `implementation` with every method authenticated first (UNAUTHENTICATED when that fails). */
export function authenticated<Service extends TsProtoServiceDefinition>(
  definition: Service,
  implementation: ServiceImplementation<Service, CallerContext>,
  authenticator: Authenticator,
  logger: Logger,
): ServiceImplementation<Service> {
  return withCaller<Service, Caller>(definition, implementation, {
    logger,
    async identify(context, method) {
      const authorization = context.metadata.get('authorization');
      try {
        return await authenticator.authenticate({ authorization, peer: context.peer });
      } catch (error) {
        if (error instanceof UnauthenticatedError) {
          const token = /^Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1];
          logger.warn({ method, peer: context.peer, keyId: token ? keyIdOf(token) : undefined, reason: error.message }, 'unauthenticated call refused');
        }
        throw error;
      }
    },
  });
}
