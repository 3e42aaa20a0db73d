/**
 * Metric instruments on the globally registered MeterProvider, through @opentelemetry/api only.
 *
 * The metrics API has no proxy provider (traces have one): a meter taken before the host
 * registers its SDK is the no-op meter for good, so instruments made at import time record
 * nothing when the provider comes later (a host's usual order: import its libraries, then
 * start its SDK). These are made on first use and made again when another provider is
 * registered: one global lookup and one comparison per call; the instruments are cached.
 */
import { metrics, type Meter, type MeterProvider } from '@opentelemetry/api';

/**
 * `make(meter)` on the registered provider's meter `scope`@`version`, remade when the
 * registered provider changes. Observable callbacks added in `make` stay on the provider
 * they were made for.
 */
export function createInstruments<T>(scope: string, version: string, make: (meter: Meter) => T): () => T {
  let cached: { readonly provider: MeterProvider; readonly value: T } | undefined;
  return () => {
    const provider = metrics.getMeterProvider();
    if (cached === undefined || cached.provider !== provider) cached = { provider, value: make(provider.getMeter(scope, version)) };
    return cached.value;
  };
}
