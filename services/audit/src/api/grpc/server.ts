/**
 * The gRPC server: AuditService + health, with a server span per call (OpenTelemetry,
 * as authz) and Append metrics as middleware; the caller and the error mapping through
 * the services' one shape, withCaller (@warden/service-kit/grpc), with proto field names
 * in INVALID_ARGUMENT messages.
 */
import { createServer, type Server } from 'nice-grpc';
import { openTelemetryServerMiddleware } from 'nice-grpc-opentelemetry';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { AuditServiceDefinition } from '@warden/proto/audit/v1';
import type { Logger } from 'pino';
import type { Caller } from '../../domain/ports.js';
import { withCaller } from '@warden/service-kit/grpc';
import { tracingEnabled } from '@warden/service-kit';
import { identify, type IdentityOptions } from './identity.js';
import { createAuditServiceImpl, type AuditServiceDeps } from './audit-service.js';
import { protoFieldName } from './convert.js';
import { metricsMiddleware } from './metrics-middleware.js';

export type AuditGrpcServer = { readonly server: Server; readonly health: HealthState };

export function createAuditGrpcServer(deps: AuditServiceDeps & { readonly identity: IdentityOptions; readonly logger: Logger }): AuditGrpcServer {
  const health = HealthState();
  // Spans per RPC only when a tracing SDK is registered (as authz): a no-op tracer still costs per call.
  const bare = createServer();
  const server = (tracingEnabled() ? bare.use(openTelemetryServerMiddleware()) : bare).use(metricsMiddleware());
  server.add(
    AuditServiceDefinition,
    withCaller<typeof AuditServiceDefinition, Caller | undefined>(AuditServiceDefinition, createAuditServiceImpl(deps), {
      logger: deps.logger,
      identify: (context) => identify(context, deps.identity),
      fieldName: protoFieldName,
    }),
  );
  server.add(HealthDefinition, HealthServiceImpl(health));
  return { server, health };
}
