/**
 * Delivery metrics (per sink, attribute `warden.sink`), observed from the running
 * deliveries on each collection, on the registered MeterProvider (as instruments.ts):
 *  - warden.audit.delivery.pending  {event}  events logged and not yet delivered;
 *  - warden.audit.delivery.lag      s        age of the oldest undelivered event (0: caught up);
 *  - warden.audit.delivery.stalled  {org}    organizations stopped by a non-retryable answer;
 *  - warden.audit.delivery.events   {event}  events delivered since start (counter);
 *  - warden.audit.delivery.failures {request} failed sends since start (counter).
 */
import type { ObservableResult } from '@opentelemetry/api';
import { createInstruments } from '@warden/service-kit';
import type { Delivery } from './usecases/delivery.js';

const running = new Set<Delivery>();

function each(result: ObservableResult, value: (d: Delivery) => number): void {
  for (const delivery of running) result.observe(value(delivery), { 'warden.sink': delivery.name });
}

const instruments = createInstruments('warden-audit-delivery', '0.1.0', (meter) => {
  meter
    .createObservableGauge('warden.audit.delivery.pending', { description: 'Audit events logged and not yet delivered to the sink', unit: '{event}' })
    .addCallback((r) => each(r, (d) => d.status().pendingEvents));
  meter
    .createObservableGauge('warden.audit.delivery.lag', { description: 'Seconds since the oldest event not yet delivered to the sink was logged (0: caught up)', unit: 's' })
    .addCallback((r) => each(r, (d) => d.status().lagSeconds));
  meter
    .createObservableGauge('warden.audit.delivery.stalled', { description: 'Organizations whose delivery to the sink stopped on a non-retryable answer (until restart)', unit: '{org}' })
    .addCallback((r) => each(r, (d) => d.status().stalled));
  meter
    .createObservableCounter('warden.audit.delivery.events', { description: 'Audit events the sink acknowledged', unit: '{event}' })
    .addCallback((r) => each(r, (d) => d.delivered));
  meter
    .createObservableCounter('warden.audit.delivery.failures', { description: 'Sends to the sink that failed (each is retried, or stalls the organization)', unit: '{request}' })
    .addCallback((r) => each(r, (d) => d.failures));
  return meter;
});

/** Makes the delivery metrics read `delivery` until the returned undo is called. */
export function observeDelivery(delivery: Delivery): () => void {
  running.add(delivery);
  instruments();
  return () => {
    running.delete(delivery);
  };
}
