/**
 * Change requests, access requests and break-glass (docs/approvals.md). Each call validates
 * its input, asks the engine who may do what (eligibility is a decision like any other), moves
 * the request through the pure state machine (domain/approvals.ts), and writes the new state
 * through the governed write as a `request.put` change: one transaction with its changelog row,
 * its audit event in the outbox and its Watch notice. An access request's binding is written by
 * the same governed write, judged by its effect with the approver as the caller; break-glass
 * access is judged by the break-glass rule (domain/break-glass.ts). No SQL here.
 */
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError, PermissionDeniedError } from '@warden/errors';
import { changeContentHash } from '@warden/audit-events';
import { parseAction, parseResource, parseSubject, type ResourcePath } from '@warden/names';
import { v7 as uuidv7 } from 'uuid';
import {
  DEFAULT_BREAK_GLASS_SECONDS,
  DEFAULT_TTL_MS,
  MAX_ACCESS_SECONDS,
  MAX_BREAK_GLASS_SECONDS,
  REQUEST_ACCESS_ACTION,
  SYSTEM_APPROVALS,
  approve,
  cancel,
  closeReview,
  effectiveState,
  expire,
  lastStep,
  markApplied,
  markGranted,
  openRequest,
  reasonOf,
  reject,
  type AccessGrant,
  type ChangeRequest,
  type RequestState,
} from '../domain/approvals.js';
import { BREAK_GLASS_ACTION } from '../domain/break-glass.js';
import type { Caller } from '../domain/caller.js';
import { isPlatformAdmin } from '../domain/caller.js';
import type { Change } from '../domain/changes.js';
import { decide } from '../domain/engine.js';
import { workingOwners } from '../domain/invariants.js';
import type { DecisionKind } from '../domain/model.js';
import { requiredApprovals } from '../domain/settings.js';
import type { GraphReader, GrantQueries, GrantSource, GrantWriter, RequestQueries, WriteResult } from '../ports.js';
import { planGrant } from './admin-plans.js';
import { createAdminRules } from './admin-rules.js';
import { NO_OPTIONS, type CallOptions } from './call.js';
import { CHECK_OTHERS_ACTION } from './check.js';
import { createGovernedWrite } from './governed-write.js';

export interface ApprovalsDeps {
  readonly source: GrantSource;
  readonly queries: GrantQueries;
  readonly writer: GrantWriter;
  readonly requests: RequestQueries;
  readonly platformAdmins: ReadonlySet<string>;
  /** How long a request stays open by default (24 h). */
  readonly defaultTtlMs?: number | undefined;
  readonly onWrite?: ((result: WriteResult) => void) | undefined;
  readonly now?: () => number;
  readonly newId?: () => string;
}

export interface ChangeInput {
  readonly action: string;
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly reason?: string | undefined;
  readonly ticket?: string | undefined;
  /** Empty: the caller. Another subject needs authz:check on the resource (a service for its user). */
  readonly requester?: string | undefined;
  readonly ttlSeconds?: number | undefined;
}

export interface AccessInput {
  readonly grant: { readonly subject?: string | undefined; readonly role?: string | undefined; readonly actions?: readonly string[] | undefined; readonly scope: string; readonly durationSeconds: number };
  readonly reason?: string | undefined;
  readonly ticket?: string | undefined;
  readonly ttlSeconds?: number | undefined;
}

export interface BreakGlassInput {
  readonly change?: { readonly action: string; readonly resource: string; readonly before: unknown; readonly after: unknown } | undefined;
  readonly access?: AccessInput['grant'] | undefined;
  readonly reason?: string | undefined;
  readonly ticket?: string | undefined;
  readonly durationSeconds?: number | undefined;
}

export interface RequestResult {
  readonly request: ChangeRequest;
  /** What a reader sees now (a live request past its expiry reads expired). */
  readonly state: RequestState;
  readonly revision: number;
}

const APPROVE = 'approvals:approve';
const READ = 'approvals:read';
const MANAGE = 'approvals:manage';
export const MAX_LIST = 500;

