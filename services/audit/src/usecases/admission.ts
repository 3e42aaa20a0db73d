/**
 * Admission: whether one received event may enter the log. In order: the schema, the
 * RFC 8785 size, the clock skew (occurred_at and the id's UUIDv7 time), a signature,
 * a registered producer key that was not revoked by now, and the Ed25519 signature
 * over the canonical JSON (checked off the main thread). Pure: no store, no state but
 * the key lookup it is given. Duplicates and positions are the sequencer's business.
 *
 * A batch-signed Append (`admitBatch`) passes the same checks per event, but one
 * Ed25519 signature covers all of its events (the RFC 9162 root of their canonical
 * JSON, @warden/audit-events batch-signature.ts), so it is judged once, for the batch;
 * each admitted event is stored with its own proof of membership (`batch-v1.…`).
 */
import type { KeyObject } from 'node:crypto';
import { BatchTree, canonicalContentHash, canonicalEvent, parseEvent, uuidV7Time, verifyCanonicalSignatureAsync, type AuditEvent, type KeyLookup } from '@warden/audit-events';
import { InvalidArgumentError } from '@warden/errors';
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
  /** The stored signature: base64 of the event's Ed25519 signature, or its batch form (`batch-v1.…`). */
  readonly signature: string;
  /** RFC 8785 canonical JSON of the event. */
  readonly canonical: string;
  /** Hex SHA-256 of `canonical`. */
  readonly contentHash: string;
};

export type Admission = Admitted | { readonly ok: false; readonly outcome: Refusal };

type ParsedEvent = { readonly ok: true; readonly event: AuditEvent; readonly canonical: string };
type Parsed = ParsedEvent | { readonly ok: false; readonly outcome: Refusal };

function rawIdOf(input: AppendInput): string {
  return typeof input.event === 'object' && input.event !== null && typeof (input.event as { id?: unknown }).id === 'string' ? (input.event as { id: string }).id : '';
}

function refusal(id: string, reason: RefusalReason, field: string, message: string): { readonly ok: false; readonly outcome: Refusal } {
  return { ok: false, outcome: { status: 'refused', id, reason, field, message } };
}

/** The schema and RFC 8785. */
function parse(input: AppendInput): Parsed {
  const rawId = rawIdOf(input);
  const parsed = parseEvent(input.event);
  if (!parsed.ok) return refusal(rawId, 'malformed', parsed.problem.field, parsed.problem.message);
  try {
    return { ok: true, event: parsed.event, canonical: canonicalEvent(parsed.event) };
  } catch (error) {
    return refusal(rawId, 'malformed', 'event', `cannot be canonicalized (RFC 8785): ${(error as Error).message}`);
  }
}

/** The size and the clock skew. */
function checkBounds(event: AuditEvent, canonical: string, now: number, limits: AdmissionLimits): Admission | undefined {
  const size = Buffer.byteLength(canonical, 'utf8');
  if (size > limits.maxEventBytes) return refusal(event.id, 'oversized', 'event', `canonical event is ${size} bytes; at most ${limits.maxEventBytes}`);
  const skew = limits.maxFutureSkewMs;
  if (Date.parse(event.occurredAt) > now + skew) {
    return refusal(event.id, 'future-dated', 'event.occurred_at', `${event.occurredAt} is more than ${skew / 1000}s in the future`);
  }
  if (uuidV7Time(event.id) > now + skew) {
    return refusal(event.id, 'future-dated', 'event.id', `the UUIDv7 timestamp of ${event.id} is more than ${skew / 1000}s in the future`);
  }
  return undefined;
}

/** A registered producer key, not revoked by now. */
function checkKey(event: AuditEvent, now: number, keys: ProducerKeyLookup): { readonly key: KeyObject } | { readonly ok: false; readonly outcome: Refusal } {
  const lookup = keys.lookup(event.producer, event.keyId);
  if (lookup.status === 'unknown-producer') return refusal(event.id, 'unknown-producer', 'event.producer', `producer "${event.producer}" is not registered`);
  if (lookup.status === 'unknown-key') return refusal(event.id, 'unknown-key', 'event.key_id', `key "${event.keyId}" is not registered for producer "${event.producer}"`);
  if (lookup.revokedAt !== undefined && Date.parse(lookup.revokedAt) <= now) {
    return refusal(event.id, 'revoked-key', 'event.key_id', `key "${event.keyId}" of producer "${event.producer}" was revoked at ${lookup.revokedAt}`);
  }
  return { key: lookup.key };
}

function admitted(event: AuditEvent, canonical: string, signature: string): Admitted {
  return { ok: true, event, signature, canonical, contentHash: canonicalContentHash(canonical) };
}

