/**
 * OpenTelemetry for a Warden service process (audit, and authz through
 * `@warden/audit/telemetry`): a global MeterProvider read by a Prometheus exporter served
 * at `/metrics` (AUDIT_METRICS_* or AUTHZ_METRICS_*), a global
 * TracerProvider with async-hooks context and W3C trace-context propagation — only when
 * spans are exported (OTLP/HTTP to OTEL_EXPORTER_OTLP_ENDPOINT, the standard variable).
 * The rest of the code uses `@opentelemetry/api` only.
 */
import { createServer, type Server } from 'node:http';
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  readonly serviceName: string;
  /** Where to serve `/metrics`; undefined: no Prometheus endpoint. */
  readonly metrics?: { readonly host: string; readonly port: number } | undefined;
  /** OTLP/HTTP traces endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); undefined: spans are made but not exported. */
  readonly otlpEndpoint?: string | undefined;
  /** Extra span processors (tests). */
  readonly spanProcessors?: readonly SpanProcessor[] | undefined;
}

export interface Telemetry {
  /** `http://host:port/metrics`, when served. */
  readonly metricsUrl: string | undefined;
  shutdown(): Promise<void>;
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName, [ATTR_SERVICE_VERSION]: '0.1.0' });

  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const meterProvider = new MeterProvider({ resource, readers: [prometheus] });
  metrics.setGlobalMeterProvider(meterProvider);

  // Tracing is on only when spans go somewhere (authz's rule): the context manager and a
  // span per RPC and store call cost CPU on every Append (authz measured ~200 µs per Check).
  // Without an exporter the tracer stays the API's no-op.
  const processors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.otlpEndpoint !== undefined) {
    processors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })));
  }
  const tracerProvider = processors.length > 0 ? new BasicTracerProvider({ resource, spanProcessors: processors }) : undefined;
  if (tracerProvider !== undefined) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(tracerProvider);
  }

  let server: Server | undefined;
  let metricsUrl: string | undefined;
  if (options.metrics !== undefined) {
    server = createServer((request, response) => {
      if (request.method === 'GET' && request.url?.split('?')[0] === '/metrics') prometheus.getMetricsRequestHandler(request, response);
      else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
    });
    const { host, port } = options.metrics;
    await new Promise<void>((resolve, reject) => {
      server!.once('error', reject);
      server!.listen(port, host, () => resolve());
    });
    const address = server.address() as { port: number };
    metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/metrics`;
  }

  return {
    metricsUrl,
    async shutdown() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await tracerProvider?.shutdown().catch(() => undefined);
      await meterProvider.shutdown().catch(() => undefined);
      trace.disable();
      metrics.disable();
      context.disable();
      propagation.disable();
    },
  };
}

/** For pino: the active span's ids on every log line. */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}
