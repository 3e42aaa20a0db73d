#!/usr/bin/env node
/**
 * Process entry of the audit service. Defaults: chdb data under ./data/audit
 * (AUDIT_DATA_DIR), gRPC on 127.0.0.1:50052. runService (@warden/service-kit):
 * configuration (exit 2 listing every problem), telemetry (Prometheus `/metrics` on
 * AUDIT_METRICS_HOST:AUDIT_METRICS_PORT, traces over OTLP/HTTP when
 * OTEL_EXPORTER_OTLP_ENDPOINT is set), the app; SIGINT/SIGTERM drain calls, replay the
 * spool if possible, write a last checkpoint, close (bounded by AUDIT_SHUTDOWN_GRACE_MS).
 */
import { runService } from '@warden/service-kit';
import { loadConfig } from './config.js';

await runService({
  name: 'warden-audit',
  loadConfig: () => loadConfig(process.env),
  async start(config, logger) {
    // Imported only now, after telemetry: the instrumentations patch modules as they load,
    // and nice-grpc-opentelemetry takes its tracer when loaded.
    const { startAuditApp } = await import('./app.js');
    return startAuditApp(config, logger);
  },
});
