/**
 * Verify, over the store: recomputes an org's log against its stored checkpoints and
 * against checkpoints known from elsewhere — a trusted one the caller brings, the
 * witness file, the newest one this process signed — so a rolled-back log or
 * checkpoint table is caught too.
 */
import { openCheckpoint, verifyLog, type NoteVerifier, type ProducerKeyRegistry, type VerifyReport } from '@warden/audit-events';
import { InvalidArgumentError } from '@warden/errors';
import type { AuditStore, CheckpointWitness } from '../domain/ports.js';
import type { Checkpointer } from './checkpointer.js';

export type VerifyOptions = {
  /** Report per-event problems from this seq on. @defaultValue 0 */
  readonly from?: number;
  /** Stop before this seq (undefined: the whole log). */
  readonly to?: number | undefined;
  /** A checkpoint note the log must still contain. */
  readonly trustedCheckpoint?: string | undefined;
  readonly signal?: AbortSignal;
};

export type VerificationDeps = {
  readonly store: AuditStore;
  readonly witness: CheckpointWitness;
  readonly verifiers: readonly NoteVerifier[];
  readonly origin: (org: string) => string;
  readonly checkpoints: Checkpointer;
  readonly keys: ProducerKeyRegistry;
};

export async function verifyOrgLog(deps: VerificationDeps, org: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const origin = deps.origin(org);
  const trusted: { note: string; source: string }[] = [];
  if (options.trustedCheckpoint !== undefined) {
    const opened = openCheckpoint(options.trustedCheckpoint, deps.verifiers);
    if (!opened.ok) throw new InvalidArgumentError('trusted_checkpoint', opened.reason);
    if (opened.checkpoint.origin !== origin) throw new InvalidArgumentError('trusted_checkpoint', `is for "${opened.checkpoint.origin}", not "${origin}"`);
    trusted.push({ note: options.trustedCheckpoint, source: 'the trusted' });
  }
  const witnessed = await deps.witness.read(org);
  if (witnessed !== undefined) trusted.push({ note: witnessed, source: 'the witness' });
  const inMemory = deps.checkpoints.latest(org);
  if (inMemory !== undefined) trusted.push({ note: inMemory.note, source: 'the service' });
  const checkpoints = await deps.store.checkpoints(org, { signal: options.signal });
  return verifyLog({
    org,
    origin,
    records: deps.store.scan(org, 0, options.to ?? Number.MAX_SAFE_INTEGER, { signal: options.signal }),
    checkpoints,
    trusted,
    verifiers: deps.verifiers,
    producerKey: (producer, keyId) => deps.keys.verificationKey(producer, keyId),
    from: options.from ?? 0,
    to: options.to,
  });
}
