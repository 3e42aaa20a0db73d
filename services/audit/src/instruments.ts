/**
 * The audit service's metrics and spans, through @opentelemetry/api only (as
 * services/authz/src/instruments.ts). main.ts registers the SDK (runService → startTelemetry,
 * @warden/service-kit).
 */
import { trace, type Meter, type ObservableResult } from '@opentelemetry/api';
import { createInstruments, createStoreSpan } from '@warden/service-kit';
import type { LogStatus } from './usecases/audit-log.js';

export const tracer = trace.getTracer('warden-audit', '0.1.0');

/** What the observable gauges read, from one running app (normally one per process). */
export type GaugeSource = {
  /** Events waiting in the local spool for the store. */
  spoolDepth(): number;
  /** True while batches wait in the spool (the store refused or could not be reached). */
  degraded(): boolean;
  /** One entry per organization log this process knows. */
  logs(): Iterable<LogStatus>;
};

const sources = new Set<GaugeSource>();

function observeLogs(result: ObservableResult, value: (log: LogStatus, now: number) => number | undefined): void {
  const now = Date.now();
  for (const source of sources) {
    for (const log of source.logs()) {
      const v = value(log, now);
      if (v !== undefined) result.observe(v, { 'warden.org': log.org });
    }
  }
}

/** Made on the registered MeterProvider (createInstruments). */
function makeInstruments(meter: Meter) {
  const spoolDepth = meter.createObservableGauge('warden.audit.spool.depth', {
    description: 'Events acknowledged into the local spool and not yet written to ClickHouse',
    unit: '{event}',
  });
  spoolDepth.addCallback((result) => {
    let depth = 0;
    for (const source of sources) depth += source.spoolDepth();
    result.observe(depth);
  });
  const degraded = meter.createObservableGauge('warden.audit.degraded', {
    description: '1 while the service runs from its spool (ClickHouse unavailable or failing), else 0',
    unit: '1',
  });
  degraded.addCallback((result) => {
    let any = false;
    for (const source of sources) any ||= source.degraded();
    result.observe(any ? 1 : 0);
  });
  meter
    .createObservableGauge('warden.audit.tree.size', { description: 'Events in an organization log (its Merkle tree size)', unit: '{event}' })
    .addCallback((result) => observeLogs(result, (log) => log.size));
  meter
    .createObservableGauge('warden.audit.checkpoint.age', {
      description: 'Seconds since the newest signed checkpoint of an organization log (absent until its first checkpoint)',
      unit: 's',
    })
    .addCallback((result) => observeLogs(result, (log, now) => (log.checkpointAt === undefined ? undefined : Math.max(0, (now - Date.parse(log.checkpointAt)) / 1000))));
  meter
    .createObservableGauge('warden.audit.checkpoint.unsigned', {
      description: 'Events of an organization log not yet covered by a signed checkpoint',
      unit: '{event}',
    })
    .addCallback((result) => observeLogs(result, (log) => log.size - log.checkpointSize));
  return {
    meter,
    /** Time to answer one Append (validation, signature checks, durable commit), in seconds. */
    appendDuration: meter.createHistogram('warden.audit.append.duration', {
      description: 'Time to answer an Append call (validation, signatures, durable write)',
      unit: 's',
      advice: { explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    }),
    /** Events per Append call. */
    batchSize: meter.createHistogram('warden.audit.append.batch_size', {
      description: 'Events per Append call',
      unit: '{event}',
      advice: { explicitBucketBoundaries: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] },
    }),
    /** Events by result (accepted, duplicate, refused) and, for refusals, reason. */
    appendedEvents: meter.createCounter('warden.audit.append.events', {
      description: 'Events received by Append, by result (accepted, duplicate, refused)',
      unit: '{event}',
    }),
  };
}

export const instruments = createInstruments('warden-audit', '0.1.0', makeInstruments);

/** Makes the gauges read `source` (and creates them on the registered provider); returns the undo. */
export function observeGauges(source: GaugeSource): () => void {
  sources.add(source);
  instruments();
  return () => {
    sources.delete(source);
  };
}

/** Runs `work` in a client span (database conventions), a child of the active span (the RPC's). */
export const storeSpan = createStoreSpan(tracer);
