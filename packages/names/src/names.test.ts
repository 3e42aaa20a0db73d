import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '@warden/errors';
import { chainOf, decodeSegmentId, encodeSegmentId, parseAction, parseActionPattern, parseResource, parseSubject } from './names.js';
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
    fails(() => parseSubject('user:'), 'subject: id "" must be 1-254 characters with no whitespace, control characters, " or \\');
    fails(() => parseSubject('Bot:x'), 'subject: type "Bot" is not a subject type (lowercase letters, digits and _, at most 32, e.g. user)');
    fails(() => parseResource('org:acme/project:'), 'resource: segment 2 ("project:") has id ""; segment ids are 1-256 characters with /, %, a leading . and whitespace, control characters, " and \\ percent-encoded (%2F)');
    fails(() => parseResource('org:acme/Project:x'), 'resource: segment 2 ("Project:x") has type "Project"; types are lowercase letters, digits and _ (at most 32)');
    fails(() => parseResource('org:acme/org:other'), 'resource: segment 2 ("org:other"): an organization can only be the first segment');
    fails(() => parseResource('org:acme/'), 'resource: segment 2 ("") is not of the form type:id');
    fails(() => parseAction('flags:'), 'action: "flags:" is not an action: parts separated by ":" are 1-64 letters, digits, _ . - starting with a letter, digit or _ (e.g. "read", "GET", "flags:enable")');
    fails(() => parseAction('flags:*'), 'action: "flags:*" is not an action: parts separated by ":" are 1-64 letters, digits, _ . - starting with a letter, digit or _ (e.g. "read", "GET", "flags:enable")');
    fails(() => parseActionPattern('flags*'), 'action: "flags*" is not an action pattern (an action, area:*, *:verb or *)');
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

describe('names as clients use them (issue 14)', () => {
  it('takes subject types beyond the built-in ones and ids with | / : {} and UTF-8', () => {
    expect(parseSubject('identity:CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs')).toEqual({ type: 'identity', id: 'CiRmZDA2MTRkMy1jMzlhLTQ3ODEtYjdiZC04Yjk2ZjVhNTEwMGQSBWxvY2Fs' });
    expect(parseSubject('user:auth0|5f1c2a').id).toBe('auth0|5f1c2a');
    expect(parseSubject('user:jürgen@example.de').id).toBe('jürgen@example.de');
    expect(parseSubject('service:spiffe://acme/ns/x').id).toBe('spiffe://acme/ns/x');
    expect(parseSubject('user:*').id).toBe('*');
  });

  it('refuses what no name may hold: whitespace, control characters, quotes, backslashes, lone surrogates', () => {
    for (const bad of ['user:a b', 'user:a\nb', 'user:a"b', 'user:a\\b', 'user:\ud800', 'Identity:x', 'user:']) {
      expect(() => parseSubject(bad)).toThrow(InvalidArgumentError);
    }
    fails(() => parseSubject('bot x:y'), 'subject: type "bot x" is not a subject type (lowercase letters, digits and _, at most 32, e.g. user)');
  });

  it('maps any client id into one segment and back (percent-encoding /, %, a leading . and excluded characters)', () => {
    const ids = ['/users/{userId}', 'record-1', '7240d0db-8ff0-41ec-98b2-34a096273b91', 'auth0|5f1c2a', '100%', '.well-known', 'a b\tc"d\\e', 'urn:x:y', 'Zürich/東京'];
    for (const id of ids) {
      const segment = encodeSegmentId(id);
      expect(segment).not.toContain('/');
      const path = parseResource(`org:acme/route:${segment}`);
      expect(path.segments[1]).toEqual({ type: 'route', id: segment });
      expect(decodeSegmentId(path.segments[1]!.id)).toBe(id);
    }
    expect(encodeSegmentId('/users/{userId}')).toBe('%2Fusers%2F{userId}');
    expect(encodeSegmentId('record-1')).toBe('record-1');
  });

  it('takes only the one canonical encoding of a segment id (no two paths name one resource)', () => {
    for (const bad of ['org:acme/route:%41', 'org:acme/route:%2f', 'org:acme/route:%zz', 'org:acme/route:50%', 'org:acme/route:.x', 'org:acme/route:a b']) {
      expect(() => parseResource(bad), bad).toThrow(InvalidArgumentError);
    }
  });

  it('takes actions in the wider grammar, and patterns over them', () => {
    for (const action of ['read', 'GET', 'can_read_user', 'requirements:approve', 'feature_flags:toggle', 'a:b:c']) {
      expect(parseAction(action).action).toBe(action);
    }
    expect(parseAction('GET')).toEqual({ action: 'GET', area: '', verb: 'GET' });
    expect(parseAction('requirements:approve')).toEqual({ action: 'requirements:approve', area: 'requirements', verb: 'approve' });
    for (const pattern of ['read', 'GET', 'requirements:*', '*:approve', '*:*']) expect(parseActionPattern(pattern)).toBe(pattern);
    for (const bad of ['', ':read', 'read:', 'a b', 'GET*', 'x'.repeat(129)]) expect(() => parseAction(bad), bad).toThrow(InvalidArgumentError);
  });
});

