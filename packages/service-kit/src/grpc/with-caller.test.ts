/** withCaller on a real nice-grpc server, called through a real client (grpc.health.v1 as the service). */
import { createChannel, createClient, createServer, Metadata, Status, type Channel, type Server } from 'nice-grpc';
import { HealthDefinition, type HealthServiceImplementation } from 'nice-grpc-server-health/lib/proto/grpc/health/v1/health.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../../test/support/logger.js';
import { InvalidArgumentError, NotFoundError, PermissionDeniedError, UnauthenticatedError, UnavailableError } from '@warden/errors';
import { withCaller, type CallerContext } from './with-caller.js';

const { logger, lines: logged } = capturingLogger();

/** The service name asked for says what to do; the status says who called. */
const implementation: HealthServiceImplementation<CallerContext<string>> = {
  async check(request, context) {
    switch (request.service) {
      case 'invalid':
        throw new InvalidArgumentError('eventId', 'must be a UUID');
      case 'denied':
        throw new PermissionDeniedError(`${context.caller} may not`);
      case 'missing':
        throw new NotFoundError('no such thing');
      case 'unavailable':
        throw new UnavailableError('the store could not be read', { cause: new Error('ECONNREFUSED 10.0.0.7') });
      case 'bug':
        throw new TypeError('secret-detail is undefined');
      default:
        return { status: context.caller === 'user:sarah' ? 1 : 2 };
    }
  },
  async *watch(request, context) {
    yield { status: 1 };
    if (request.service === 'denied') throw new PermissionDeniedError(`${context.caller} may not watch`);
  },
};

let server: Server;
let channel: Channel;
beforeAll(async () => {
  server = createServer();
  server.add(
    HealthDefinition,
    withCaller(HealthDefinition, implementation, {
      logger,
      identify: (context) => {
        const key = context.metadata.get('x-key');
        if (key === undefined) throw new UnauthenticatedError('send an x-key');
        return `user:${key}`;
      },
      fieldName: (field) => field.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`),
    }),
  );
  const port = await server.listen('127.0.0.1:0');
  channel = createChannel(`127.0.0.1:${port}`);
});
afterAll(async () => {
  channel?.close();
  await server?.shutdown();
});

const client = () => createClient(HealthDefinition, channel);
const as = (key: string) => ({ metadata: Metadata({ 'x-key': key }) });
const refusal = async (call: Promise<unknown>) => call.then(() => ({ code: Status.OK, details: '' }), (error: { code: Status; details: string }) => ({ code: error.code, details: error.details }));

describe('withCaller', () => {
  it('adds the identified caller to every call, unary and streaming', async () => {
    expect((await client().check({ service: '' }, as('sarah'))).status).toBe(1);
    expect((await client().check({ service: '' }, as('sam'))).status).toBe(2);
    const stream = [];
    for await (const item of client().watch({ service: '' }, as('sarah'))) stream.push(item.status);
    expect(stream).toEqual([1]);
  });

  it('refuses a caller identify refuses: UNAUTHENTICATED', async () => {
    expect(await refusal(client().check({ service: '' }))).toEqual({ code: Status.UNAUTHENTICATED, details: 'send an x-key' });
  });

  it('maps Warden errors by the one table; INVALID_ARGUMENT names the field as the wire spells it', async () => {
    expect(await refusal(client().check({ service: 'invalid' }, as('sarah')))).toEqual({ code: Status.INVALID_ARGUMENT, details: 'event_id: must be a UUID' });
    expect(await refusal(client().check({ service: 'denied' }, as('sam')))).toEqual({ code: Status.PERMISSION_DENIED, details: 'user:sam may not' });
    expect(await refusal(client().check({ service: 'missing' }, as('sam')))).toEqual({ code: Status.NOT_FOUND, details: 'no such thing' });
    const watched = async () => {
      for await (const _ of client().watch({ service: 'denied' }, as('sam'))) void _;
    };
    expect(await refusal(watched())).toEqual({ code: Status.PERMISSION_DENIED, details: 'user:sam may not watch' });
  });

  it('an unknown error is INTERNAL with a generic message, logged with its cause; UNAVAILABLE is a logged warning', async () => {
    logged.length = 0;
    expect(await refusal(client().check({ service: 'bug' }, as('sam')))).toEqual({ code: Status.INTERNAL, details: 'internal error' });
    expect(logged).toContainEqual(expect.objectContaining({ level: 50, msg: 'unexpected error', method: '/grpc.health.v1.Health/Check', err: expect.objectContaining({ message: 'secret-detail is undefined' }) }));
    expect(await refusal(client().check({ service: 'unavailable' }, as('sam')))).toEqual({ code: Status.UNAVAILABLE, details: 'the store could not be read' });
    expect(logged).toContainEqual(expect.objectContaining({ level: 40, msg: 'the store could not be read', err: expect.objectContaining({ message: 'ECONNREFUSED 10.0.0.7' }) }));
  });
});
