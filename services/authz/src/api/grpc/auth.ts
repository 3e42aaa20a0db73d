/**
 * nice-grpc middleware: authenticates every call and adds `caller` to its context.
 * Failures are logged with the method, the peer and the key id (never the secret).
 */
import type { CallContext, ServerMiddlewareCall } from 'nice-grpc';
import type { Logger } from 'pino';
import { keyIdOf } from '../../auth/api-keys.js';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Caller } from '../../auth/caller.js';
import { UnauthenticatedError } from '../../domain/errors.js';

export interface CallerContext {
  readonly caller: Caller;
}

export function authMiddleware(authenticator: Authenticator, logger: Logger) {
  return async function* auth<Request, Response>(
    call: ServerMiddlewareCall<Request, Response, CallerContext>,
    context: CallContext,
  ): AsyncGenerator<Response, Response | void, undefined> {
    const authorization = context.metadata.get('authorization');
    let caller: Caller;
    try {
      caller = await authenticator.authenticate({ authorization, peer: context.peer });
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        const token = /^Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1];
        logger.warn({ method: call.method.path, peer: context.peer, keyId: token ? keyIdOf(token) : undefined, reason: error.message }, 'unauthenticated call refused');
      }
      throw error;
    }
    return yield* call.next(call.request, { ...context, caller });
  };
}
