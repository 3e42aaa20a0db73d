/**
 * The audit status of changelog rows (AuditStatusService, docs/audit.md): for each audit event
 * id, whether the audit service has it and whether it is included in the newest signed
 * checkpoint — checked HERE, not taken from the audit service's word:
 *   - the checkpoint note's signature against the pinned audit verifier key (C2SP signed-note),
 *   - each inclusion proof against that checkpoint's root (RFC 9162 §2.1.3.2, verifyInclusion),
 *   - witness cosignatures against the pinned witness keys (C2SP tlog-cosignature).
 * The audit service is asked with the caller's own credential, so its access rules apply.
 * Fail closed: anything not checked is UNVERIFIABLE with a reason.
 */
import { checkCosignature, openCheckpoint, parseCheckpointNote, verifyInclusion, type CosignatureVerifier, type NoteVerifier } from '@warden/audit-events';
import { InvalidArgumentError } from '@warden/errors';
import { parseResource } from '@warden/names';
import { deadline } from '@warden/service-kit';
import type { Caller } from '../domain/caller.js';
import type { AdminRules } from './admin-rules.js';
import { NO_OPTIONS, type CallOptions } from './call.js';

export const MAX_STATUS_EVENTS = 100;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export type EventState = 'verified' | 'not_in_log' | 'not_in_checkpoint' | 'unverifiable';
export interface EventStatus { readonly eventId: string; readonly state: EventState; readonly seq: number; readonly reason: string }
export interface AuditStatus {
  readonly checkpointVerified: boolean;
  readonly unavailableReason: string;
  readonly checkpointSize: number;
  readonly checkpointRoot: string;
  readonly witnesses: readonly string[];
  readonly checkpointNote: string;
  readonly events: readonly EventStatus[];
}

/** What the audit service answered for one event's inclusion proof against a tree size. */
export type ProofAnswer =
  | { readonly kind: 'proof'; readonly seq: number; readonly treeSize: number; readonly leafHash: string; readonly path: readonly string[] }
  | { readonly kind: 'not_found' }
  /** In the log, after the checkpoint (the audit service does not say at which seq). */
  | { readonly kind: 'beyond_checkpoint' }
  | { readonly kind: 'error'; readonly reason: string };

/** The audit service as this use case reads it (adapters/audit/grpc-audit-reader.ts). */
export interface AuditReader {
  /** The newest signed checkpoint note of `org`. */
  checkpoint(org: string, authorization: string | undefined, signal: AbortSignal): Promise<string>;
  inclusionProof(org: string, eventId: string, treeSize: number, authorization: string | undefined, signal: AbortSignal): Promise<ProofAnswer>;
}

const hex = (s: string): Buffer | undefined => (/^(?:[0-9a-f]{2})+$/.test(s) ? Buffer.from(s, 'hex') : undefined);

/** Opens a checkpoint note: signature by a trusted key, then its witness cosignatures. Pure. */
export function judgeCheckpoint(
  note: string,
  logKeys: readonly NoteVerifier[],
  witnessKeys: readonly CosignatureVerifier[],
): { ok: true; size: number; root: Buffer; witnesses: string[] } | { ok: false; reason: string } {
  if (logKeys.length === 0) return { ok: false, reason: 'no audit verifier key is pinned (AUTHZ_AUDIT_VERIFIER_KEY)' };
  const opened = openCheckpoint(note, logKeys);
  if (!opened.ok) return { ok: false, reason: `checkpoint: ${opened.reason}` };
  const parsed = parseCheckpointNote(note);
  const witnesses = witnessKeys.filter((w) => checkCosignature(parsed, w).status === 'valid').map((w) => w.name);
  return { ok: true, size: opened.checkpoint.treeSize, root: Buffer.from(opened.checkpoint.rootHash), witnesses };
}

