/**
 * The approval half of the guarded change (docs/approvals.md):
 *
 *  - `change()` answered REQUIRES_APPROVAL opens a change request naming the exact change
 *    (before and after, bound by its content hash) and returns a PendingChange with its id;
 *    nothing is applied.
 *  - `applyApproved(requestId, apply, expected?)` reads the request, recomputes the content hash
 *    of what was approved (and of `expected`, the change the caller is about to make, when
 *    given) and refuses a mismatch before anything runs; checks the requester is still
 *    allowed (with approval); claims the approval on the service (ApplyRequest: the same hash,
 *    once — a second claim fails); then calls `apply` with the approved content and records the
 *    signed audit event citing the request and its approvers, with the outcome.
 */
import { changeContentHash } from '@warden/audit-events';
import type { Client } from 'nice-grpc';
import type { DeadlineOptions } from 'nice-grpc-client-middleware-deadline';
import { RequestState, type ApprovalsServiceDefinition, type ChangeRequest } from '@warden/proto/authz/v1/approvals';
import { newCorrelationId } from './audit-client.js';
import type { AuditRecorder, ChangeRecord } from './audit-recorder.js';
import type { Decision } from './decision.js';
import { PermissionDeniedError, WardenAuthError, WardenError } from './errors.js';

/** What `change()` returns when the change waits for approval. */
export interface PendingChange {
  readonly status: 'pending';
  readonly requestId: string;
  readonly contentHash: string;
  readonly requiredApprovals: number;
  readonly expiresAt: Date;
  readonly decision: Decision;
}

export function isPendingChange(value: unknown): value is PendingChange {
  return typeof value === 'object' && value !== null && (value as { status?: unknown }).status === 'pending' && typeof (value as { requestId?: unknown }).requestId === 'string';
}

/** The approved change, as `applyApproved` hands it to the apply function. */
export interface ApprovedChange {
  readonly requestId: string;
  readonly correlationId: string;
  readonly requester: string;
  readonly action: string;
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly approvers: readonly string[];
  readonly breakGlass: boolean;
}

export interface ApplyApprovedOptions {
  /** The change the caller is about to make: refused unless its content hash is the approved one. */
  readonly expected?: { readonly before: unknown; readonly after: unknown } | undefined;
  /** The audit trail's action name; defaults to the request's action. */
  readonly auditAction?: string | undefined;
  readonly correlationId?: string | undefined;
  /** Who is applying, when a service applies for its user: refused unless it is the requester, before anything is claimed. */
  readonly appliedBy?: string | undefined;
}

/** The approval does not cover this change (or the request is not approved): nothing was applied. */
export class ApprovalMismatchError extends WardenError {
  override readonly name = 'ApprovalMismatchError';
}

const STATE_NAMES: Readonly<Record<number, string>> = {
  [RequestState.REQUEST_STATE_PENDING]: 'pending',
  [RequestState.REQUEST_STATE_APPROVED]: 'approved',
  [RequestState.REQUEST_STATE_REJECTED]: 'rejected',
  [RequestState.REQUEST_STATE_EXPIRED]: 'expired',
  [RequestState.REQUEST_STATE_CANCELLED]: 'cancelled',
  [RequestState.REQUEST_STATE_APPLIED]: 'applied',
};

export interface ApprovalFlowDeps {
  readonly approvals: Client<typeof ApprovalsServiceDefinition, DeadlineOptions>;
  /** A fresh Check (never cached). */
  readonly check: (input: { subject: string; action: string; resource: string; fullyConsistent: true }) => Promise<Decision>;
  readonly recorder: AuditRecorder | undefined;
  readonly callOptions: () => { deadline: Date };
  readonly toWardenError: (error: unknown) => unknown;
}

