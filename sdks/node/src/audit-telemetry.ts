/**
 * The audit client's metrics, through @opentelemetry/api only: the host application
 * registers the SDK and its exporters; this package never starts a provider.
 *
 * They are made on the provider the host registers (createInstruments, from
 * @warden/client-kit), as the Warden services' are. The gauges read every open audit
 * client of the process.
 */
import type { Meter, ObservableResult } from '@opentelemetry/api';
import { createInstruments } from '@warden/client-kit';
import { INSTRUMENTATION } from './telemetry.js';

/** What the gauges read from one open audit client. */
export interface AuditClientGauges {
  /** The producer name: the gauges' `warden.producer` attribute. */
  readonly producer: string;
  /** Events recorded and not yet answered by the audit service. */
  queueLength(): number;
  /** Events in the on-disk spool; undefined when the client has no spool. */
  spoolDepth(): number | undefined;
}

const clients = new Set<AuditClientGauges>();

function observeByProducer(result: ObservableResult, value: (client: AuditClientGauges) => number | undefined): void {
  const byProducer = new Map<string, number>();
  for (const client of clients) {
    const v = value(client);
    if (v !== undefined) byProducer.set(client.producer, (byProducer.get(client.producer) ?? 0) + v);
  }
  for (const [producer, v] of byProducer) result.observe(v, { 'warden.producer': producer });
}

function makeInstruments(meter: Meter) {
  meter
    .createObservableGauge('warden.audit.client.queue.length', {
      description: 'Audit events recorded by the client and not yet answered by the audit service',
      unit: '{event}',
    })
    .addCallback((result) => observeByProducer(result, (client) => client.queueLength()));
  meter
    .createObservableGauge('warden.audit.client.spool.depth', {
      description: "Audit events in the client's on-disk spool (clients with a spoolDir)",
      unit: '{event}',
    })
    .addCallback((result) => observeByProducer(result, (client) => client.spoolDepth()));
  return {
    /** Events per Append attempt: `sent` (the service answered), `failed` (the call failed; the events stay queued and are retried). */
    clientEvents: meter.createCounter('warden.audit.client.events', {
      description: 'Audit events the client sent (the service answered) or failed to send (retried later)',
      unit: '{event}',
    }),
    /** Kept from earlier releases: the same count as `warden.audit.client.queue.length`, as an up-down counter. */
    queueDepth: meter.createUpDownCounter('warden.audit.queue.depth', { description: 'Audit events recorded but not yet acknowledged by the audit service' }),
    /** Kept from earlier releases: the service's answer per event. */
    shipped: meter.createCounter('warden.audit.events', { description: 'Audit events by outcome (accepted, duplicate, refused)' }),
  };
}

export const auditInstruments = createInstruments(INSTRUMENTATION, '0.1.0', makeInstruments);

/** Makes the gauges read `client` until the returned function is called (at close). */
export function observeAuditClient(client: AuditClientGauges): () => void {
  clients.add(client);
  auditInstruments();
  return () => {
    clients.delete(client);
  };
}
