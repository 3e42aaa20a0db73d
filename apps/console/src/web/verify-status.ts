/**
 * The verify status of the changelog rows on the Audit page: AuditStatusService (authz) asks
 * the audit service with the signed-in user's own credential and checks, itself, the newest
 * checkpoint's signature (pinned key), each row's inclusion proof against it and the witness
 * cosignatures (docs/audit.md, "Audit status"). The browser shows what authz checked and
 * nothing more: a row is "in the audit log" only when authz verified its proof; anything
 * else — not shipped yet, after the checkpoint, or unknown — is said as such (fail closed).
 */
import type { Api } from './api.js';

export interface EventStatus { eventId?: string; state?: string; seq?: number | string; reason?: string }
export interface AuditStatus {
  checkpointVerified?: boolean;
  unavailableReason?: string;
  checkpointSize?: number | string;
  cosignatures?: number;
  witnesses?: string[];
  events?: EventStatus[];
}
export type Tone = 'ok' | 'pending' | 'bad';

/** One row's words (shown, and its accessible label) and tone. A row without an event id is unknown. */
export function rowStatus(eventId: string | undefined, status: AuditStatus | undefined, failure?: string): { text: string; label: string; tone: Tone } {
  const unknown = (reason: string) => ({ text: `? could not verify: ${reason}`, label: `Audit log: could not verify (${reason})`, tone: 'bad' as const });
  if (eventId === undefined || eventId === '') return unknown('this change has no recorded audit event id');
  if (failure !== undefined) return unknown(failure);
  const event = status?.events?.find((e) => e.eventId === eventId);
  if (status === undefined || event === undefined) return unknown('no answer for this change');
  const size = Number(status.checkpointSize ?? 0);
  const cosigned = status.cosignatures ?? 0;
  switch (event.state) {
    case 'AUDIT_EVENT_STATE_VERIFIED': {
      if (status.checkpointVerified !== true) return unknown('the checkpoint was not verified');
      const witnesses = cosigned > 0 ? `, cosigned by ${cosigned} witness${cosigned === 1 ? '' : 'es'}` : ', not cosigned by a witness';
      return {
        text: `✓ in log seq ${Number(event.seq ?? 0)}, in checkpoint of size ${size}${cosigned > 0 ? ` [cosigned by ${cosigned}]` : ''}`,
        label: `Audit log: verified, sequence ${Number(event.seq ?? 0)}, included in the signed checkpoint of size ${size}${witnesses}`,
        tone: 'ok',
      };
    }
    case 'AUDIT_EVENT_STATE_NOT_IN_LOG':
      return { text: '… not yet in the audit log', label: 'Audit log: not yet in the audit log (waiting in authz’s outbox, or not shipped)', tone: 'pending' };
    case 'AUDIT_EVENT_STATE_NOT_IN_CHECKPOINT':
      return { text: '… in the audit log, not yet in a signed checkpoint', label: 'Audit log: in the log, not yet covered by a signed checkpoint', tone: 'pending' };
    default:
      return unknown(event.reason !== undefined && event.reason !== '' ? event.reason : status.unavailableReason ?? 'unknown');
  }
}

/** The summary line over the rows shown. */
export function summary(rows: ReadonlyArray<{ tone: Tone; text: string }>, status: AuditStatus | undefined, failure?: string): string {
  const ok = rows.filter((r) => r.tone === 'ok').length;
  const pending = rows.filter((r) => r.tone === 'pending').length;
  const bad = rows.length - ok - pending;
  const parts = [`${ok} of ${rows.length} shown verified in the audit log`];
  if (status?.checkpointVerified === true) {
    const cosigned = status.cosignatures ?? 0;
    parts[0] += ` (signed checkpoint of size ${Number(status.checkpointSize ?? 0)}, ${cosigned > 0 ? `cosigned by ${cosigned}: ${(status.witnesses ?? []).join(', ')}` : 'no witness cosignature'})`;
  }
  if (pending > 0) parts.push(`${pending} not yet in the log or a checkpoint`);
  if (bad > 0) parts.push(`${bad} could not be verified${failure ?? (status?.checkpointVerified !== true && status?.unavailableReason) ? `: ${failure ?? status?.unavailableReason}` : ''}`);
  return `Verify status: ${parts.join('; ')}.`;
}

/** Asks authz for the status of these event ids (at most 100 a call; a page shows 50). */
export async function fetchStatus(api: Api, org: string, eventIds: readonly string[]): Promise<AuditStatus> {
  if (eventIds.length === 0) return { events: [] };
  return api.call<AuditStatus>('AuditStatusService', 'GetAuditStatus', { org, eventIds });
}
