/**
 * A minimal feature-flag service that uses Warden the way a team would: every change
 * goes through `warden.change` (checked at the point of change, applied, recorded
 * signed in the audit trail, one correlation id), reads through `warden.enforce`.
 *
 * Who is calling is taken from the `x-user` header: a stand-in for your own login
 * (demo only — in production, derive it from a verified session or token).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { ApprovalRequiredError, PermissionDeniedError, WardenUnavailableError, type Warden } from '@warden/sdk';

export interface Flag {
  enabled: boolean;
  rollout: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function createFlagService(warden: Warden): { app: FastifyInstance; flags: Map<string, Flag>; variables: Map<string, string> } {
  const flags = new Map<string, Flag>();
  const variables = new Map<string, string>();
  const app = Fastify();

  const path = (params: Record<string, string>, leaf: 'flag' | 'variable', name: string) => {
    for (const part of [params['project'], params['env'], name]) {
      if (part === undefined || !NAME.test(part)) throw Object.assign(new Error(`bad name ${JSON.stringify(part)}`), { statusCode: 400 });
    }
    return `org:acme/project:${params['project']}/env:${params['env']}/${leaf}:${name}`;
  };
  const userOf = (headers: Record<string, unknown>) => {
    const user = headers['x-user'];
    if (typeof user !== 'string' || user === '') throw Object.assign(new Error('send x-user: <email> (demo sign-in)'), { statusCode: 401 });
    return `user:${user}`;
  };

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply: FastifyReply) => {
    if (error instanceof PermissionDeniedError) return reply.code(403).send({ error: 'forbidden', reason: error.decision.reason.message });
    if (error instanceof ApprovalRequiredError) return reply.code(409).send({ error: 'approval_required', reason: error.decision.reason.message });
    if (error instanceof WardenUnavailableError) return reply.code(503).send({ error: 'authorization_unavailable' });
    return reply.code(error.statusCode ?? 500).send({ error: error.message });
  });

  app.get<{ Params: Record<string, string> }>('/projects/:project/envs/:env/flags/:flag', async (request) => {
    const resource = path(request.params, 'flag', request.params['flag']!);
    await warden.enforce({ subject: userOf(request.headers), action: 'flags:read', resource });
    return flags.get(resource) ?? { enabled: false, rollout: 0 };
  });

  app.post<{ Params: Record<string, string>; Body: { reason?: string } | undefined }>('/projects/:project/envs/:env/flags/:flag/enable', async (request) => {
    const resource = path(request.params, 'flag', request.params['flag']!);
    const before = flags.get(resource) ?? { enabled: false, rollout: 0 };
    const after = { ...before, enabled: true };
    return warden.change(
      { subject: userOf(request.headers), action: 'flags:enable', resource, before, after, reason: request.body?.reason, auditAction: 'flag.enabled' },
      ({ correlationId }) => {
        flags.set(resource, after);
        return { ...after, correlationId };
      },
    );
  });

  app.post<{ Params: Record<string, string>; Body: { percent: number; reason?: string } }>(
    '/projects/:project/envs/:env/flags/:flag/rollout',
    { schema: { body: { type: 'object', required: ['percent'], properties: { percent: { type: 'integer', minimum: 0, maximum: 100 }, reason: { type: 'string', maxLength: 1000 } } } } },
    async (request) => {
      const resource = path(request.params, 'flag', request.params['flag']!);
      const before = flags.get(resource) ?? { enabled: false, rollout: 0 };
      const after = { ...before, rollout: request.body.percent };
      return warden.change(
        { subject: userOf(request.headers), action: 'flags:rollout', resource, before: { rollout: before.rollout }, after: { rollout: after.rollout }, reason: request.body.reason, auditAction: 'flag.rollout_changed' },
        ({ correlationId }) => {
          flags.set(resource, after);
          return { ...after, correlationId };
        },
      );
    },
  );

  app.put<{ Params: Record<string, string>; Body: { value: string; reason?: string } }>(
    '/projects/:project/envs/:env/variables/:name',
    { schema: { body: { type: 'object', required: ['value'], properties: { value: { type: 'string', maxLength: 10_000 }, reason: { type: 'string', maxLength: 1000 } } } } },
    async (request) => {
      const resource = path(request.params, 'variable', request.params['name']!);
      const existed = variables.has(resource);
      // The audit trail records that the value changed, not the value.
      return warden.change(
        { subject: userOf(request.headers), action: 'variables:write', resource, before: { set: existed }, after: { set: true }, reason: request.body.reason, auditAction: 'variable.updated' },
        ({ correlationId }) => {
          variables.set(resource, request.body.value);
          return { updated: true, correlationId };
        },
      );
    },
  );

  return { app, flags, variables };
}
