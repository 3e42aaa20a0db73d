/**
 * The gRPC server: AuditService + health, with a server span per call (OpenTelemetry,
 * as authz), Append metrics, and the error and caller middlewares.
 */
import { createServer, type Server } from 'nice-grpc';
import { openTelemetryServerMiddleware } from 'nice-grpc-opentelemetry';
import { HealthDefinition, HealthServiceImpl, HealthState } from 'nice-grpc-server-health';
import { AuditServiceDefinition } from '@warden/proto/audit/v1';
import type { Logger } from 'pino';
import { callerMiddleware, type IdentityOptions } from './caller-middleware.js';
import { createAuditServiceImpl, type AuditServiceDeps } from './audit-service.js';
import { errorsMiddleware } from './errors-middleware.js';
import { metricsMiddleware } from './metrics-middleware.js';

export type AuditGrpcServer = { readonly server: Server; readonly health: HealthState };

export function createAuditGrpcServer(deps: AuditServiceDeps & { readonly identity: IdentityOptions; readonly logger: Logger }): AuditGrpcServer {
  const health = HealthState();
  const server = createServer()
    .use(openTelemetryServerMiddleware())
    .use(metricsMiddleware())
    .use(errorsMiddleware(deps.logger))
    .use(callerMiddleware(deps.identity));
  server.add(AuditServiceDefinition, createAuditServiceImpl(deps));
  server.add(HealthDefinition, HealthServiceImpl(health));
  return { server, health };
}
