/** OpenTelemetry through @opentelemetry/api only: the host application picks the SDK and exporters. */
import { metrics, trace } from '@opentelemetry/api';

export const INSTRUMENTATION = '@warden/sdk';
export const tracer = trace.getTracer(INSTRUMENTATION, '0.1.0');
const meter = metrics.getMeter(INSTRUMENTATION, '0.1.0');

export const checkDuration = meter.createHistogram('warden.check.duration', {
  description: 'Duration of Warden checks as the application sees them (cache hits included)',
  unit: 's',
});
export const decisions = meter.createCounter('warden.check.decisions', { description: 'Warden decisions by result' });
export const cacheRequests = meter.createCounter('warden.cache.requests', { description: 'Decision cache lookups by result (hit, miss)' });
export { meter };
