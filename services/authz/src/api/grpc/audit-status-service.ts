/** AuditStatusService over gRPC (and Connect JSON): the caller's own credential goes on to the audit service. */
import type { ServiceImplementation } from 'nice-grpc';
import { AuditEventState, type AuditStatusServiceDefinition } from '@warden/proto/authz/v1/audit-status';
import type { AuditStatusReader, EventState } from '../../usecases/audit-status.js';
import type { CallerContext } from './auth.js';

const STATE: Record<EventState, AuditEventState> = {
  verified: AuditEventState.AUDIT_EVENT_STATE_VERIFIED,
  not_in_log: AuditEventState.AUDIT_EVENT_STATE_NOT_IN_LOG,
  not_in_checkpoint: AuditEventState.AUDIT_EVENT_STATE_NOT_IN_CHECKPOINT,
  unverifiable: AuditEventState.AUDIT_EVENT_STATE_UNVERIFIABLE,
};

export function auditStatusService(status: AuditStatusReader): ServiceImplementation<typeof AuditStatusServiceDefinition, CallerContext> {
  return {
    async getAuditStatus(request, { caller, signal, metadata }) {
      const result = await status.getStatus(caller, { org: request.org, eventIds: request.eventIds, authorization: metadata.get('authorization') }, { signal });
      return {
        checkpointVerified: result.checkpointVerified,
        unavailableReason: result.unavailableReason,
        checkpointSize: result.checkpointSize,
        checkpointRoot: result.checkpointRoot,
        cosignatures: result.witnesses.length,
        witnesses: [...result.witnesses],
        checkpointNote: result.checkpointNote,
        events: result.events.map((e) => ({ eventId: e.eventId, state: STATE[e.state], seq: e.seq, reason: e.reason })),
      };
    },
  };
}
