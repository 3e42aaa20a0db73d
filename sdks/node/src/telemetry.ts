/**
 * OpenTelemetry through @opentelemetry/api only: the host application picks the SDK and
 * exporters. The instruments follow the MeterProvider the host registers, also when it
 * registers it after importing this package (createInstruments, @warden/client-kit); the
 * tracer is the API's proxy, which follows the registered TracerProvider by itself.
 */
import { trace } from '@opentelemetry/api';
import { createInstruments } from '@warden/client-kit';

export const INSTRUMENTATION = '@warden/sdk';
export const tracer = trace.getTracer(INSTRUMENTATION, '0.1.0');

export const checkInstruments = createInstruments(INSTRUMENTATION, '0.1.0', (meter) => ({
  checkDuration: meter.createHistogram('warden.check.duration', {
    description: 'Duration of Warden checks as the application sees them (cache hits included)',
    unit: 's',
  }),
  decisions: meter.createCounter('warden.check.decisions', { description: 'Warden decisions by result' }),
  cacheRequests: meter.createCounter('warden.cache.requests', { description: 'Decision cache lookups by result (hit, miss)' }),
}));
