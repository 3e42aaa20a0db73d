/** The authz service's metrics and spans, through @opentelemetry/api only. */
import { metrics, SpanStatusCode, trace, type Attributes, type Meter, type MeterProvider } from '@opentelemetry/api';

export const tracer = trace.getTracer('warden-authz', '0.1.0');

/**
 * The metrics API has no proxy: instruments made before the process registers its
 * MeterProvider would stay no-ops. So they are made per registered provider (a
 * global lookup per call; the instruments themselves are cached).
 */
function makeInstruments(meter: Meter) {
  return {
    meter,
    /** Time from a check's arrival to its decision, in seconds (engine + store or cache). */
    checkDuration: meter.createHistogram('warden.authz.check.duration', {
      description: 'Time to decide a check (batches: per batch)',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1] },
    }),
    /** Decisions by result (ALLOW, DENY, REQUIRES_APPROVAL) and reason code. */
    decisionsTotal: meter.createCounter('warden.authz.decisions', { description: 'Decisions by result and reason' }),
  };
}

let cached: { provider: MeterProvider; instruments: ReturnType<typeof makeInstruments> } | undefined;

export function instruments(): ReturnType<typeof makeInstruments> {
  const provider = metrics.getMeterProvider();
  if (cached === undefined || cached.provider !== provider) {
    cached = { provider, instruments: makeInstruments(provider.getMeter('warden-authz', '0.1.0')) };
  }
  return cached.instruments;
}

/** Runs `work` in a child span named like a store call, e.g. `postgres view`. */
export async function storeSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T> {
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await work();
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}
