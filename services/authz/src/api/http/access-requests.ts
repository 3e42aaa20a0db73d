/**
 * OpenID AuthZEN Access Request and Approval Profile (ARAP), Draft 1 (openid/authzen,
 * profiles/authzen-access-request-approval/authzen-access-request-approval-profile-1_0.md at
 * e287920), the part Warden implements (docs/approvals.md):
 *
 *   - requestable denials: an AuthZEN evaluation denied for want of a binding (NO_BINDING)
 *     carries `context.access_request` {endpoint, expires_at, binding_token} (10 minutes);
 *   - POST /access/v1/requests: the PEP (allowed authz:check on the resource, or the subject
 *     itself) submits it; the service verifies the binding token (signature, the submitted
 *     subject/resource/action, freshness) and opens an access request for that action on that
 *     resource until `requested_access.requested_until` (default 1 hour) — approvers are those
 *     who could grant it themselves; approval writes the binding;
 *   - GET /access/v1/requests/{id}: the task; approved (the binding exists) → result
 *     {mode: "reevaluate", approval: {id, approved_at, approved_until}}: the PEP evaluates again
 *     and the PDP, authoritative, allows through the binding until it expires;
 *   - POST|DELETE /access/v1/requests/{id}/cancel.
 * Errors are application/problem+json (RFC 9457) with the profile's problem types.
 * An `Idempotency-Key` makes a retried submission find its task (other content: duplicate_request).
 * Not implemented: bundled `items`, callbacks, forms and catalogs; the
 * binding token is HS256 (the service is both PDP and Access Request Service), not a key
 * published at a jwks_uri.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConflictError, InvalidArgumentError, NotFoundError, WardenError, statusOf } from '@warden/errors';
import type { Caller } from '../../domain/caller.js';
import type { CheckInput, CheckResult } from '../../domain/model.js';
import type { Approvals, RequestResult } from '../../usecases/approvals.js';
import { resourcePathFor, subjectName, type Entity, type RequestableHint } from './authzen.js';
import type { Authorizer } from '../../usecases/check.js';
import { signDenial, verifyDenial } from './denial-binding.js';

/** How long a requestable-denial hint stays good. */
export const DENIAL_HINT_MS = 10 * 60_000;
const DEFAULT_ACCESS_SECONDS = 3600;
const PROBLEM = 'urn:openid:authzen:access-request:error:';

export interface AccessRequestDeps {
  readonly approvals: Approvals;
  /** Reads the caller's organization's catalogue, to map a client's resource name. */
  readonly authorizer: Authorizer;
  readonly callerOf: (request: FastifyRequest) => Caller;
  readonly publicUrl: string | undefined;
  /** The denial-binding secret (32 random bytes kept in Postgres). */
  readonly secret: Buffer;
  readonly now?: () => number;
}

class Problem extends Error {
  constructor(
    readonly type: string,
    readonly status: number,
    readonly title: string,
    detail: string,
  ) {
    super(detail);
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The hint for a denial Warden can turn into an access request: a denial for want of a binding. */
export function requestableHint(secret: Buffer, now: () => number = Date.now): RequestableHint {
  return async (check: CheckInput, result: CheckResult, base: string) => {
    if (result.decision !== 'DENY' || result.reason.code !== 'NO_BINDING') return undefined;
    const at = now();
    const expires = at + DENIAL_HINT_MS;
    const token = await signDenial(secret, { sub: check.subject, act: check.action, res: check.resource, exp: Math.floor(expires / 1000), iat: Math.floor(at / 1000) });
    return { endpoint: `${base}/access/v1/requests`, expires_at: iso(Math.floor(expires / 1000) * 1000), binding_token: token };
  };
}

const entity = { type: 'object', required: ['type', 'id'], properties: { type: { type: 'string', minLength: 1 }, id: { type: 'string', minLength: 1 }, properties: { type: 'object' } } } as const;
const submissionSchema = {
  type: 'object',
  required: ['subject'],
  properties: {
    subject: entity,
    resource: entity,
    action: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } } },
    items: { type: 'array' },
    context: { type: 'object' },
    requested_access: { type: 'object', properties: { requested_until: { type: 'string' } } },
    denial: {
      type: 'object',
      required: ['expires_at'],
      properties: { evaluation_id: { type: 'string' }, evaluated_at: { type: 'string' }, expires_at: { type: 'string' }, reason: { type: 'string' }, binding_token: { type: 'string' }, template: { type: 'string' } },
    },
  },
} as const;

interface Submission {
  subject: Entity;
  resource?: Entity;
  action?: { name: string };
  items?: unknown[];
  context?: Record<string, unknown>;
  requested_access?: { requested_until?: string };
  denial?: { evaluation_id?: string; expires_at: string; reason?: string; binding_token?: string };
}

function idempotencyKeyOf(request: FastifyRequest): string | undefined {
  const value = request.headers['idempotency-key'];
  return typeof value === 'string' ? value : undefined;
}

const STATUS: Readonly<Record<string, string>> = { pending: 'pending', approved: 'pending', applied: 'approved', rejected: 'denied', expired: 'expired', cancelled: 'cancelled' };

