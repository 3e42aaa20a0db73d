/**
 * @warden/service-kit/grpc: the gRPC side of the kit (it loads nice-grpc, hence its own entry).
 */
export { withCaller, type CallerContext, type WithCallerOptions } from './with-caller.js';
export { grpcFailure, toServerError, type FieldName } from './errors.js';
