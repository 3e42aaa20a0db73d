/** The error handler on a real fastify instance, through its whole request pipeline (inject). */
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { capturingLogger } from '../test/support/logger.js';
import {
  ConflictError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  PermissionDeniedError,
  ResourceExhaustedError,
  UnauthenticatedError,
  UnavailableError,
} from '@warden/errors';
import { httpErrorHandler } from './http-errors.js';

const { logger, lines: logged } = capturingLogger();

const THROWN: Record<string, () => Error> = {
  invalid: () => new InvalidArgumentError('resource', 'is required'),
  unauthenticated: () => new UnauthenticatedError('missing credentials'),
  denied: () => new PermissionDeniedError('no'),
  missing: () => new NotFoundError('no such binding'),
  conflict: () => new ConflictError('taken'),
  precondition: () => new FailedPreconditionError('last owner'),
  exhausted: () => new ResourceExhaustedError('too many'),
  unavailable: () => new UnavailableError('the store could not be read', { cause: new Error('ECONNREFUSED 10.0.0.7') }),
  bug: () => new TypeError("Cannot read properties of undefined (reading 'secret-detail')"),
};

let app: FastifyInstance;
beforeAll(async () => {
  app = Fastify({ bodyLimit: 1024, ajv: { customOptions: { coerceTypes: false } } });
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler(httpErrorHandler({ logger, bodyLimit: 1024, body: (request) => (request.url.startsWith('/access/') ? 'text' : 'json') }));
  for (const prefix of ['/access', '/connect']) {
    app.post<{ Params: { kind: string } }>(`${prefix}/:kind`, async (request) => {
      throw THROWN[request.params.kind]!();
    });
    app.post(`${prefix}/schema`, {
      schema: { body: { type: 'object', required: ['subject'], properties: { subject: { type: 'object', properties: { id: { type: 'string' } } } } } },
      handler: async () => ({ ok: true }),
    });
  }
  await app.ready();
});
afterAll(async () => app?.close());

const post = (url: string, payload: string, contentType = 'application/json') => app.inject({ method: 'POST', url, payload, headers: { 'content-type': contentType } });

describe('httpErrorHandler', () => {
  const table: Array<[string, number, string]> = [
    ['invalid', 400, 'invalid_argument'],
    ['unauthenticated', 401, 'unauthenticated'],
    ['denied', 403, 'permission_denied'],
    ['missing', 404, 'not_found'],
    ['conflict', 409, 'already_exists'],
    ['precondition', 400, 'failed_precondition'],
    ['exhausted', 429, 'resource_exhausted'],
    ['unavailable', 503, 'unavailable'],
  ];
  for (const [kind, status, code] of table) {
    it(`${code}: ${status} on every route, JSON on Connect-style routes, text on AuthZEN ones`, async () => {
      const connect = await post(`/connect/${kind}`, '{}');
      const authzen = await post(`/access/${kind}`, '{}');
      expect([connect.statusCode, authzen.statusCode]).toEqual([status, status]);
      expect(connect.json()).toEqual({ code, message: THROWN[kind]!().message });
      expect(authzen.headers['content-type']).toMatch(/^text\/plain/);
      expect(authzen.body).toBe(THROWN[kind]!().message);
    });
  }

  it('an unknown error is 500 with a generic message; its cause is logged, never echoed', async () => {
    logged.length = 0;
    const connect = await post('/connect/bug', '{}');
    expect(connect.statusCode).toBe(500);
    expect(connect.json()).toEqual({ code: 'internal', message: 'internal error' });
    expect(connect.body).not.toContain('secret-detail');
    expect(logged).toContainEqual(expect.objectContaining({ level: 50, msg: 'unexpected error', err: expect.objectContaining({ message: expect.stringContaining('secret-detail') }) }));
  });

  it('UNAVAILABLE is logged as a warning with the dependency error', async () => {
    logged.length = 0;
    await post('/connect/unavailable', '{}');
    expect(logged).toContainEqual(expect.objectContaining({ level: 40, msg: 'the store could not be read', err: expect.objectContaining({ message: 'ECONNREFUSED 10.0.0.7' }) }));
  });

  it("a caller's malformed request is 400 naming what is wrong, never 500", async () => {
    const cases: Array<[string, string, string | undefined, RegExp]> = [
      ['/connect/schema', '{}', undefined, /^body must have required property 'subject'$/],
      ['/connect/schema', '{"subject":{"id":42}}', undefined, /^subject\.id must be string$/],
      ['/connect/schema', '{"subject": ', undefined, /^the body is not valid JSON$/],
      ['/connect/schema', '', undefined, /^the body is not valid JSON$/],
      ['/connect/schema', '{}', 'text/plain', /^content-type must be application\/json$/],
    ];
    for (const [url, payload, type, message] of cases) {
      const connect = await post(url, payload, type);
      expect(connect.statusCode, `${payload} (${type})`).toBe(400);
      expect(connect.json<{ code: string; message: string }>().code).toBe('invalid_argument');
      expect(connect.json<{ message: string }>().message).toMatch(message);
      const authzen = await post(url.replace('/connect/', '/access/'), payload, type);
      expect(authzen.statusCode).toBe(400);
      expect(authzen.body).toMatch(message);
    }
  });

  it('a body over the limit is 413', async () => {
    const r = await post('/access/schema', JSON.stringify({ subject: { id: 'x'.repeat(2000) } }));
    expect(r.statusCode).toBe(413);
    expect(r.body).toBe('the body is larger than 1024 bytes');
  });
});
