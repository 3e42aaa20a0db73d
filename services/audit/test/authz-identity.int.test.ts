/**
 * AuthzIdentity against a real gRPC IdentityService server (a scripted one, so that slowness
 * and call counts can be controlled): the deadline on every call, the bounded caches, and a
 * Caller that carries no secret. The real authz: services/authz/test/audit-identity.int.test.ts.
 */
import { createServer, ServerError, Status, type Server } from 'nice-grpc';
import { afterEach, describe, expect, it } from 'vitest';
import { Decision } from '@warden/proto/authz/v1';
import { IdentityServiceDefinition, type IdentityServiceImplementation } from '@warden/proto/authz/v1/identity';
import { AuthzIdentity } from '../src/adapters/authz/authz-identity.js';

const SECRET = 'wdn_secretsecret_0123456789abcdefghijklmnopqrstuvwxyzABCDEFG';
let server: Server | undefined;
let identity: AuthzIdentity | undefined;

afterEach(async () => {
  identity?.close();
  await server?.shutdown();
  identity = undefined;
  server = undefined;
});

async function serve(impl: Partial<IdentityServiceImplementation>): Promise<string> {
  server = createServer();
  server.add(IdentityServiceDefinition, {
    authenticate: async () => ({ caller: { subject: 'service:reporter', kind: 'api_key', org: 'acme', keyId: 'k1', platformAdmin: false }, cacheTtlMs: 60_000, refusal: '' }),
    checkCredential: async () => ({ decision: Decision.DECISION_ALLOW, revision: 1 }),
    ...impl,
  });
  return `127.0.0.1:${await server.listen('127.0.0.1:0')}`;
}

describe('AuthzIdentity', () => {
  it('authz refusing audit\'s own credential is UNAVAILABLE for every caller (not their UNAUTHENTICATED)', async () => {
    const address = await serve({
      authenticate: async () => {
        throw new ServerError(Status.UNAUTHENTICATED, 'the API key is not valid (unknown, revoked or expired)');
      },
    });
    identity = AuthzIdentity.connect({ address, credential: 'revoked-audit-key', cacheMs: 0, timeoutMs: 2_000 });
    await expect(identity.authenticate(SECRET)).rejects.toMatchObject({ code: 'unavailable', message: expect.stringMatching(/own credential/) });
  });

  it('gives up on a slow authz at its deadline: UNAVAILABLE, never a caller or an allow', async () => {
    const hang = (_: unknown, context: { signal: AbortSignal }) => new Promise<never>((_resolve, reject) => context.signal.addEventListener('abort', () => reject(new ServerError(Status.CANCELLED, 'the client went away'))));
    const address = await serve({ authenticate: hang, checkCredential: hang });
    identity = AuthzIdentity.connect({ address, credential: 'audit-key', cacheMs: 0, timeoutMs: 200 });
    let started = performance.now();
    await expect(identity.authenticate(SECRET)).rejects.toMatchObject({ code: 'unavailable' });
    expect(performance.now() - started).toBeLessThan(2_000);
    started = performance.now();
    await expect(identity.allowed({ subject: 'service:x' }, 'audit:read', 'org:acme')).resolves.toBe(false); // not a caller it authenticated
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('remembers callers and decisions at most cacheMs; refusals are not remembered; the Caller holds no secret', async () => {
    let authentications = 0;
    let checks = 0;
    let refuse = false;
    const address = await serve({
      async authenticate(request, context) {
        authentications += 1;
        expect(context.metadata.get('authorization')).toBe('Bearer audit-key');
        if (refuse) return { cacheTtlMs: 60_000, refusal: 'the API key is not valid (unknown, revoked or expired)' };
        expect(request.credential).toBe(SECRET);
        return { caller: { subject: 'service:reporter', kind: 'api_key', org: 'acme', keyId: 'k1', platformAdmin: false }, cacheTtlMs: 60_000, refusal: '' };
      },
      async checkCredential(request) {
        checks += 1;
        return { decision: request.resource === 'org:acme' ? Decision.DECISION_ALLOW : Decision.DECISION_DENY, revision: 1 };
      },
    });
    identity = AuthzIdentity.connect({ address, credential: 'audit-key', cacheMs: 300, timeoutMs: 2_000 });
    const caller = await identity.authenticate(SECRET);
    expect(caller).toEqual({ subject: 'service:reporter', org: 'acme', platformAdmin: false });
    expect(JSON.stringify(caller)).not.toContain('secret');
    expect(await identity.authenticate(SECRET)).toBe(caller);
    expect(await identity.allowed(caller, 'audit:read', 'org:acme')).toBe(true);
    expect(await identity.allowed(caller, 'audit:read', 'org:acme')).toBe(true);
    expect(await identity.allowed(caller, 'audit:read', 'org:globex')).toBe(false);
    expect({ authentications, checks }).toEqual({ authentications: 1, checks: 2 });
    // Past cacheMs (even though authz allowed 60 s), authz is asked again, and now refuses.
    refuse = true;
    await new Promise((resolve) => setTimeout(resolve, 350));
    await expect(identity.authenticate(SECRET)).rejects.toMatchObject({ code: 'unauthenticated' });
    await expect(identity.authenticate(SECRET)).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(authentications).toBe(3);
    expect(await identity.allowed(caller, 'audit:read', 'org:acme')).toBe(true);
    expect(checks).toBe(3);
  });
});
