#!/usr/bin/env node
/** Process entry: `node dist/main.js [--world FILE]`. Stops cleanly on SIGINT/SIGTERM. */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { startTelemetry, traceFields } from './telemetry.js';
import { ConfigError, loadConfig } from './config.js';

const { values } = parseArgs({ options: { world: { type: 'string' } }, strict: true });
const env = { ...process.env };
if (values.world !== undefined) env['AUTHZ_WORLD_FILE'] = values.world;

let config;
try {
  config = loadConfig(env);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`warden authz: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

// Logs carry the active span's trace id (OpenTelemetry), so a log line finds its trace.
const logger = pino({ level: config.logLevel, base: { service: 'warden-authz' }, mixin: traceFields });
const started = performance.now();
try {
  // Telemetry is the process's: global providers, one /metrics endpoint.
  const telemetry = await startTelemetry({
    serviceName: 'warden-authz',
    metrics: { host: config.telemetry.metricsHost, port: config.telemetry.metricsPort },
    otlpEndpoint: config.telemetry.otlpEndpoint,
  });
  if (telemetry.metricsUrl !== undefined) logger.info({ url: telemetry.metricsUrl }, 'metrics served');
  // Imported only now: libraries that take their tracer when loaded (nice-grpc-opentelemetry,
  // a CommonJS module with its own copy of the API) must load after the providers are registered.
  const { startAuthzApp } = await import('./app.js');
  const app = await startAuthzApp(config, logger);
  logger.info({ startupMs: Math.round(performance.now() - started) }, 'ready');
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
} catch (error) {
  logger.fatal({ err: error }, 'authz failed to start');
  process.exit(1);
}
