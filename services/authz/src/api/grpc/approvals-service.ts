/** ApprovalsService over gRPC (and its Connect-style HTTP routes): transport only; usecases/approvals.ts decides and writes. */
import { InvalidArgumentError } from '@warden/errors';
import {
  RequestState as PbState,
  type AccessGrant as PbAccessGrant,
  type ApprovalsServiceImplementation,
  type ChangeRequest as PbChangeRequest,
  type RequestStep,
} from '@warden/proto/authz/v1/approvals';
import { decodePageToken, encodePageToken } from '@warden/service-kit';
import type { ChangeRequest, RequestState, Step } from '../../domain/approvals.js';
import type { Approvals, RequestResult } from '../../usecases/approvals.js';
import type { CallerContext } from './auth.js';
import { optional } from './convert.js';


const STATES: Readonly<Record<RequestState, PbState>> = {
  pending: PbState.REQUEST_STATE_PENDING,
  approved: PbState.REQUEST_STATE_APPROVED,
  rejected: PbState.REQUEST_STATE_REJECTED,
  expired: PbState.REQUEST_STATE_EXPIRED,
  cancelled: PbState.REQUEST_STATE_CANCELLED,
  applied: PbState.REQUEST_STATE_APPLIED,
};

export function stateFromProto(state: PbState, field: string): RequestState | undefined {
  if (state === PbState.REQUEST_STATE_UNSPECIFIED) return undefined;
  const found = (Object.entries(STATES) as [RequestState, PbState][]).find(([, v]) => v === state);
  if (found === undefined) throw new InvalidArgumentError(field, `${String(state)} is not a request state`);
  return found[0];
}

function stepToProto(step: Step): RequestStep {
  return { kind: step.kind, by: step.by, at: new Date(step.at), reason: step.reason ?? '' };
}

function grantFromProto(grant: PbAccessGrant | undefined, field: string) {
  if (grant === undefined) throw new InvalidArgumentError(field, 'is required');
  return { subject: optional(grant.subject), role: optional(grant.role), actions: grant.actions, scope: grant.scope, durationSeconds: grant.durationSeconds };
}

export function requestToProto(request: ChangeRequest, state: RequestState): PbChangeRequest {
  return {
    id: request.id,
    org: request.org,
    kind: request.kind,
    requester: request.requester,
    action: request.action,
    resource: request.resource,
    before: request.before,
    after: request.after,
    contentHash: request.contentHash,
    reason: request.reason,
    ticket: request.ticket ?? '',
    requiredApprovals: request.required,
    state: STATES[state],
    approvals: request.approvals.map(stepToProto),
    history: request.history.map(stepToProto),
    createdAt: new Date(request.createdAt),
    expiresAt: new Date(request.expiresAt),
    access: request.access === undefined ? undefined : { ...request.access, role: request.access.role ?? '', actions: [...(request.access.actions ?? [])] },
    breakGlass: request.breakGlass,
    reviewClosed: request.reviewClosed === undefined ? undefined : stepToProto(request.reviewClosed),
    bindingId: request.bindingId ?? '',
  };
}

const response = (r: RequestResult) => ({ request: requestToProto(r.request, r.state), revision: r.revision });
const isId = (value: unknown): value is string => typeof value === 'string' && /^[0-9a-f-]{36}$/.test(value);

export function createApprovalsServiceImpl(approvals: Approvals): ApprovalsServiceImplementation<CallerContext> {
  return {
    async openChangeRequest(request, { caller, signal }) {
      return response(
        await approvals.openChange(
          caller,
          {
            action: request.action, resource: request.resource, before: request.before, after: request.after, reason: optional(request.reason),
            ticket: optional(request.ticket), requester: optional(request.requester), ttlSeconds: request.ttlSeconds,
          },
          { signal },
        ),
      );
    },
    async getRequest(request, { caller, signal }) {
      // A PEP (authz:check on the resource) reads the requests it opened for its users (the Node SDK's applyApproved).
      return response(await approvals.get(caller, { id: request.id, pep: true }, { signal }));
    },
    async listRequests(request, { caller, signal }) {
      const state = stateFromProto(request.state, 'state');
      const query = ['requests', request.scope, String(request.state)];
      const before = decodePageToken(request.pageToken, query, 'page_token', isId);
      const page = await approvals.list(caller, { scope: request.scope, state, before, limit: request.limit || 50 }, { signal });
      return { requests: page.requests.map((r) => requestToProto(r.request, r.state)), nextPageToken: page.last === undefined ? '' : encodePageToken(page.last, query) };
    },
    async approveRequest(request, { caller, signal }) {
      return response(await approvals.approve(caller, { id: request.id, reason: optional(request.reason) }, { signal }));
    },
    async rejectRequest(request, { caller, signal }) {
      return response(await approvals.reject(caller, { id: request.id, reason: optional(request.reason) }, { signal }));
    },
    async cancelRequest(request, { caller, signal }) {
      return response(await approvals.cancel(caller, { id: request.id, reason: optional(request.reason) }, { signal }));
    },
    async applyRequest(request, { caller, signal }) {
      return response(await approvals.apply(caller, { id: request.id, contentHash: request.contentHash, requester: optional(request.requester) }, { signal }));
    },
    async requestAccess(request, { caller, signal }) {
      return response(
        await approvals.requestAccess(caller, { grant: grantFromProto(request.grant, 'grant'), reason: optional(request.reason), ticket: optional(request.ticket), ttlSeconds: request.ttlSeconds }, { signal }),
      );
    },
    async breakGlass(request, { caller, signal }) {
      const change = request.access === undefined ? { action: request.action, resource: request.resource, before: request.before, after: request.after } : undefined;
      return response(
        await approvals.breakGlass(
          caller,
          { change, access: request.access === undefined ? undefined : grantFromProto(request.access, 'access'), reason: optional(request.reason), ticket: optional(request.ticket), durationSeconds: request.durationSeconds },
          { signal },
        ),
      );
    },
    async closeReview(request, { caller, signal }) {
      return response(await approvals.closeReview(caller, { id: request.id, reason: optional(request.reason) }, { signal }));
    },
  };
}