export function registerAccessRequests(app: FastifyInstance, deps: AccessRequestDeps): void {
  const now = deps.now ?? Date.now;
  const baseOf = (request: FastifyRequest) => deps.publicUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`;

  function task(request: FastifyRequest, found: RequestResult) {
    const r = found.request;
    const endpoint = `${baseOf(request)}/access/v1/requests/${r.id}`;
    // An access request is approved for ARAP once its binding exists (Warden's `applied`).
    const status = r.kind === 'access' ? (STATUS[found.state] ?? 'failed') : found.state === 'applied' || found.state === 'approved' ? 'approved' : (STATUS[found.state] ?? 'failed');
    const granted = r.history.find((s) => s.kind === 'applied');
    return {
      task: {
        id: r.id,
        status,
        status_endpoint: endpoint,
        ...(status === 'pending' ? { links: { cancel: `${endpoint}/cancel` } } : {}),
        expires_at: iso(r.expiresAt),
        progress: { completed_steps: new Set(r.approvals.map((a) => a.by)).size, total_steps: r.required },
      },
      ...(status === 'approved' && granted !== undefined
        ? { result: { mode: 'reevaluate', approval: { id: r.id, approved_at: iso(granted.at), approved_until: iso(granted.at + (r.access?.durationSeconds ?? 0) * 1000) } } }
        : {}),
    };
  }

  async function answer(reply: FastifyReply, run: () => Promise<unknown>): Promise<unknown> {
    try {
      return await run();
    } catch (error) {
      const problem =
        error instanceof Problem
          ? error
          : error instanceof NotFoundError
            ? new Problem(`${PROBLEM}unknown_task`, 404, 'Unknown task', error.message)
            : error instanceof ConflictError
            ? new Problem(`${PROBLEM}duplicate_request`, 409, 'Duplicate request', error.message)
            : error instanceof WardenError
              ? new Problem(error.code === 'failed_precondition' ? `${PROBLEM}invalid_task_state` : 'about:blank', error.code === 'failed_precondition' ? 409 : (statusOf(error)?.http ?? 500), error.code, error.message)
              : undefined;
      if (problem === undefined) throw error;
      return reply.code(problem.status).type('application/problem+json').send({ type: problem.type, title: problem.title, status: problem.status, detail: problem.message });
    }
  }

  app.post<{ Body: Submission }>('/access/v1/requests', { schema: { body: submissionSchema } }, async (request, reply) =>
    answer(reply, async () => {
      const body = request.body;
      if (body.items !== undefined) throw new Problem('about:blank', 400, 'Bundled requests are not supported', 'items: submit one resource and action per request');
      if (body.resource === undefined || body.action === undefined) throw new InvalidArgumentError('resource', 'resource and action are required');
      const subject = subjectName(body.subject, 'subject');
      const resource = await resourcePathFor(deps.authorizer, deps.callerOf(request), body.resource, 'resource');
      const action = body.action.name;
      const denial = body.denial;
      if (denial?.binding_token === undefined) throw new Problem(`${PROBLEM}invalid_denial_binding`, 400, 'Invalid denial binding', 'denial.binding_token is required: this service binds denials with signed tokens, not evaluation ids');
      const claims = await verifyDenial(deps.secret, denial.binding_token);
      if (claims === undefined) throw new Problem(`${PROBLEM}invalid_denial_binding`, 400, 'Invalid denial binding', 'denial.binding_token does not verify');
      if (claims.sub !== subject || claims.act !== action || claims.res !== resource) {
        throw new Problem(`${PROBLEM}invalid_denial_binding`, 400, 'Invalid denial binding', 'the binding token was issued for another subject, resource or action');
      }
      const echoed = Date.parse(denial.expires_at);
      if (Number.isNaN(echoed) || Math.floor(echoed / 1000) !== claims.exp) throw new Problem(`${PROBLEM}invalid_denial_binding`, 400, 'Invalid denial binding', 'denial.expires_at is not the expiry the binding token protects');
      if (now() > claims.exp * 1000) throw new Problem(`${PROBLEM}expired_denial`, 410, 'Expired denial', `the requestable denial expired at ${denial.expires_at}`);
      const until = body.requested_access?.requested_until === undefined ? undefined : Date.parse(body.requested_access.requested_until);
      if (until !== undefined && (Number.isNaN(until) || until <= now())) throw new InvalidArgumentError('requested_access.requested_until', 'must be an RFC 3339 time in the future');
      const seconds = until === undefined ? DEFAULT_ACCESS_SECONDS : Math.ceil((until - now()) / 1000);
      const reason = typeof body.context?.['business_justification'] === 'string' ? body.context['business_justification'] : `access request for ${action} on ${resource} (AuthZEN ARAP)`;
      const opened = await deps.approvals.requestAccess(
        deps.callerOf(request),
        { grant: { actions: [action], scope: resource, durationSeconds: seconds }, reason, ticket: undefined, requester: subject, idempotencyKey: idempotencyKeyOf(request) },
        { signal: AbortSignal.timeout(10_000) },
      );
      const out = task(request, opened);
      return reply.code(202).header('location', out.task.status_endpoint).send(out);
    }),
  );

  app.get<{ Params: { id: string } }>('/access/v1/requests/:id', async (request, reply) =>
    answer(reply, async () => task(request, await deps.approvals.get(deps.callerOf(request), { id: request.params.id, pep: true }, { signal: AbortSignal.timeout(10_000) }))),
  );

  const cancel = async (request: FastifyRequest<{ Params: { id: string } }>, reply: FastifyReply) =>
    answer(reply, async () => {
      const caller = deps.callerOf(request);
      const found = await deps.approvals.get(caller, { id: request.params.id, pep: true }, { signal: AbortSignal.timeout(10_000) });
      return task(request, await deps.approvals.cancel(caller, { id: found.request.id, requester: found.request.requester, reason: 'cancelled through the access request endpoint' }, { signal: AbortSignal.timeout(10_000) }));
    });
  app.post<{ Params: { id: string } }>('/access/v1/requests/:id/cancel', cancel);
  app.delete<{ Params: { id: string } }>('/access/v1/requests/:id/cancel', cancel);
}
