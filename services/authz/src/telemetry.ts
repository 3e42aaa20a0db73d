/**
 * OpenTelemetry for the authz process: the same process-level setup as the audit service
 * (Prometheus `/metrics` on AUTHZ_METRICS_HOST:AUTHZ_METRICS_PORT; tracing only when spans
 * are exported to OTEL_EXPORTER_OTLP_ENDPOINT), shared from `@warden/audit/telemetry`,
 * which authz already depends on. The rest of the code uses `@opentelemetry/api` only.
 */
export { startTelemetry, traceFields, type Telemetry, type TelemetryOptions } from '@warden/audit/telemetry';
