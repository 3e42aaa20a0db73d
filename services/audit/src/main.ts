#!/usr/bin/env node
/**
 * Composition root of the audit service. Defaults: chdb data under
 * ./data/audit (AUDIT_DATA_DIR), gRPC on 127.0.0.1:50052. SIGINT/SIGTERM
 * drain calls, replay the spool if possible, write a last checkpoint, close.
 * Telemetry (as authz): Prometheus `/metrics` on AUDIT_METRICS_HOST:AUDIT_METRICS_PORT,
 * traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set.
 */
import { pino } from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { startTelemetry, traceFields } from './telemetry.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Logs carry the active span's trace id (OpenTelemetry), so a log line finds its trace.
  const logger = pino({ level: config.logLevel, name: 'warden-audit', mixin: traceFields });
  // Telemetry is the process's: global providers, one /metrics endpoint.
  const telemetry = await startTelemetry({
    serviceName: 'warden-audit',
    metrics: { host: config.telemetry.metricsHost, port: config.telemetry.metricsPort },
    otlpEndpoint: config.telemetry.otlpEndpoint,
  });
  if (telemetry.metricsUrl !== undefined) logger.info({ url: telemetry.metricsUrl }, 'metrics served');
  // Imported only now: libraries that take their tracer when loaded (nice-grpc-opentelemetry,
  // a CommonJS module with its own copy of the API) must load after the providers are registered.
  const { startAuditApp } = await import('./app.js');
  let app;
  try {
    app = await startAuditApp(config, logger);
  } catch (error) {
    await telemetry.shutdown();
    throw error;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    app.close().then(
      async () => {
        await telemetry.shutdown();
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`warden-audit: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
