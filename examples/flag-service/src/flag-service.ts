/**
 * A minimal feature-flag service that uses Warden the way a team would: every change —
 * creates and deletes included — goes through `warden.change` (checked at the point of
 * change, applied, recorded signed in the audit trail, one correlation id), reads through
 * `warden.enforce`. A change that needs approval answers 202 with its change request id;
 * once approved, `POST /requests/:id/apply` applies exactly the approved change
 * (`warden.applyApproved`).
 *
 * Who is calling: with `authenticate` (what `npm run example` does), the verified subject of
 * `Authorization: Bearer <token>` (the example's development identity provider, dev-issuer.ts);
 * without it (in-process tests only), the `x-user` header.
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ApprovalMismatchError, ApprovalRequiredError, isPendingChange, PermissionDeniedError, WardenAuthError, WardenUnavailableError, type Warden } from '@warden/sdk';

export interface Flag {
  enabled: boolean;
  rollout: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface FlagServiceOptions {
  /** The subject (`user:<email>`) of a bearer token; throws when the token is not valid. */
  readonly authenticate?: ((token: string) => Promise<string>) | undefined;
}

export function createFlagService(warden: Warden, options: FlagServiceOptions = {}): { app: FastifyInstance; flags: Map<string, Flag>; variables: Map<string, string> } {
  const flags = new Map<string, Flag>();
  const variables = new Map<string, string>();
  const app = Fastify();

  const path = (params: Record<string, string>, leaf: 'flag' | 'variable', name: string) => {
    for (const part of [params['project'], params['env'], name]) {
      if (part === undefined || !NAME.test(part)) throw Object.assign(new Error(`bad name ${JSON.stringify(part)}`), { statusCode: 400 });
    }
    return `org:acme/project:${params['project']}/env:${params['env']}/${leaf}:${name}`;
  };
  const userOf = async (headers: Record<string, unknown>): Promise<string> => {
    if (options.authenticate !== undefined) {
      const header = headers['authorization'];
      const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
      if (token === '') throw Object.assign(new Error('send Authorization: Bearer <token> (sign in first)'), { statusCode: 401 });
      try {
        return await options.authenticate(token);
      } catch {
        throw Object.assign(new Error('the token is not valid'), { statusCode: 401 });
      }
    }
    const user = headers['x-user'];
    if (typeof user !== 'string' || user === '') throw Object.assign(new Error('send x-user: <email> (demo sign-in)'), { statusCode: 401 });
    return `user:${user}`;
  };

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply: FastifyReply) => {
    if (error instanceof PermissionDeniedError) return reply.code(403).send({ error: 'forbidden', reason: error.decision.reason.message });
    if (error instanceof ApprovalRequiredError) return reply.code(409).send({ error: 'approval_required', reason: error.decision.reason.message });
    if (error instanceof WardenUnavailableError) return reply.code(503).send({ error: 'authorization_unavailable' });
    if (error instanceof WardenAuthError) return reply.code(403).send({ error: 'forbidden', reason: error.message });
    if (error instanceof ApprovalMismatchError) return reply.code(409).send({ error: 'not_approved', reason: error.message });
    return reply.code(error.statusCode ?? 500).send({ error: error.message });
  });

  /** A change waiting for approval answers 202 with its request; anything else is the applied result. */
  const answer = (reply: FastifyReply, result: unknown) => {
    if (isPendingChange(result)) return reply.code(202).send({ status: 'pending', requestId: result.requestId, contentHash: result.contentHash, requiredApprovals: result.requiredApprovals, expiresAt: result.expiresAt });
    return result;
  };

  app.get<{ Params: Record<string, string> }>('/projects/:project/envs/:env/flags/:flag', async (request) => {
    const resource = path(request.params, 'flag', request.params['flag']!);
    await warden.enforce({ subject: await userOf(request.headers), action: 'flags:read', resource });
    return flags.get(resource) ?? { enabled: false, rollout: 0 };
  });

  app.post<{ Params: Record<string, string>; Body: { reason?: string } | undefined }>('/projects/:project/envs/:env/flags/:flag', async (request, reply) => {
    const resource = path(request.params, 'flag', request.params['flag']!);
    if (flags.has(resource)) return reply.code(409).send({ error: 'exists' });
    const after = { enabled: false, rollout: 0 };
    return answer(reply, await warden.change(
      { subject: await userOf(request.headers), action: 'flags:create', resource, before: null, after, reason: request.body?.reason, auditAction: 'flag.created' },
      ({ correlationId }) => {
        flags.set(resource, after);
        return { ...after, correlationId };
      },
    ));
  });

  app.delete<{ Params: Record<string, string> }>('/projects/:project/envs/:env/flags/:flag', async (request, reply) => {
    const resource = path(request.params, 'flag', request.params['flag']!);
    const before = flags.get(resource);
    if (before === undefined) return reply.code(404).send({ error: 'no such flag' });
    return answer(reply, await warden.change(
      { subject: await userOf(request.headers), action: 'flags:delete', resource, before, after: null, auditAction: 'flag.deleted' },
      ({ correlationId }) => {
        flags.delete(resource);
        return { deleted: true, correlationId };
      },
    ));
  });

  // Applies an approved flag change exactly as approved (the content hash is checked by the SDK and the service).
  // Only the request's requester applies it (checked before the approval is claimed).
  app.post<{ Params: { id: string } }>('/requests/:id/apply', async (request) => {
    const appliedBy = await userOf(request.headers);
    return warden.applyApproved(request.params.id, (approved) => {
      if (!approved.resource.includes('/flag:')) throw Object.assign(new Error('this service applies flag changes only'), { statusCode: 400 });
      if (approved.after === null) flags.delete(approved.resource);
      else flags.set(approved.resource, { ...(flags.get(approved.resource) ?? { enabled: false, rollout: 0 }), ...(approved.after as Partial<Flag>) });
      return { applied: true, requestId: approved.requestId, approvers: approved.approvers, flag: flags.get(approved.resource) ?? null };
    }, { appliedBy });
  });

  app.post<{ Params: Record<string, string>; Body: { reason?: string } | undefined }>('/projects/:project/envs/:env/flags/:flag/enable', async (request, reply) => {
    const resource = path(request.params, 'flag', request.params['flag']!);
    const before = flags.get(resource) ?? { enabled: false, rollout: 0 };
    const after = { ...before, enabled: true };
    return answer(reply, await warden.change(
      { subject: await userOf(request.headers), action: 'flags:enable', resource, before, after, reason: request.body?.reason, auditAction: 'flag.enabled' },
      ({ correlationId }) => {
        flags.set(resource, after);
        return { ...after, correlationId };
      },
    ));
  });

  app.post<{ Params: Record<string, string>; Body: { percent: number; reason?: string } }>(
    '/projects/:project/envs/:env/flags/:flag/rollout',
    { schema: { body: { type: 'object', required: ['percent'], properties: { percent: { type: 'integer', minimum: 0, maximum: 100 }, reason: { type: 'string', maxLength: 1000 } } } } },
    async (request, reply) => {
      const resource = path(request.params, 'flag', request.params['flag']!);
      const before = flags.get(resource) ?? { enabled: false, rollout: 0 };
      const after = { ...before, rollout: request.body.percent };
      return answer(reply, await warden.change(
        { subject: await userOf(request.headers), action: 'flags:rollout', resource, before: { rollout: before.rollout }, after: { rollout: after.rollout }, reason: request.body.reason, auditAction: 'flag.rollout_changed' },
        ({ correlationId }) => {
          flags.set(resource, after);
          return { ...after, correlationId };
        },
      ));
    },
  );

  app.put<{ Params: Record<string, string>; Body: { value: string; reason?: string } }>(
    '/projects/:project/envs/:env/variables/:name',
    { schema: { body: { type: 'object', required: ['value'], properties: { value: { type: 'string', maxLength: 10_000 }, reason: { type: 'string', maxLength: 1000 } } } } },
    async (request, reply) => {
      const resource = path(request.params, 'variable', request.params['name']!);
      const existed = variables.has(resource);
      // The audit trail records that the value changed, not the value. (This example applies
      // no approved variable change: the request's content would have to bind the value.)
      return answer(reply, await warden.change(
        { subject: await userOf(request.headers), action: 'variables:write', resource, before: { set: existed }, after: { set: true }, reason: request.body.reason, auditAction: 'variable.updated' },
        ({ correlationId }) => {
          variables.set(resource, request.body.value);
          return { updated: true, correlationId };
        },
      ));
    },
  );

  return { app, flags, variables };
}
