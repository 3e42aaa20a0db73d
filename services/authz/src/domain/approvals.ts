/**
 * Change requests and access requests: the state machine, pure (no I/O, `now` passed in).
 *
 *   pending ──approve×N──► approved ──apply──► applied
 *      │  └─reject──► rejected         │
 *      ├─cancel──► cancelled ◄─cancel──┤
 *      └─(expiresAt)──► expired ◄──────┘
 *
 * Invariants (property-tested in approvals.property.test.ts):
 *   - Nobody approves or rejects their own request; each approver counts once; only subjects
 *     the caller found eligible (the use case decides eligibility) may approve or reject.
 *   - One rejection rejects. A request is approved when it holds `required` distinct approvals.
 *   - An approval is bound to the request's content hash: applying needs the same hash, and a
 *     request is applied at most once (applied is final).
 *   - Past `expiresAt` a pending or approved request is expired: nothing moves it but `expire`.
 *   - Every step records who made it, when and why (`history`).
 * Break-glass requests are opened approved by their requester (no approvers), flagged, with a
 * review an owner must close; the use case refuses a subject's next break-glass while one is open.
 */
import { FailedPreconditionError, InvalidArgumentError, PermissionDeniedError } from '@warden/errors';

export type RequestState = 'pending' | 'approved' | 'rejected' | 'expired' | 'cancelled' | 'applied';
export type RequestKind = 'change' | 'access';
export type StepKind = 'opened' | 'break_glass' | 'approved' | 'rejected' | 'expired' | 'cancelled' | 'applied' | 'review_closed';

export const FINAL_STATES: ReadonlySet<RequestState> = new Set(['rejected', 'expired', 'cancelled', 'applied']);

export interface Step {
  readonly kind: StepKind;
  /** A subject, or `system:approvals` for expiry. */
  readonly by: string;
  readonly at: number;
  readonly reason?: string | undefined;
}

/** What an access request asks for: a binding of a role or of actions at a scope, for a while. */
export interface AccessGrant {
  readonly subject: string;
  readonly role?: string | undefined;
  readonly actions?: readonly string[] | undefined;
  readonly scope: string;
  /** How long the binding lasts once created. */
  readonly durationSeconds: number;
}

export interface ChangeRequest {
  readonly id: string;
  readonly org: string;
  readonly kind: RequestKind;
  readonly requester: string;
  /** The action the change needs (change requests), or `approvals:access` (access requests). */
  readonly action: string;
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
  /** changeContentHash({ action, resource, before, after }). */
  readonly contentHash: string;
  readonly reason: string;
  readonly ticket: string | undefined;
  /** Distinct approvals needed. */
  readonly required: number;
  readonly state: RequestState;
  readonly approvals: readonly Step[];
  readonly history: readonly Step[];
  readonly createdAt: number;
  readonly expiresAt: number;
  /** Bumped by every transition (optimistic concurrency in the store). */
  readonly version: number;
  readonly access: AccessGrant | undefined;
  readonly breakGlass: boolean;
  /** Break-glass only: the review an owner closes (undefined while open). */
  readonly reviewClosed: Step | undefined;
  /** Access requests: the binding approval created. */
  readonly bindingId: string | undefined;
  /** `<submitter> <Idempotency-Key>` of an AuthZEN access request submission (a retry finds this request). */
  readonly idempotencyKey?: string | undefined;
}

export const REQUEST_ACCESS_ACTION = 'approvals:access';
export const SYSTEM_APPROVALS = 'system:approvals';
export const DEFAULT_TTL_MS = 24 * 3600_000;
export const MAX_TTL_MS = 30 * 24 * 3600_000;
export const MAX_REQUIRED_APPROVALS = 10;
export const MAX_ACCESS_SECONDS = 30 * 24 * 3600;
export const MAX_BREAK_GLASS_SECONDS = 8 * 3600;
export const DEFAULT_BREAK_GLASS_SECONDS = 3600;
const MAX_REASON = 1024;
const MAX_TICKET = 256;
const MAX_CONTENT_BYTES = 64 * 1024;

/** The state a reader sees: pending or approved past its expiry is expired, whether or not recorded. */
export function effectiveState(request: ChangeRequest, now: number): RequestState {
  if ((request.state === 'pending' || request.state === 'approved') && now >= request.expiresAt) return 'expired';
  return request.state;
}

export function reasonOf(value: string | undefined, field: string, required: boolean): string | undefined {
  const reason = value?.trim() ?? '';
  if (reason === '') {
    if (required) throw new InvalidArgumentError(field, 'is required: say why');
    return undefined;
  }
  if (reason.length > MAX_REASON) throw new InvalidArgumentError(field, `is ${reason.length} characters; at most ${MAX_REASON} are allowed`);
  return reason;
}