export function createApprovals(deps: ApprovalsDeps) {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? (() => uuidv7());
  const platform = (caller: Caller) => isPlatformAdmin(caller, deps.platformAdmins);
  const rules = createAdminRules({ source: deps.source, now, isPlatformAdmin: platform });
  // Eligibility is never a platform override: approving is a person's judgement.
  const governed = createGovernedWrite({ writer: deps.writer, queries: deps.queries, now, isPlatformAdmin: platform });
  const defaultTtl = deps.defaultTtlMs ?? DEFAULT_TTL_MS;

  function result(request: ChangeRequest, revision: number): RequestResult {
    return { request, state: effectiveState(request, now()), revision };
  }

  function written(write: WriteResult): number {
    if (write.changes.length > 0) deps.onWrite?.(write);
    return write.revision;
  }

  function person(caller: Caller, what: string): void {
    if (caller.kind === 'trusted_local') throw new PermissionDeniedError(`a trusted local caller may not ${what}: authenticate with a key or token`);
  }

  function inOrg(caller: Caller, org: string, field: string): void {
    if (caller.kind === 'api_key' && caller.org !== org) throw new PermissionDeniedError(`${field}: the API key of ${caller.subject} acts only within org:${caller.org}`);
  }

  async function decision(subject: string, action: string, resource: ResourcePath, signal?: AbortSignal): Promise<DecisionKind> {
    const view = await deps.source.view([{ subject, resource }], signal, { kind: 'fully_consistent' });
    return decide(view, { subject, action: parseAction(action), resource }, now()).decision;
  }

  /** The subject a call acts for: the caller, or (with authz:check on the resource) the one it names. */
  async function actingFor(caller: Caller, named: string | undefined, resource: ResourcePath, signal?: AbortSignal): Promise<string> {
    if (named === undefined || named === '' || named === caller.subject) return caller.subject;
    parseSubject(named, 'requester');
    if ((await decision(caller.subject, CHECK_OTHERS_ACTION, resource, signal)) !== 'ALLOW') {
      throw new PermissionDeniedError(`${caller.subject} may act only for itself here; acting for ${named} needs ${CHECK_OTHERS_ACTION} on ${resource.path}`);
    }
    return named;
  }

  function ttlOf(seconds: number | undefined): number {
    if (seconds === undefined || seconds === 0) return defaultTtl;
    if (!Number.isInteger(seconds) || seconds < 0) throw new InvalidArgumentError('ttl_seconds', 'must be a positive whole number of seconds');
    return seconds * 1000;
  }

  async function load(caller: Caller, id: string, signal?: AbortSignal): Promise<ChangeRequest> {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) throw new InvalidArgumentError('id', `${JSON.stringify(id.slice(0, 80))} is not a request id (a lowercase UUID)`);
    const request = await deps.requests.get(id, signal);
    // Another organization's request does not exist for this caller.
    if (request === undefined || (caller.kind === 'api_key' && caller.org !== request.org)) throw new NotFoundError(`request ${id} does not exist`);
    return request;
  }

  /**
   * Writes a request's next state (and `extra` changes) through the governed write. `via`: an
   * intermediate state recorded as its own step in the same write (an access request's last
   * approval, then its grant).
   */
  async function save(caller: Caller, next: ChangeRequest, previous: ChangeRequest | undefined, extra: readonly Change[] = [], guard?: (state: GraphReader) => Promise<void>, via?: ChangeRequest): Promise<RequestResult> {
    const steps: Change[] = via === undefined ? [{ kind: 'request.put', request: next, previous }] : [{ kind: 'request.put', request: via, previous }, { kind: 'request.put', request: next, previous: via }];
    const changes: Change[] = [...extra, ...steps];
    const write = await governed.apply(caller, next.org, changes, { actor: caller.subject, reason: lastStep(next).reason }, guard);
    return result(await stored(next), written(write));
  }

  /** An access request as committed (the write names the binding it created). */
  async function stored(request: ChangeRequest): Promise<ChangeRequest> {
    if (request.kind !== 'access' || request.state !== 'applied') return request;
    return (await deps.requests.get(request.id)) ?? request;
  }

  /** A live request past its time is recorded expired before anything else is refused. */
  async function refuseIfExpired(caller: Caller, request: ChangeRequest): Promise<void> {
    const expired = expire(request, now());
    if (expired === undefined) return;
    await save(caller, expired, request).catch(() => undefined);
    throw new FailedPreconditionError(`request ${request.id} expired at ${new Date(request.expiresAt).toISOString()}`);
  }

  function accessChange(request: ChangeRequest, catalogue: Parameters<typeof planGrant>[1], at: number) {
    const grant = request.access!;
    return planGrant({ subject: grant.subject, role: grant.role, actions: grant.actions, scope: grant.scope, expiresAt: new Date(at + grant.durationSeconds * 1000), reason: `${request.kind} request ${request.id}: ${request.reason}`.slice(0, 1000) }, catalogue, at);
  }

  async function catalogueOf(org: string, signal?: AbortSignal) {
    const orgRes = parseResource(`org:${org}`);
    const view = await deps.source.view([{ subject: 'service:warden', resource: orgRes }], signal);
    return view.catalogue(org);
  }

  /** Whether `caller` may approve or reject: approvals:approve (changes), or could grant it itself (access). */
  async function eligible(caller: Caller, request: ChangeRequest, signal?: AbortSignal): Promise<boolean> {
    const resource = parseResource(request.resource);
    if (request.kind === 'change') return (await decision(caller.subject, APPROVE, resource, signal)) === 'ALLOW';
    const plan = accessChange(request, await catalogueOf(request.org, signal), now());
    try {
      await rules.requireAll(caller, plan.gate.actions, plan.gate.resource, plan.gate.what, signal);
    } catch (error) {
      if (error instanceof PermissionDeniedError) return false;
      throw error;
    }
    return (await governed.preview(caller, request.org, plan.changes)).allowed;
  }

  function validGrant(grant: AccessInput['grant'], subject: string, maxSeconds: number): AccessGrant {
    const scope = parseResource(grant.scope, 'grant.scope');
    if (!Number.isInteger(grant.durationSeconds) || grant.durationSeconds <= 0 || grant.durationSeconds > maxSeconds) {
      throw new InvalidArgumentError('grant.duration_seconds', `must be a whole number of seconds from 1 to ${maxSeconds}`);
    }
    const role = grant.role === '' ? undefined : grant.role;
    const actions = grant.actions !== undefined && grant.actions.length > 0 ? [...grant.actions] : undefined;
    return { subject, role, actions, scope: scope.path, durationSeconds: grant.durationSeconds };
  }

  function accessContent(grant: AccessGrant) {
    return { action: REQUEST_ACCESS_ACTION, resource: grant.scope, before: null, after: { subject: grant.subject, role: grant.role ?? null, actions: grant.actions ?? null, scope: grant.scope, duration_seconds: grant.durationSeconds } };
  }

  return {
    /** Opens a change request; the requester's Check must answer REQUIRES_APPROVAL. */
    async openChange(caller: Caller, input: ChangeInput, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'open change requests');
      const resource = parseResource(input.resource, 'resource');
      const action = parseAction(input.action, 'action');
      inOrg(caller, resource.org, 'resource');
      const requester = await actingFor(caller, input.requester, resource, options.signal);
      const view = await deps.source.view([{ subject: requester, resource }], options.signal, { kind: 'fully_consistent' });
      const verdict = decide(view, { subject: requester, action, resource }, now());
      if (verdict.decision === 'ALLOW') throw new FailedPreconditionError(`${requester} is allowed ${action.action} on ${resource.path} without approval: no request is needed`);
      if (verdict.decision === 'DENY') throw new PermissionDeniedError(`${requester} may not ${action.action} on ${resource.path}, even with approval (${verdict.reason.code})`);
      const content = { action: action.action, resource: resource.path, before: input.before ?? null, after: input.after ?? null };
      const request = openRequest(
        {
          id: newId(), org: resource.org, kind: 'change', requester, ...content, contentHash: hashOf(content), reason: input.reason, ticket: input.ticket,
          required: requiredApprovals(resource.chain, (p) => view.attributes(p)), ttlMs: ttlOf(input.ttlSeconds),
        },
        now(),
      );
      return save(caller, request, undefined);
    },

    /** Opens an access request for the caller: a role or actions at a scope, for a bounded time. */
    /**
     * `idempotencyKey` (AuthZEN ARAP's Idempotency-Key): a retry by the same submitter with the
     * same content finds the request it opened; other content with the same key is a conflict.
     */
    async requestAccess(caller: Caller, input: AccessInput & { readonly requester?: string | undefined; readonly idempotencyKey?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'request access');
      const scope = parseResource(input.grant.scope, 'grant.scope');
      inOrg(caller, scope.org, 'grant.scope');
      // A PEP (authz:check on the scope) may ask for its user, as ARAP's access request endpoint does.
      const requester = await actingFor(caller, input.requester, scope, options.signal);
      if (input.grant.subject !== undefined && input.grant.subject !== '' && input.grant.subject !== requester) {
        throw new InvalidArgumentError('grant.subject', `an access request is for its requester (${requester}); leave it empty`);
      }
      const grant = validGrant(input.grant, requester, MAX_ACCESS_SECONDS);
      const catalogue = await catalogueOf(scope.org, options.signal);
      planGrant({ subject: grant.subject, role: grant.role, actions: grant.actions, scope: grant.scope }, catalogue, now()); // validates names
      const view = await deps.source.view([{ subject: requester, resource: scope }], options.signal);
      const content = accessContent(grant);
      const idempotencyKey = input.idempotencyKey === undefined ? undefined : `${caller.subject} ${input.idempotencyKey}`;
      if (idempotencyKey !== undefined) {
        if (input.idempotencyKey!.length === 0 || input.idempotencyKey!.length > 256) throw new InvalidArgumentError('idempotency_key', 'must be 1 to 256 characters');
        const earlier = await deps.requests.byIdempotencyKey(idempotencyKey, options.signal);
        if (earlier !== undefined) {
          if (earlier.requester === requester && earlier.contentHash === hashOf(content)) return result(earlier, 0);
          throw new ConflictError(`the Idempotency-Key was used for another request (${earlier.id}) with other content`);
        }
      }
      const request = openRequest(
        {
          id: newId(), org: scope.org, kind: 'access', requester, ...content, contentHash: hashOf(content), reason: input.reason, ticket: input.ticket,
          required: requiredApprovals(scope.chain, (p) => view.attributes(p)), ttlMs: ttlOf(input.ttlSeconds), access: grant, idempotencyKey,
        },
        now(),
      );
      return save(caller, request, undefined, [], async (state) => {
        const check = planGrant({ subject: grant.subject, role: grant.role, actions: grant.actions, scope: grant.scope }, catalogue, now()).check;
        await check?.(state);
      });
    },

    /**
     * One request: its requester, a subject allowed approvals:read on its resource, or (`pep`)
     * a PEP that may act for the requester there (authz:check), as ARAP's task endpoint allows.
     */
    async get(caller: Caller, input: { id: string; pep?: boolean | undefined }, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      const request = await load(caller, input.id, options.signal);
      if (request.requester === caller.subject) return result(request, 0);
      const resource = parseResource(request.resource);
      if (input.pep === true && caller.kind !== 'trusted_local' && (await decision(caller.subject, CHECK_OTHERS_ACTION, resource, options.signal)) === 'ALLOW') return result(request, 0);
      await rules.requireAll(caller, [READ], resource, `read request ${request.id}`, options.signal);
      return result(request, 0);
    },

    async list(
      caller: Caller,
      input: { scope: string; state?: RequestState | undefined; before?: string | undefined; limit: number },
      options: CallOptions = NO_OPTIONS,
    ): Promise<{ requests: RequestResult[]; last: string | undefined }> {
      const scope = parseResource(input.scope, 'scope');
      await rules.requireAll(caller, [READ], scope, `list the requests of ${scope.path}`, options.signal);
      const limit = Math.min(Math.max(input.limit, 1), MAX_LIST);
      // Stored state is filtered in the store; a live one past its time is filtered here (it reads expired).
      const stored = input.state === 'expired' ? undefined : input.state;
      const page = await deps.requests.list({ org: scope.org, scope: scope.path, state: stored, before: input.before, limit }, options.signal);
      const at = now();
      const requests = page.filter((r) => input.state === undefined || effectiveState(r, at) === input.state).map((r) => result(r, 0));
      return { requests, last: page.length === limit ? page.at(-1)?.id : undefined };
    },

    async approve(caller: Caller, input: { id: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'approve requests');
      const request = await load(caller, input.id, options.signal);
      await refuseIfExpired(caller, request);
      const ok = request.requester !== caller.subject && (await eligible(caller, request, options.signal));
      const next = approve(request, caller.subject, ok, now(), input.reason);
      if (next.kind !== 'access' || next.state !== 'approved') return save(caller, next, request);
      // The last approval of an access request creates its binding, judged with this approver as the caller.
      const granted = markGranted(next, caller.subject, now());
      const plan = accessChange(granted, await catalogueOf(granted.org, options.signal), now());
      await rules.requireAll(caller, plan.gate.actions, plan.gate.resource, plan.gate.what, options.signal);
      return save(caller, granted, request, plan.changes, plan.check, next);
    },

    async reject(caller: Caller, input: { id: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'reject requests');
      const request = await load(caller, input.id, options.signal);
      await refuseIfExpired(caller, request);
      const ok = request.requester !== caller.subject && (await eligible(caller, request, options.signal));
      return save(caller, reject(request, caller.subject, ok, now(), input.reason), request);
    },

    /** `requester`: a PEP cancelling for its user (authz:check on the resource), as ARAP's cancel link does. */
    async cancel(caller: Caller, input: { id: string; reason?: string | undefined; requester?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'cancel requests');
      const request = await load(caller, input.id, options.signal);
      const resource = parseResource(request.resource);
      const by = input.requester === undefined ? caller.subject : await actingFor(caller, input.requester, resource, options.signal);
      await refuseIfExpired(caller, request);
      const manager = request.requester !== by && (await decision(caller.subject, MANAGE, resource, options.signal)) === 'ALLOW';
      return save(caller, cancel(request, by, manager, now(), input.reason), request);
    },

    /** Records that the approved change was applied: same content hash, by its requester, once. */
    async apply(caller: Caller, input: { id: string; contentHash: string; requester?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'apply requests');
      if (!/^sha256:[0-9a-f]{64}$/.test(input.contentHash)) throw new InvalidArgumentError('content_hash', 'must be sha256:<64 hex digits> (changeContentHash of the change)');
      const request = await load(caller, input.id, options.signal);
      if (request.kind !== 'change') throw new FailedPreconditionError(`request ${request.id} is an access request: its approval creates the binding`);
      const resource = parseResource(request.resource);
      const by = await actingFor(caller, input.requester, resource, options.signal);
      await refuseIfExpired(caller, request);
      const next = markApplied(request, by, input.contentHash, now());
      // An approval skips the approval step, never a denial: a requester denied since (revoked, protected) may not apply.
      if ((await decision(request.requester, request.action, resource, options.signal)) === 'DENY') {
        throw new PermissionDeniedError(`${request.requester} may no longer ${request.action} on ${request.resource}: the approval does not override a denial`);
      }
      return save(caller, next, request);
    },

    /** Break-glass: a change approved at once, or access granted at once, with a review to close. */
    async breakGlass(caller: Caller, input: BreakGlassInput, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'break glass');
      if ((input.change === undefined) === (input.access === undefined)) throw new InvalidArgumentError('change', 'set exactly one of a change (action, resource) and an access grant');
      const reason = reasonOf(input.reason, 'reason', true);
      const seconds = input.durationSeconds === undefined || input.durationSeconds === 0 ? DEFAULT_BREAK_GLASS_SECONDS : input.durationSeconds;
      if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_BREAK_GLASS_SECONDS) throw new InvalidArgumentError('duration_seconds', `must be a whole number of seconds from 1 to ${MAX_BREAK_GLASS_SECONDS}`);
      const grant = input.access === undefined ? undefined : validGrant({ ...input.access, durationSeconds: seconds }, input.access.subject === undefined || input.access.subject === '' ? caller.subject : input.access.subject, MAX_BREAK_GLASS_SECONDS);
      const content = grant !== undefined ? accessContent(grant) : { action: parseAction(input.change!.action, 'action').action, resource: parseResource(input.change!.resource, 'resource').path, before: input.change!.before ?? null, after: input.change!.after ?? null };
      const resource = parseResource(content.resource);
      inOrg(caller, resource.org, 'resource');
      if ((await decision(caller.subject, BREAK_GLASS_ACTION, resource, options.signal)) !== 'ALLOW') {
        throw new PermissionDeniedError(`${caller.subject} may not break glass on ${resource.path}: it lacks ${BREAK_GLASS_ACTION} there`);
      }
      if (grant === undefined && (await decision(caller.subject, content.action, resource, options.signal)) === 'DENY') {
        throw new PermissionDeniedError(`${caller.subject} may not ${content.action} on ${resource.path}: break-glass skips approval, not a denial (take access first: a break-glass access grant)`);
      }
      const at = now();
      const opened = openRequest(
        { id: newId(), org: resource.org, kind: grant !== undefined ? 'access' : 'change', requester: caller.subject, ...content, contentHash: hashOf(content), reason, ticket: input.ticket, required: 1, ttlMs: seconds * 1000, access: grant, breakGlass: true },
        at,
      );
      const guard = async (state: GraphReader) => {
        const open = await state.openReviews(resource.org, caller.subject);
        if (open.length > 0) throw new FailedPreconditionError(`${caller.subject}'s last break-glass (request ${open[0]!.id}) has a review still open: an owner must close it before the next break-glass`);
      };
      if (grant === undefined) {
        // No grant-graph change: judged like any request write, plus the open-review rule.
        return save(caller, opened, undefined, [], guard);
      }
      const granted = markGranted(opened, caller.subject, at);
      const plan = accessChange(granted, await catalogueOf(granted.org, options.signal), at);
      const changes: Change[] = [...plan.changes, { kind: 'request.put', request: opened, previous: undefined }, { kind: 'request.put', request: granted, previous: opened }];
      const write = await governed.applyBreakGlass(caller, granted.org, resource.path, at + seconds * 1000, changes, { actor: caller.subject, reason }, async (state) => {
        await guard(state);
        await plan.check?.(state);
      });
      return result(await stored(granted), written(write));
    },

    /**
     * Records the expiry of every live request past its time (at most `limit`), each as its own
     * write by system:approvals with its audit event. A request's steps change no grant, so no
     * caller's rights are judged; the write still refuses a request that moved meanwhile.
     */
    async expireDue(limit = 100): Promise<number> {
      const at = now();
      let expired = 0;
      for (const request of await deps.requests.due(new Date(at), limit)) {
        const next = expire(request, at);
        if (next === undefined) continue;
        try {
          written(await deps.writer.apply([{ kind: 'request.put', request: next, previous: request }], { actor: SYSTEM_APPROVALS, reason: lastStep(next).reason }));
          expired++;
        } catch (error) {
          // Moved by a call meanwhile: the next sweep sees its new state.
          if (!(error instanceof FailedPreconditionError)) throw error;
        }
      }
      return expired;
    },

    /** An owner (not the requester) closes a break-glass request's review. */
    async closeReview(caller: Caller, input: { id: string; reason?: string | undefined }, options: CallOptions = NO_OPTIONS): Promise<RequestResult> {
      person(caller, 'close reviews');
      const request = await load(caller, input.id, options.signal);
      const graph = await deps.queries.orgGraph({ org: request.org, subjects: [caller.subject], roles: [], near: [], owners: true }, options.signal);
      if (!workingOwners(graph, now()).includes(caller.subject)) throw new PermissionDeniedError(`only an owner of org:${request.org} may close the review of a break-glass request`);
      return save(caller, closeReview(request, caller.subject, now(), input.reason), request);
    },
  };
}

export type Approvals = ReturnType<typeof createApprovals>;

function hashOf(content: { action: string; resource: string; before: unknown; after: unknown }): string {
  try {
    return changeContentHash(content);
  } catch {
    throw new InvalidArgumentError('after', 'the change must be JSON');
  }
}
