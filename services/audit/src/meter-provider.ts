/**
 * Instruments on the globally registered MeterProvider, through @opentelemetry/api only.
 *
 * The metrics API has no proxy provider: instruments made before the process registers its
 * SDK would stay no-ops. So they are made on first use after a provider is registered, and
 * made again if another one is (a global lookup per call; the instruments are cached). The
 * Warden services and the SDK's clients all get theirs this way.
 */
import { metrics, type Meter, type MeterProvider } from '@opentelemetry/api';

export function perMeterProvider<T>(name: string, version: string, make: (meter: Meter) => T): () => T {
  let cached: { readonly provider: MeterProvider; readonly value: T } | undefined;
  return () => {
    const provider = metrics.getMeterProvider();
    if (cached === undefined || cached.provider !== provider) cached = { provider, value: make(provider.getMeter(name, version)) };
    return cached.value;
  };
}
