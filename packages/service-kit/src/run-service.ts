/**
 * The one process entry of the Warden services (their main.ts):
 *   configuration → logger → telemetry → start → `ready`; SIGTERM/SIGINT → close → exit 0.
 *
 * Exit codes: 0 after a clean close; 1 when starting or closing failed, or closing outlived
 * its bound; 2 for a configuration error (the message lists every problem: nothing was
 * started). The close after a signal is bounded: the service drains calls within
 * `shutdownGraceMs` (its own close does that), and the process exits anyway
 * `STOP_MARGIN_MS` later (pools, embedded Postgres, last checkpoints). A second signal
 * exits at once.
 */
import { pino, type Logger } from 'pino';
import { ConfigError } from './config.js';
import { startTelemetry, traceFields, type Telemetry } from './telemetry.js';

/** What runService needs of a service's configuration (both services' Config have it). */
export interface ServiceConfig {
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  readonly telemetry: { readonly metricsHost: string; readonly metricsPort: number; readonly otlpEndpoint: string | undefined };
}

export interface RunningService {
  /** Stops the service: drain calls (within the grace period), then close what it opened. */
  close(): Promise<void>;
}

export interface ServiceDefinition<Config extends ServiceConfig> {
  /** The process's name in logs, telemetry (`service.name`) and messages: `warden-authz`. */
  readonly name: string;
  /** Reads the configuration; throws ConfigError listing every problem. */
  readonly loadConfig: () => Config;
  /**
   * Starts the service. Import the app here (`await import('./app.js')`), not at the top of
   * main.ts: the instrumentations must be registered before pg, ioredis or fastify load.
   */
  readonly start: (config: Config, logger: Logger) => Promise<RunningService>;
}

/** After the grace period, how long closing may still take before the process exits anyway. */
export const STOP_MARGIN_MS = 5_000;

/** Runs the service until SIGTERM or SIGINT; never returns normally (the process exits). */
export async function runService<Config extends ServiceConfig>(service: ServiceDefinition<Config>): Promise<void> {
  let config: Config;
  try {
    config = service.loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) exitOnConfigError(service.name, error);
    throw error;
  }
  const logger = pino({ level: config.logLevel, base: { service: service.name }, mixin: traceFields });
  const started = performance.now();
  let telemetry: Telemetry | undefined;
  let running: RunningService;
  try {
    telemetry = await startTelemetry({
      serviceName: service.name,
      metrics: { host: config.telemetry.metricsHost, port: config.telemetry.metricsPort },
      otlpEndpoint: config.telemetry.otlpEndpoint,
    });
    if (telemetry.metricsUrl !== undefined) logger.info({ url: telemetry.metricsUrl }, 'metrics served');
    running = await service.start(config, logger);
  } catch (error) {
    await telemetry?.shutdown().catch(() => undefined);
    if (error instanceof ConfigError) exitOnConfigError(service.name, error);
    logger.fatal({ err: error }, `${service.name} failed to start`);
    process.exit(1);
  }
  logger.info({ startupMs: Math.round(performance.now() - started) }, 'ready');

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const boundMs = config.shutdownGraceMs + STOP_MARGIN_MS;
    setTimeout(() => {
      logger.error({ boundMs }, 'shutdown did not finish in time; exiting');
      process.exit(1);
    }, boundMs);
    running.close().then(
      async () => {
        await telemetry?.shutdown().catch(() => undefined);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

function exitOnConfigError(name: string, error: ConfigError): never {
  process.stderr.write(`${name}: ${error.message}\n`);
  process.exit(2);
}