export async function admit(input: AppendInput, now: number, keys: ProducerKeyLookup, limits: AdmissionLimits, verify: SignatureCheck = verifyCanonicalSignatureAsync): Promise<Admission> {
  const parsed = parse(input);
  if (!parsed.ok) return parsed;
  const { event, canonical } = parsed;
  const bounds = checkBounds(event, canonical, now, limits);
  if (bounds !== undefined) return bounds;
  if (input.signature === undefined || input.signature.length === 0) return refusal(event.id, 'unsigned', 'signature', 'the event is not signed');
  const key = checkKey(event, now, keys);
  if (!('key' in key)) return key;
  if (!(await verify(canonical, input.signature, key.key))) {
    return refusal(event.id, 'bad-signature', 'signature', `the signature does not verify with key "${event.keyId}" of producer "${event.producer}"`);
  }
  return admitted(event, canonical, Buffer.from(input.signature).toString('base64'));
}

/**
 * Admits the events of a batch-signed Append: one outcome per event, in order.
 *
 * The batch signature covers every event, so it can only be judged when every event
 * parses and names the same producer key: otherwise that event is refused for its own
 * reason and the others `bad-signature` ("cannot be checked"). Then, per event, the
 * size and clock checks; then the key (once) and the one signature (once, through
 * `verify`, over the batch message). An admitted event's stored signature is its batch
 * form: index, size, batch signature and inclusion path.
 *
 * @throws InvalidArgumentError when an event carries its own signature as well (nothing is admitted).
 */
export async function admitBatch(
  inputs: readonly AppendInput[],
  batchSignature: Uint8Array,
  now: number,
  keys: ProducerKeyLookup,
  limits: AdmissionLimits,
  verify: SignatureCheck = verifyCanonicalSignatureAsync,
): Promise<Admission[]> {
  inputs.forEach((input, i) => {
    if (input.signature !== undefined && input.signature.length > 0) {
      throw new InvalidArgumentError(`events[${i}].signature`, 'must be empty when batch_signature is set: a batch-signed Append carries no per-event signature');
    }
  });
  if (inputs.length === 0) return [];
  const parsed = inputs.map(parse);
  const signer = parsed.find((p): p is ParsedEvent => p.ok);
  const results: (Admission | undefined)[] = parsed.map((p) => (p.ok ? undefined : p));
  // Who signed is whoever the first well-formed event names; every other event must name the same key.
  parsed.forEach((p, i) => {
    if (!p.ok || signer === undefined) return;
    const { producer, keyId } = signer.event;
    if (p.event.producer !== producer) {
      results[i] = refusal(p.event.id, 'bad-signature', 'event.producer', `producer "${p.event.producer}" differs from "${producer}" named by the batch's other events: one batch signature is one producer key's`);
    } else if (p.event.keyId !== keyId) {
      results[i] = refusal(p.event.id, 'bad-signature', 'event.key_id', `key "${p.event.keyId}" differs from "${keyId}" named by the batch's other events: one batch signature is one producer key's`);
    }
  });
  const blocker = results.findIndex((r) => r !== undefined);
  if (blocker >= 0) {
    const why = parsed[blocker]?.ok === true ? 'names another producer key' : 'is malformed';
    return inputs.map((input, i) => results[i] ?? refusal(rawIdOf(input), 'bad-signature', 'batch_signature', `the batch signature cannot be checked: event ${blocker} of the batch ${why}`));
  }
  const events = parsed.filter((p): p is ParsedEvent => p.ok);
  events.forEach((p, i) => {
    results[i] = checkBounds(p.event, p.canonical, now, limits);
  });
  const first = events[0]!.event;
  const key = checkKey(first, now, keys);
  const tree = new BatchTree(events.map((p) => p.canonical));
  let failure: Admission | undefined;
  if (!('key' in key)) failure = key;
  else if (!(await verify(tree.message(), batchSignature, key.key))) {
    failure = refusal('', 'bad-signature', 'batch_signature', `the batch signature does not verify with key "${first.keyId}" of producer "${first.producer}" over these ${events.length} events in this order`);
  }
  // Every stored batch form at once (top-down, shared tails), not one inclusion path per event.
  const signatures = failure === undefined ? tree.recordSignatures(batchSignature) : [];
  return events.map((p, i) => {
    const own = results[i];
    if (own !== undefined) return own;
    if (failure !== undefined) return failure.ok ? failure : { ok: false, outcome: { ...failure.outcome, id: p.event.id } };
    return admitted(p.event, p.canonical, signatures[i]!);
  });
}
