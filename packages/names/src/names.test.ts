import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@warden/errors';
import { chainOf, parseAction, parseActionPattern, parseResource, parseSubject } from './names.js';
import { parseOrgId, scopeOf, scopePath } from './scopes.js';

const fails = (fn: () => unknown, message: string) => {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(InvalidArgumentError);
  expect((error as Error).message).toBe(message);
};

describe('names', () => {
  it('parses a resource path into its scope chain', () => {
    const path = parseResource('org:acme/project:checkout/env:production/flag:checkout-v2');
    expect(path.org).toBe('acme');
    expect(path.chain).toEqual([
      'org:acme',
      'org:acme/project:checkout',
      'org:acme/project:checkout/env:production',
      'org:acme/project:checkout/env:production/flag:checkout-v2',
    ]);
    expect(chainOf(path.path)).toEqual(path.chain);
    expect(parseResource('org:acme/project:checkout/env:staging/variable:DATABASE_URL').segments.at(-1)).toEqual({ type: 'variable', id: 'DATABASE_URL' });
  });

  it('accepts the subjects of the design', () => {
    expect(parseSubject('user:sarah@acme.com')).toEqual({ type: 'user', id: 'sarah@acme.com' });
    expect(parseSubject('service:checkout-deployer').type).toBe('service');
    expect(parseSubject('group:release-managers').type).toBe('group');
  });

  it('says which part of a name is wrong', () => {
    fails(() => parseSubject('user:'), 'subject: id "" must be 1-254 characters of letters, digits and . _ @ + - starting with a letter or digit');
    fails(() => parseSubject('bot:x'), 'subject: type "bot" is not one of user, service, group');
    fails(() => parseResource('org:acme/project:'), 'resource: segment 2 ("project:") has id ""; ids are 1-128 letters, digits and . _ @ + - starting with a letter or digit');
    fails(() => parseResource('org:acme/Project:x'), 'resource: segment 2 ("Project:x") has type "Project"; types are lowercase letters, digits and _ (at most 32)');
    fails(() => parseResource('org:acme/org:other'), 'resource: segment 2 ("org:other"): an organization can only be the first segment');
    fails(() => parseResource('org:acme/'), 'resource: segment 2 ("") is not of the form type:id');
    fails(() => parseAction('flags:'), 'action: verb "" must be lowercase letters, digits and _ (at most 32)');
    fails(() => parseAction('flags:*'), 'action: verb "*" must be lowercase letters, digits and _ (at most 32)');
    fails(() => parseActionPattern('flags'), 'action: "flags" is not an action pattern (area:verb, area:*, *:verb or *)');
  });

  it('accepts action patterns', () => {
    for (const pattern of ['*', 'flags:*', '*:read', 'flags:enable']) expect(parseActionPattern(pattern)).toBe(pattern);
  });

  it('refuses control characters, path tricks and injection attempts', () => {
    for (const bad of ['org:acme/flag:a\nb', "org:acme/flag:a';DROP TABLE bindings;--", 'org:acme/../org:x', 'org:acme/flag:.hidden']) {
      expect(() => parseResource(bad)).toThrow(InvalidArgumentError);
    }
  });
});

describe('scopes', () => {
  it('reads the organization, project and environment of a path', () => {
    expect(scopeOf('org:acme/project:checkout/env:production/flag:checkout-v2')).toEqual({ org: 'acme', project: 'checkout', environment: 'production' });
    expect(scopeOf('org:acme/billing:main')).toEqual({ org: 'acme', project: '', environment: '' });
    expect(scopeOf('org:acme/project:api/database:main')).toEqual({ org: 'acme', project: 'api', environment: '' });
  });

  it('builds the path of a scope and parses organization ids', () => {
    expect(scopePath({ org: 'acme', project: 'checkout', environment: 'production' })).toBe('org:acme/project:checkout/env:production');
    expect(scopePath({ org: 'acme', environment: 'production' })).toBe('org:acme');
    expect(parseOrgId('org:acme')).toBe('acme');
    fails(() => parseOrgId('acme/x', 'filter.org'), 'filter.org: "acme/x" is not an organization id');
  });

  it('takes subject ids of up to 254 characters everywhere (one rule for grants and audit events)', () => {
    const id = `a${'b'.repeat(253)}`;
    expect(parseSubject(`user:${id}`).id).toBe(id);
    expect(() => parseSubject(`user:${id}b`)).toThrow(/must be 1-254 characters/);
  });
});
