import { describe, expect, it } from 'vitest';
import { TRUSTED_LOCAL, type Caller } from '../domain/caller.js';
import { mayAskIdentity } from './identity.js';

const callers = new Set(['service:audit']);
const key = (subject: string, platform: boolean): Caller => ({ kind: 'api_key', subject, org: 'acme', keyId: 'k', platform });

describe('who may use IdentityService', () => {
  it('a listed subject with an operator-issued key or a token', () => {
    expect(mayAskIdentity(key('service:audit', true), callers)).toBe(true);
    expect(mayAskIdentity({ kind: 'jwt', subject: 'service:audit', issuer: 'https://idp' }, callers)).toBe(true);
  });

  it('not a key an organization minted for the same name, not an unlisted subject, not a trusted loopback caller', () => {
    expect(mayAskIdentity(key('service:audit', false), callers)).toBe(false);
    expect(mayAskIdentity(key('service:acme-admin', true), callers)).toBe(false);
    expect(mayAskIdentity(TRUSTED_LOCAL, callers)).toBe(false);
    expect(mayAskIdentity(TRUSTED_LOCAL, new Set(['service:local']))).toBe(false);
  });
});
