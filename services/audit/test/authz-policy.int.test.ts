/** The AccessPolicy adapter over a real authz gRPC connection: allow, deny, and fail closed. */
import { describe, expect, it } from 'vitest';
import { AuthzAccessPolicy } from '../src/adapters/authz/authz-access-policy.js';
import { UnavailableError } from '@warden/errors';
import { startAuthzDouble } from './support/authz-double.js';

describe('AuthzAccessPolicy', () => {
  it('asks Check and allows only DECISION_ALLOW', async () => {
    const authz = await startAuthzDouble([{ subject: 'user:sre@acme.com', action: 'audit:read', scope: 'org:acme' }]);
    const policy = AuthzAccessPolicy.connect(authz.address);
    try {
      expect(await policy.allowed({ subject: 'user:sre@acme.com' }, 'audit:read', 'org:acme/project:checkout')).toBe(true);
      expect(await policy.allowed({ subject: 'user:sre@acme.com' }, 'audit:export', 'org:acme')).toBe(false);
      expect(await policy.allowed({ subject: 'user:eve@acme.com' }, 'audit:read', 'org:acme')).toBe(false);
      expect(authz.checks).toEqual(['user:sre@acme.com audit:read org:acme/project:checkout', 'user:sre@acme.com audit:export org:acme', 'user:eve@acme.com audit:read org:acme']);
    } finally {
      policy.close();
      await authz.server.shutdown();
    }
  });

  it('fails closed (UNAVAILABLE, never an allow) when authz cannot be reached', async () => {
    const authz = await startAuthzDouble([]);
    const address = authz.address;
    await authz.server.shutdown();
    const policy = AuthzAccessPolicy.connect(address);
    try {
      await expect(policy.allowed({ subject: 'user:sre@acme.com' }, 'audit:read', 'org:acme')).rejects.toBeInstanceOf(UnavailableError);
    } finally {
      policy.close();
    }
  });
});
