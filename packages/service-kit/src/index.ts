/**
 * @warden/service-kit: what every Warden service process shares. First what a service's
 * main.ts and composition root use, then the pieces its adapters and API layer use.
 * The gRPC helpers are `@warden/service-kit/grpc` (they load nice-grpc).
 */
export { runService, STOP_MARGIN_MS, type ServiceConfig, type ServiceDefinition, type RunningService } from './run-service.js';
export { loadConfig, knownSettings, fileSecret, setting, ConfigError, DEFAULT_SHUTDOWN_GRACE_MS, type LoadOptions, type SettingsSchema } from './config.js';
export { startTelemetry, tracingEnabled, traceFields, createStoreSpan, type Telemetry, type TelemetryOptions, type StoreSpan } from './telemetry.js';
export { httpErrorHandler, httpFailureOf, type ErrorBody, type HttpErrorOptions, type HttpFailure } from './http-errors.js';
export { encodePageToken, decodePageToken } from './page-token.js';
export { createBackoff, deadline, delay, createInstruments, type Backoff, type BackoffOptions } from '@warden/client-kit';
