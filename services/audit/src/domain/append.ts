/**
 * What Append takes and answers, one outcome per event, in order. A refused event is
 * a result (with the field at fault and why), never an error: errors mean the log could
 * not decide (e.g. UNAVAILABLE while neither the store nor the spool takes writes).
 */
import type { ReceivedEvent } from '@warden/audit-events';

export type RefusalReason =
  | 'malformed'
  | 'oversized'
  | 'future-dated'
  | 'unsigned'
  | 'bad-signature'
  | 'unknown-producer'
  | 'unknown-key'
  | 'revoked-key'
  | 'conflict';

/** A signed event as received, not yet validated. */
export type AppendInput = ReceivedEvent;

/** What an Append carries besides its events. */
export type AppendOptions = {
  /**
   * One Ed25519 signature for the whole batch, over the RFC 9162 root of the events'
   * canonical JSON in order (@warden/audit-events batch-signature.ts). When set, no
   * event may carry its own signature and all must name the same producer key.
   */
  readonly batchSignature?: Uint8Array | undefined;
};

export type Refusal = { readonly status: 'refused'; readonly id: string; readonly reason: RefusalReason; readonly field: string; readonly message: string };

export type AppendOutcome = { readonly status: 'accepted' | 'duplicate'; readonly id: string; readonly seq: number } | Refusal;
