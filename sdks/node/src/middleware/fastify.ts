/**
 * fastify glue: a preHandler that checks each request with Warden and answers 403
 * with the reason (503 when Warden cannot answer). The decision is on `request.warden`.
 *
 *   app.addHook('preHandler', wardenPreHandler(warden, (req) => ({ subject: …, action: 'flags:enable', resource: … })));
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Warden } from '../client.js';
import type { Decision } from '../decision.js';
import { guard, type GuardOptions, type RequestMapper } from './shared.js';

declare module 'fastify' {
  interface FastifyRequest {
    warden?: Decision | undefined;
  }
}

export function wardenPreHandler(warden: Warden, map: RequestMapper<FastifyRequest>, options: GuardOptions = {}) {
  return async function wardenGuard(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const outcome = await guard(warden, map, request, options);
    if (outcome.allowed) {
      request.warden = outcome.decision;
      return;
    }
    await reply.code(outcome.status).type('application/json').send(outcome.body);
  };
}

export type { RequestMapper, GuardOptions };