export interface OpenInput {
  readonly id: string;
  readonly org: string;
  readonly kind: RequestKind;
  readonly requester: string;
  readonly action: string;
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly contentHash: string;
  readonly reason: string | undefined;
  readonly ticket: string | undefined;
  readonly required: number;
  readonly ttlMs: number;
  readonly access?: AccessGrant | undefined;
  /** Opened approved by its requester, flagged, with a review to close. */
  readonly breakGlass?: boolean | undefined;
  readonly idempotencyKey?: string | undefined;
}

export function openRequest(input: OpenInput, now: number): ChangeRequest {
  const reason = reasonOf(input.reason, 'reason', input.breakGlass === true || input.kind === 'access') ?? '';
  const ticket = input.ticket?.trim() === '' ? undefined : input.ticket?.trim();
  if (ticket !== undefined && ticket.length > MAX_TICKET) throw new InvalidArgumentError('ticket', `is ${ticket.length} characters; at most ${MAX_TICKET} are allowed`);
  if (!Number.isInteger(input.required) || input.required < 1 || input.required > MAX_REQUIRED_APPROVALS) {
    throw new InvalidArgumentError('required_approvals', `must be an integer from 1 to ${MAX_REQUIRED_APPROVALS}`);
  }
  if (!Number.isInteger(input.ttlMs) || input.ttlMs <= 0 || input.ttlMs > MAX_TTL_MS) throw new InvalidArgumentError('ttl', `must be more than 0 and at most ${MAX_TTL_MS / 3600_000} hours`);
  for (const [field, value] of [['before', input.before], ['after', input.after]] as const) {
    const text = JSON.stringify(value ?? null);
    if (text.length > MAX_CONTENT_BYTES) throw new InvalidArgumentError(field, `is ${text.length} bytes as JSON; at most ${MAX_CONTENT_BYTES} are allowed`);
  }
  const breakGlass = input.breakGlass === true;
  const history: Step[] = [{ kind: 'opened', by: input.requester, at: now, reason }];
  if (breakGlass) history.push({ kind: 'break_glass', by: input.requester, at: now, reason });
  return {
    id: input.id,
    org: input.org,
    kind: input.kind,
    requester: input.requester,
    action: input.action,
    resource: input.resource,
    before: input.before ?? null,
    after: input.after ?? null,
    contentHash: input.contentHash,
    reason,
    ticket,
    required: input.required,
    state: breakGlass ? 'approved' : 'pending',
    approvals: [],
    history,
    createdAt: now,
    expiresAt: now + input.ttlMs,
    version: 1,
    access: input.access,
    breakGlass,
    reviewClosed: undefined,
    bindingId: undefined,
    ...(input.idempotencyKey !== undefined ? { idempotencyKey: input.idempotencyKey } : {}),
  };
}

function moved(request: ChangeRequest, state: RequestState, step: Step, extra: Partial<ChangeRequest> = {}): ChangeRequest {
  return { ...request, ...extra, state, history: [...request.history, step], version: request.version + 1 };
}

function refuseUnlessLive(request: ChangeRequest, now: number, verb: string, ...states: RequestState[]): void {
  const state = effectiveState(request, now);
  if (state === 'expired' && request.state !== 'expired') {
    throw new FailedPreconditionError(`request ${request.id} expired at ${new Date(request.expiresAt).toISOString()}; it can no longer be ${verb}`);
  }
  if (!states.includes(state)) throw new FailedPreconditionError(`request ${request.id} is ${state}; only a ${states.join(' or ')} request can be ${verb}`);
}

/**
 * One approval. `eligible`: the approver is allowed to approve this request (the use case asked
 * the engine). Approved once `required` distinct subjects approved.
 */
export function approve(request: ChangeRequest, by: string, eligible: boolean, now: number, reason?: string): ChangeRequest {
  refuseUnlessLive(request, now, 'approved', 'pending');
  if (by === request.requester) throw new PermissionDeniedError(`${by} may not approve its own request ${request.id}`);
  if (!eligible) throw new PermissionDeniedError(`${by} is not an eligible approver of request ${request.id} on ${request.resource}`);
  if (request.approvals.some((a) => a.by === by)) throw new FailedPreconditionError(`${by} already approved request ${request.id}; approvals must come from ${request.required} distinct subjects`);
  const step: Step = { kind: 'approved', by, at: now, reason: reasonOf(reason, 'reason', false) };
  const approvals = [...request.approvals, step];
  return moved(request, approvals.length >= request.required ? 'approved' : 'pending', step, { approvals });
}

/** One rejection rejects. */
export function reject(request: ChangeRequest, by: string, eligible: boolean, now: number, reason: string | undefined): ChangeRequest {
  refuseUnlessLive(request, now, 'rejected', 'pending');
  if (by === request.requester) throw new PermissionDeniedError(`${by} may not reject its own request ${request.id}: cancel it instead`);
  if (!eligible) throw new PermissionDeniedError(`${by} is not an eligible approver of request ${request.id} on ${request.resource}`);
  return moved(request, 'rejected', { kind: 'rejected', by, at: now, reason: reasonOf(reason, 'reason', true) });
}

