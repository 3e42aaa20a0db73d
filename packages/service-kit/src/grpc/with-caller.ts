/**
 * The one shape of the services' gRPC cross-cutting work: every method of an implementation
 * first identifies its caller and adds `caller` to its context, and its failures leave as
 * gRPC statuses (errors.ts).
 *
 * Wrapped methods rather than two nice-grpc middlewares: a middleware is one more async
 * generator, and a copy of the context, on every call (a Check included); here a unary call
 * is one async function. The context is the call's own object (nice-grpc makes one per
 * call), so `caller` is set on it. Middleware that must see every method of a server
 * (tracing, metrics) still goes in `server.use(...)`, outside these.
 */
import type { CallContext, ServiceImplementation, TsProtoServiceDefinition } from 'nice-grpc';
import type { Logger } from 'pino';
import { grpcFailure, type FieldName } from './errors.js';

export interface CallerContext<Caller> {
  readonly caller: Caller;
}

export interface WithCallerOptions<Caller> {
  /** Who is calling, from the call's metadata and peer; throws UnauthenticatedError to refuse. */
  readonly identify: (context: CallContext, method: string) => Caller | Promise<Caller>;
  readonly logger: Logger;
  /** Renames an invalid argument's field for the wire (proto field names). */
  readonly fieldName?: FieldName | undefined;
}

type Method = (request: unknown, context: CallContext & CallerContext<unknown>) => unknown;

export function withCaller<Service extends TsProtoServiceDefinition, Caller>(
  definition: Service,
  implementation: ServiceImplementation<Service, CallerContext<Caller>>,
  options: WithCallerOptions<Caller>,
): ServiceImplementation<Service> {
  const { identify, logger, fieldName } = options;
  const wrapped: Record<string, unknown> = {};
  for (const [key, method] of Object.entries(definition.methods)) {
    const run = (implementation as unknown as Record<string, Method>)[key]!.bind(implementation);
    const path = `/${definition.fullName}/${method.name}`;
    const withCallerOf = async (context: CallContext): Promise<CallContext & CallerContext<Caller>> => {
      const extended = context as CallContext & { caller: Caller };
      extended.caller = await identify(context, path);
      return extended;
    };
    wrapped[key] = method.responseStream
      ? async function* (request: unknown, context: CallContext) {
          try {
            yield* run(request, await withCallerOf(context)) as AsyncIterable<unknown>;
          } catch (error) {
            throw grpcFailure(error, path, context.signal, logger, fieldName);
          }
        }
      : async (request: unknown, context: CallContext) => {
          try {
            return await run(request, await withCallerOf(context));
          } catch (error) {
            throw grpcFailure(error, path, context.signal, logger, fieldName);
          }
        };
  }
  return wrapped as ServiceImplementation<Service>;
}
