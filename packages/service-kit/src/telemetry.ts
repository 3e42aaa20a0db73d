/**
 * OpenTelemetry for a Warden service process, through @opentelemetry/sdk-node:
 *  - metrics: the global MeterProvider, read by a Prometheus exporter served at `/metrics`
 *    on its own host:port (404 elsewhere);
 *  - traces, only when spans go somewhere (an OTLP/HTTP endpoint, or a test's processors):
 *    the global TracerProvider, async-hooks context, W3C trace-context propagation, and the
 *    HTTP, pg and ioredis instrumentations. gRPC spans come from nice-grpc-opentelemetry's
 *    middleware, which the services add when `tracingEnabled()` (the OpenTelemetry gRPC
 *    instrumentation would make a second server span per call).
 *
 * Invariants: without an exporter no context manager, propagator, tracer provider or
 * instrumentation is registered — they cost CPU on every call (authz measured ~200 µs per
 * Check) and would record nothing. The instrumentations patch modules as they load: call
 * `startTelemetry` before importing the code that loads pg, ioredis or fastify (main.ts
 * imports its app afterwards). The rest of the code uses `@opentelemetry/api` only.
 */
import { createServer, type Server } from 'node:http';
import { register } from 'node:module';
import { context, metrics, propagation, ProxyTracerProvider, SpanKind, SpanStatusCode, trace, type Attributes, type ContextManager, type Tracer } from '@opentelemetry/api';
import type { tracing } from '@opentelemetry/sdk-node';

export interface TelemetryOptions {
  /** `service.name` of the resource (`warden-authz`). */
  readonly serviceName: string;
  /** `service.version`. @defaultValue '0.1.0' */
  readonly serviceVersion?: string | undefined;
  /** Where to serve `/metrics` (port 0: any free port); undefined: no Prometheus endpoint. */
  readonly metrics?: { readonly host: string; readonly port: number } | undefined;
  /** OTLP/HTTP traces endpoint (OTEL_EXPORTER_OTLP_ENDPOINT); undefined: no spans are exported. */
  readonly otlpEndpoint?: string | undefined;
  /** More span processors (tests); any turns tracing on. */
  readonly spanProcessors?: readonly tracing.SpanProcessor[] | undefined;
}

export interface Telemetry {
  /** `http://host:port/metrics`, when served. */
  readonly metricsUrl: string | undefined;
  /** Whether spans are made and exported. */
  readonly tracing: boolean;
  shutdown(): Promise<void>;
}

/** Modules the instrumentations patch; only these go through the ESM loader hook. */
const INSTRUMENTED_MODULES = ['pg', 'ioredis', 'http', 'https'];
/** Requests that make no span: scrapes and probes. */
const UNTRACED_PATHS = new Set(['/metrics', '/healthz', '/readyz']);
let hookRegistered = false;

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  // Loaded only here: the SDK is large, and a process that never starts telemetry (the CLI,
  // a use-case test importing this package) should not pay for it.
  const { NodeSDK, core, resources, tracing: sdkTracing } = await import('@opentelemetry/sdk-node');
  const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
  const prometheus = new PrometheusExporter({ preventServerStart: true });

  const processors: tracing.SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.otlpEndpoint !== undefined) {
    const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
    // The BatchSpanProcessor reads OTEL_BSP_* (schedule delay, queue size) from the environment.
    processors.push(new sdkTracing.BatchSpanProcessor(new OTLPTraceExporter({ url: `${options.otlpEndpoint.replace(/\/$/, '')}/v1/traces` })));
  }
  const tracingOn = processors.length > 0;
  const instrumentations = tracingOn ? await loadInstrumentations() : [];

  const sdk = new NodeSDK({
    resource: resources.resourceFromAttributes({ 'service.name': options.serviceName, 'service.version': options.serviceVersion ?? '0.1.0' }),
    autoDetectResources: false,
    metricReaders: [prometheus],
    // Explicit and empty: no OTLP log or metric exporter from OTEL_* defaults.
    logRecordProcessors: [],
    spanProcessors: processors,
    instrumentations,
    // Tracing off: no context manager (NodeSDK's `null`: register none) and no propagator.
    ...(tracingOn ? { textMapPropagator: new core.W3CTraceContextPropagator() } : { contextManager: null as unknown as ContextManager, textMapPropagator: null }),
  });
  sdk.start();

  let server: Server | undefined;
  let metricsUrl: string | undefined;
  if (options.metrics !== undefined) {
    const { host, port } = options.metrics;
    const listening = createServer((request, response) => {
      if (request.method === 'GET' && request.url?.split('?')[0] === '/metrics') prometheus.getMetricsRequestHandler(request, response);
      else response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: metrics are at /metrics\n');
    });
    server = listening;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(port, host, () => resolve());
    });
    const address = listening.address() as { port: number };
    metricsUrl = `http://${host.includes(':') ? `[${host}]` : host}:${address.port}/metrics`;
  }

  return {
    metricsUrl,
    tracing: tracingOn,
    async shutdown() {
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await sdk.shutdown().catch(() => undefined);
      for (const instrumentation of instrumentations) instrumentation.disable();
      trace.disable();
      metrics.disable();
      context.disable();
      propagation.disable();
    },
  };
}

