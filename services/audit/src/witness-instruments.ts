/**
 * Issue 16 item 3's metrics, through @opentelemetry/api only (as instruments.ts, kept apart
 * to ease merging): per witness and org the tree size the witness holds and how far it is
 * behind the newest checkpoint, and submissions by outcome.
 */
import type { Meter } from '@opentelemetry/api';
import { createInstruments } from '@warden/service-kit';
import type { WitnessOutcome } from './usecases/witnessing.js';

export type WitnessGaugeSource = {
  witnessedSizes(): Iterable<{ readonly org: string; readonly witness: string; readonly size: number }>;
  /** Tree size of the org's newest checkpoint (0: none). */
  checkpointSize(org: string): number;
};

const sources = new Set<WitnessGaugeSource>();

function make(meter: Meter) {
  meter
    .createObservableGauge('warden.audit.witness.size', { description: 'Tree size a witness holds (has cosigned) for an organization log', unit: '{event}' })
    .addCallback((result) => {
      for (const source of sources) for (const w of source.witnessedSizes()) result.observe(w.size, { 'warden.org': w.org, 'warden.witness': w.witness });
    });
  meter
    .createObservableGauge('warden.audit.witness.behind', {
      description: 'Events of the newest checkpoint a witness has not cosigned yet (negative: the witness holds a larger tree — a rollback)',
      unit: '{event}',
    })
    .addCallback((result) => {
      for (const source of sources) for (const w of source.witnessedSizes()) result.observe(source.checkpointSize(w.org) - w.size, { 'warden.org': w.org, 'warden.witness': w.witness });
    });
  return {
    submissions: meter.createCounter('warden.audit.witness.submissions', {
      description: 'add-checkpoint submissions by outcome (cosigned, conflict, refused, failed, rollback)',
      unit: '{request}',
    }),
  };
}

export const witnessInstruments = createInstruments('warden-audit', '0.1.0', make);

/** Makes the gauges read `source`; returns the undo. */
export function observeWitnessGauges(source: WitnessGaugeSource): () => void {
  sources.add(source);
  witnessInstruments();
  return () => {
    sources.delete(source);
  };
}

export function countWitnessOutcome(witness: string, outcome: WitnessOutcome): void {
  witnessInstruments().submissions.add(1, { 'warden.witness': witness, outcome });
}