/** One event's status from its proof answer, checked against the verified checkpoint. Pure. */
export function judgeEvent(eventId: string, answer: ProofAnswer, checkpoint: { size: number; root: Uint8Array }): EventStatus {
  switch (answer.kind) {
    case 'not_found':
      return { eventId, state: 'not_in_log', seq: 0, reason: '' };
    case 'beyond_checkpoint':
      return { eventId, state: 'not_in_checkpoint', seq: 0, reason: '' };
    case 'error':
      return { eventId, state: 'unverifiable', seq: 0, reason: answer.reason };
    case 'proof': {
      if (answer.treeSize !== checkpoint.size) return { eventId, state: 'unverifiable', seq: answer.seq, reason: `the proof is for tree size ${answer.treeSize}, not the checkpoint's ${checkpoint.size}` };
      const leaf = hex(answer.leafHash);
      const path = answer.path.map(hex);
      if (leaf === undefined || leaf.length !== 32 || path.some((p) => p === undefined || p.length !== 32)) return { eventId, state: 'unverifiable', seq: answer.seq, reason: 'the proof is malformed' };
      if (answer.seq >= checkpoint.size) return { eventId, state: 'not_in_checkpoint', seq: answer.seq, reason: '' };
      if (!verifyInclusion(answer.seq, checkpoint.size, leaf, path as Buffer[], checkpoint.root)) return { eventId, state: 'unverifiable', seq: answer.seq, reason: 'the inclusion proof does not match the checkpoint' };
      return { eventId, state: 'verified', seq: answer.seq, reason: '' };
    }
  }
}

export interface AuditStatusDeps {
  readonly rules: Pick<AdminRules, 'requireAll'>;
  /** Undefined: authz has no audit service configured (AUTHZ_AUDIT_ADDRESS). */
  readonly reader: AuditReader | undefined;
  readonly logKeys: readonly NoteVerifier[];
  readonly witnessKeys: readonly CosignatureVerifier[];
}

export function createAuditStatus(deps: AuditStatusDeps) {
  return {
    async getStatus(caller: Caller, input: { org: string; eventIds: readonly string[]; authorization: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<AuditStatus> {
      const org = parseResource(input.org, 'org');
      if (org.path !== `org:${org.org}`) throw new InvalidArgumentError('org', 'must be an organization, like org:acme');
      if (input.eventIds.length > MAX_STATUS_EVENTS) throw new InvalidArgumentError('event_ids', `at most ${MAX_STATUS_EVENTS}`);
      input.eventIds.forEach((id, i) => {
        if (!UUID_RE.test(id)) throw new InvalidArgumentError(`event_ids[${i}]`, 'must be an audit event id (a lowercase UUID)');
      });
      await rules(deps).requireAll(caller, ['audit:read'], org, `read the audit status of ${org.path}`, options.signal);
      const none = (reason: string): AuditStatus => ({
        checkpointVerified: false, unavailableReason: reason, checkpointSize: 0, checkpointRoot: '', witnesses: [], checkpointNote: '',
        events: input.eventIds.map((eventId) => ({ eventId, state: 'unverifiable', seq: 0, reason })),
      });
      if (deps.reader === undefined) return none('this authz has no audit service configured (AUTHZ_AUDIT_ADDRESS)');
      const signal = deadline(10_000, options.signal);
      let note: string;
      try {
        note = await deps.reader.checkpoint(org.org, input.authorization, signal);
      } catch (error) {
        return none(`the audit service did not give a checkpoint: ${(error as Error).message}`);
      }
      const checkpoint = judgeCheckpoint(note, deps.logKeys, deps.witnessKeys);
      if (!checkpoint.ok) return { ...none(checkpoint.reason), checkpointNote: note };
      const reader = deps.reader;
      const events = await Promise.all(
        input.eventIds.map(async (eventId) => {
          const answer = await reader.inclusionProof(org.org, eventId, checkpoint.size, input.authorization, signal).catch((error: unknown): ProofAnswer => ({ kind: 'error', reason: error instanceof Error ? error.message : String(error) }));
          return judgeEvent(eventId, answer, checkpoint);
        }),
      );
      return {
        checkpointVerified: true, unavailableReason: '', checkpointSize: checkpoint.size, checkpointRoot: checkpoint.root.toString('hex'),
        witnesses: checkpoint.witnesses, checkpointNote: note, events,
      };
    },
  };
}

const rules = (deps: AuditStatusDeps) => deps.rules;

export type AuditStatusReader = ReturnType<typeof createAuditStatus>;