export function createApprovalFlow(deps: ApprovalFlowDeps) {
  async function call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw deps.toWardenError(error);
    }
  }

  return {
    /** Opens the change request for a REQUIRES_APPROVAL change (the caller's key asks for its user: authz:check). */
    async open(input: { subject: string; action: string; resource: string; before: unknown; after: unknown; reason?: string | undefined; ticket?: string | undefined }, decision: Decision): Promise<PendingChange> {
      const response = await call(() =>
        deps.approvals.openChangeRequest(
          { action: input.action, resource: input.resource, before: input.before ?? null, after: input.after ?? null, reason: input.reason ?? '', ticket: input.ticket ?? '', requester: input.subject, ttlSeconds: 0 },
          deps.callOptions(),
        ),
      );
      const request = response.request!;
      return { status: 'pending', requestId: request.id, contentHash: request.contentHash, requiredApprovals: request.requiredApprovals, expiresAt: request.expiresAt!, decision };
    },

    async applyApproved<T>(requestId: string, apply: (change: ApprovedChange) => Promise<T> | T, options: ApplyApprovedOptions = {}): Promise<T> {
      const request: ChangeRequest = (await call(() => deps.approvals.getRequest({ id: requestId }, deps.callOptions()))).request!;
      const approved = { action: request.action, resource: request.resource, before: request.before ?? null, after: request.after ?? null };
      const hash = changeContentHash(approved);
      if (hash !== request.contentHash) throw new ApprovalMismatchError(`request ${requestId}: its content does not hash to its approved content hash`, 'FAILED_PRECONDITION');
      if (options.expected !== undefined) {
        const mine = changeContentHash({ action: request.action, resource: request.resource, before: options.expected.before, after: options.expected.after });
        if (mine !== hash) throw new ApprovalMismatchError(`the change differs from what request ${requestId} approved (approved ${hash}, this one ${mine})`, 'FAILED_PRECONDITION');
      }
      if (options.appliedBy !== undefined && options.appliedBy !== request.requester) {
        throw new WardenAuthError(`${options.appliedBy} may not apply request ${requestId}: only its requester (${request.requester}) applies it`, 'PERMISSION_DENIED');
      }
      if (request.kind !== 'change') throw new ApprovalMismatchError(`request ${requestId} is an access request: its approval created the binding`, 'FAILED_PRECONDITION');
      if (request.state !== RequestState.REQUEST_STATE_APPROVED) {
        throw new ApprovalMismatchError(`request ${requestId} is ${STATE_NAMES[request.state] ?? 'unknown'}; only an approved request can be applied`, 'FAILED_PRECONDITION');
      }
      // Still allowed with approval (a revoke since the approval stops it here).
      const decision = await deps.check({ subject: request.requester, action: request.action, resource: request.resource, fullyConsistent: true });
      if (decision.decision === 'DENY') throw new PermissionDeniedError(decision);
      const approvers = request.approvals.map((a) => a.by);
      const correlationId = options.correlationId ?? newCorrelationId();
      const citation = `change request ${requestId}${request.breakGlass ? ' (break-glass)' : `, approved by ${approvers.join(', ')}`}${request.reason !== '' ? `: ${request.reason}` : ''}`;
      const draft = (outcome: 'success' | 'failure', error?: string): ChangeRecord => ({
        correlationId, traceId: undefined, actor: request.requester, action: options.auditAction ?? request.action, resource: request.resource,
        before: approved.before, after: approved.after, reason: citation, outcome, error, decision,
      });
      deps.recorder?.validate?.(draft('success'));
      // Claim the approval first: the service marks it applied once; a second claim is refused.
      await call(() => deps.approvals.applyRequest({ id: requestId, contentHash: hash, requester: request.requester }, deps.callOptions()));
      let failure: unknown;
      let result: T | undefined;
      try {
        result = await apply({ requestId, correlationId, requester: request.requester, ...approved, approvers, breakGlass: request.breakGlass });
      } catch (error) {
        failure = error;
      }
      await deps.recorder?.record(draft(failure === undefined ? 'success' : 'failure', failure === undefined ? undefined : failure instanceof Error ? failure.message : String(failure)));
      if (failure !== undefined) throw failure;
      return result as T;
    },
  };
}