async function loadInstrumentations() {
  // ESM imports (`import pg from 'pg'`, `node:http`) reach the instrumentations only through
  // the loader hook (import-in-the-middle); CommonJS requires through require-in-the-middle.
  if (!hookRegistered) {
    register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include: INSTRUMENTED_MODULES } });
    hookRegistered = true;
  }
  const [{ HttpInstrumentation }, { PgInstrumentation }, { IORedisInstrumentation }] = await Promise.all([
    import('@opentelemetry/instrumentation-http'),
    import('@opentelemetry/instrumentation-pg'),
    import('@opentelemetry/instrumentation-ioredis'),
  ]);
  return [
    // Child spans only: the relay's outbox polls, the cache heartbeat and background checkpoints make no root traces.
    new HttpInstrumentation({ requireParentforOutgoingSpans: true, ignoreIncomingRequestHook: (request) => UNTRACED_PATHS.has(request.url?.split('?')[0] ?? '') }),
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];
}

/**
 * Whether a tracing SDK is registered (the API's global provider has a delegate). Callers
 * leave per-call span middleware out when false: it would cost CPU and record nothing.
 */
export function tracingEnabled(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('@warden/service-kit') !== undefined;
}

/** For pino's `mixin`: the active span's ids on every log line, so a log line finds its trace. */
export function traceFields(): Record<string, string> {
  const span = trace.getActiveSpan();
  if (span === undefined) return {};
  const { traceId, spanId, traceFlags } = span.spanContext();
  return { trace_id: traceId, span_id: spanId, trace_flags: `0${traceFlags.toString(16)}` };
}

/** Runs `work` in a span; the attributes follow the database conventions (`db.system.name`, `db.operation.name`…). */
export type StoreSpan = <T>(name: string, attributes: Attributes, work: () => Promise<T>) => Promise<T>;

function errorType(error: unknown): string {
  const code = typeof error === 'object' && error !== null && 'code' in error ? error.code : undefined;
  if (typeof code === 'string' && code !== '') return code;
  return error instanceof Error ? error.name : 'unknown';
}

/**
 * The one store-call span of the services: a client span, child of the active one (the
 * RPC's), named by the caller (`SELECT events`, `postgres grant view`). A failure sets
 * `error.type` (the driver's code, else the error's name), `db.response.status_code` when
 * that code is a numeric server code (ClickHouse), records the exception and marks the span.
 */
export function createStoreSpan(tracer: Tracer): StoreSpan {
  return (name, attributes, work) =>
    tracer.startActiveSpan(name, { kind: SpanKind.CLIENT, attributes }, async (span) => {
      try {
        return await work();
      } catch (error) {
        const type = errorType(error);
        span.setAttribute('error.type', type);
        if (/^\d+$/.test(type)) span.setAttribute('db.response.status_code', type);
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
        throw error;
      } finally {
        span.end();
      }
    });
}