/** The requester, or someone allowed to manage approvals there (`manager`), withdraws a live request. */
export function cancel(request: ChangeRequest, by: string, manager: boolean, now: number, reason?: string): ChangeRequest {
  refuseUnlessLive(request, now, 'cancelled', 'pending', 'approved');
  if (by !== request.requester && !manager) throw new PermissionDeniedError(`${by} may not cancel request ${request.id}: only its requester or a subject allowed approvals:manage on ${request.resource} may`);
  return moved(request, 'cancelled', { kind: 'cancelled', by, at: now, reason: reasonOf(reason, 'reason', false) });
}

/** Records the expiry of a live request past its time; undefined when it is not due. */
export function expire(request: ChangeRequest, now: number): ChangeRequest | undefined {
  if (request.state !== 'pending' && request.state !== 'approved') return undefined;
  if (now < request.expiresAt) return undefined;
  return moved(request, 'expired', { kind: 'expired', by: SYSTEM_APPROVALS, at: now, reason: 'not applied before it expired' });
}

/**
 * Applies an approved request, once. `contentHash` is the hash of what is about to be applied:
 * it must be the approved one. Only the requester applies its request.
 */
export function markApplied(request: ChangeRequest, by: string, contentHash: string, now: number, extra: { readonly bindingId?: string | undefined } = {}): ChangeRequest {
  if (request.state === 'applied') throw new FailedPreconditionError(`request ${request.id} was already applied; an approval applies once`);
  refuseUnlessLive(request, now, 'applied', 'approved');
  if (by !== request.requester) throw new PermissionDeniedError(`${by} may not apply request ${request.id}: only its requester ${request.requester} may`);
  if (contentHash !== request.contentHash) {
    throw new FailedPreconditionError(`the change differs from what request ${request.id} approved (approved ${request.contentHash}, this one ${contentHash})`);
  }
  if (!request.breakGlass && new Set(request.approvals.map((a) => a.by)).size < request.required) {
    throw new FailedPreconditionError(`request ${request.id} has ${request.approvals.length} of ${request.required} approvals`);
  }
  return moved(request, 'applied', { kind: 'applied', by, at: now }, { bindingId: extra.bindingId ?? request.bindingId });
}

/**
 * An approved access request takes effect: its binding is created by the write that records this
 * step, made by `by` (the last approver, or the requester for break-glass access).
 */
export function markGranted(request: ChangeRequest, by: string, now: number): ChangeRequest {
  if (request.kind !== 'access') throw new FailedPreconditionError(`request ${request.id} is a change request; apply it with the change`);
  refuseUnlessLive(request, now, 'granted', 'approved');
  if (!request.breakGlass && new Set(request.approvals.map((a) => a.by)).size < request.required) {
    throw new FailedPreconditionError(`request ${request.id} has ${request.approvals.length} of ${request.required} approvals`);
  }
  return moved(request, 'applied', { kind: 'applied', by, at: now });
}

/** Closes a break-glass request's review (the use case checks the closer is an owner). */
export function closeReview(request: ChangeRequest, by: string, now: number, reason: string | undefined): ChangeRequest {
  if (!request.breakGlass) throw new FailedPreconditionError(`request ${request.id} is not a break-glass request; it has no review`);
  if (request.reviewClosed !== undefined) throw new FailedPreconditionError(`the review of request ${request.id} was already closed by ${request.reviewClosed.by}`);
  if (by === request.requester) throw new PermissionDeniedError(`${by} may not close the review of its own break-glass request ${request.id}`);
  const step: Step = { kind: 'review_closed', by, at: now, reason: reasonOf(reason, 'reason', true) };
  return { ...request, reviewClosed: step, history: [...request.history, step], version: request.version + 1 };
}

/** The last step: what a transition did (the audit event's action is `request.<kind>`). */
export function lastStep(request: ChangeRequest): Step {
  return request.history.at(-1)!;
}

/** What the audit trail and Watch carry of a request: everything but the change's content is small. */
export function requestSummary(request: ChangeRequest): Record<string, unknown> {
  return {
    id: request.id,
    kind: request.kind,
    state: request.state,
    requester: request.requester,
    action: request.action,
    resource: request.resource,
    content_hash: request.contentHash,
    required: request.required,
    approvers: request.approvals.map((a) => a.by),
    break_glass: request.breakGlass,
    expires_at: new Date(request.expiresAt).toISOString(),
    ...(request.ticket !== undefined ? { ticket: request.ticket } : {}),
    ...(request.bindingId !== undefined ? { binding_id: request.bindingId } : {}),
    ...(request.breakGlass ? { review: request.reviewClosed === undefined ? 'open' : `closed by ${request.reviewClosed.by}` } : {}),
  };
}
