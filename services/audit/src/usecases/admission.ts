/**
 * Admission: whether one received event may enter the log. In order: the schema, the
 * RFC 8785 size, the clock skew (occurred_at and the id's UUIDv7 time), a signature,
 * a registered producer key that was not revoked by now, and the Ed25519 signature
 * over the canonical JSON (checked off the main thread). Pure: no store, no state but
 * the key lookup it is given. Duplicates and positions are the sequencer's business.
 */
import { createHash } from 'node:crypto';
import { canonicalEvent, parseEvent, uuidV7Time, verifyCanonicalSignatureAsync, type AuditEvent, type KeyLookup } from '@warden/audit-events';
import type { AppendInput, Refusal, RefusalReason } from '../domain/append.js';
import type { SignatureCheck } from '../domain/ports.js';

export type AdmissionLimits = {
  /** Largest canonical event, in bytes. */
  readonly maxEventBytes: number;
  /** How far in the future occurred_at and the id's time may be. */
  readonly maxFutureSkewMs: number;
};

export type ProducerKeyLookup = { lookup(producer: string, keyId: string): KeyLookup };

/** An event that may be sequenced, with what sequencing needs already computed. */
export type Admitted = {
  readonly ok: true;
  readonly event: AuditEvent;
  /** Base64 Ed25519 signature. */
  readonly signature: string;
  /** RFC 8785 canonical JSON of the event. */
  readonly canonical: string;
  /** Hex SHA-256 of `canonical`. */
  readonly contentHash: string;
};

export type Admission = Admitted | { readonly ok: false; readonly outcome: Refusal };

export async function admit(input: AppendInput, now: number, keys: ProducerKeyLookup, limits: AdmissionLimits, verify: SignatureCheck = verifyCanonicalSignatureAsync): Promise<Admission> {
  const rawId = typeof input.event === 'object' && input.event !== null && typeof (input.event as { id?: unknown }).id === 'string' ? (input.event as { id: string }).id : '';
  const refuse = (reason: RefusalReason, field: string, message: string): Admission => ({ ok: false, outcome: { status: 'refused', id: rawId, reason, field, message } });
  const parsed = parseEvent(input.event);
  if (!parsed.ok) return refuse('malformed', parsed.problem.field, parsed.problem.message);
  const event = parsed.event;
  let canonical: string;
  try {
    canonical = canonicalEvent(event);
  } catch (error) {
    return refuse('malformed', 'event', `cannot be canonicalized (RFC 8785): ${(error as Error).message}`);
  }
  const size = Buffer.byteLength(canonical, 'utf8');
  if (size > limits.maxEventBytes) return refuse('oversized', 'event', `canonical event is ${size} bytes; at most ${limits.maxEventBytes}`);
  const skew = limits.maxFutureSkewMs;
  if (Date.parse(event.occurredAt) > now + skew) {
    return refuse('future-dated', 'event.occurred_at', `${event.occurredAt} is more than ${skew / 1000}s in the future`);
  }
  if (uuidV7Time(event.id) > now + skew) {
    return refuse('future-dated', 'event.id', `the UUIDv7 timestamp of ${event.id} is more than ${skew / 1000}s in the future`);
  }
  if (input.signature === undefined || input.signature.length === 0) return refuse('unsigned', 'signature', 'the event is not signed');
  const lookup = keys.lookup(event.producer, event.keyId);
  if (lookup.status === 'unknown-producer') return refuse('unknown-producer', 'event.producer', `producer "${event.producer}" is not registered`);
  if (lookup.status === 'unknown-key') return refuse('unknown-key', 'event.key_id', `key "${event.keyId}" is not registered for producer "${event.producer}"`);
  if (lookup.revokedAt !== undefined && Date.parse(lookup.revokedAt) <= now) {
    return refuse('revoked-key', 'event.key_id', `key "${event.keyId}" of producer "${event.producer}" was revoked at ${lookup.revokedAt}`);
  }
  if (!(await verify(canonical, input.signature, lookup.key))) {
    return refuse('bad-signature', 'signature', `the signature does not verify with key "${event.keyId}" of producer "${event.producer}"`);
  }
  return {
    ok: true,
    event,
    signature: Buffer.from(input.signature).toString('base64'),
    canonical,
    contentHash: createHash('sha256').update(canonical).digest('hex'),
  };
}
