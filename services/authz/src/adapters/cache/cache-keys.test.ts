import { describe, expect, it } from 'vitest';
import { cacheKeysOf, invalidationPayload, parseInvalidation } from './cache-keys.js';

describe('cacheKeysOf', () => {
  it('names the units each kind of change touches', () => {
    expect(cacheKeysOf({ kind: 'binding.created', key: 'b1', before: null, after: { subject: 'user:a' } })).toEqual(['s:user:a']);
    expect(cacheKeysOf({ kind: 'binding.deleted', key: 'b1', before: { subject: 'group:g' }, after: null })).toEqual(['s:group:g']);
    expect(cacheKeysOf({ kind: 'resource.updated', key: 'org:acme/project:p', before: {}, after: {} })).toEqual(['r:org:acme/project:p']);
    expect(cacheKeysOf({ kind: 'role.deleted', key: 'acme/release_manager' })).toEqual(['o:acme']);
    expect(cacheKeysOf({ kind: 'group_member.added', key: 'group:eng<-user:ann' })).toEqual(['s:user:ann']);
    expect(cacheKeysOf({ kind: 'api_key.created', key: 'k1' })).toEqual([]);
  });

  it('refuses to guess: an unknown kind or a binding without subject means "drop everything"', () => {
    expect(cacheKeysOf({ kind: 'tenant.moved', key: 'x' })).toBeUndefined();
    expect(cacheKeysOf({ kind: 'binding.updated', key: 'b1', before: null, after: null })).toBeUndefined();
  });
});

describe('invalidation payload', () => {
  it('carries the revision and the units, and drops the units when too big for NOTIFY', () => {
    expect(parseInvalidation(invalidationPayload(7, [{ kind: 'resource.created', key: 'org:a' }]))).toEqual({ r: 7, k: ['r:org:a'] });
    const many = Array.from({ length: 2000 }, (_, i) => ({ kind: 'resource.created', key: `org:a/project:p${i}` }));
    const payload = invalidationPayload(8, many);
    expect(payload.length).toBeLessThan(8000);
    expect(parseInvalidation(payload)).toEqual({ r: 8, k: null });
    expect(parseInvalidation(invalidationPayload(9, [{ kind: 'mystery', key: 'x' }]))).toEqual({ r: 9, k: null });
    expect(parseInvalidation('not json')).toBeUndefined();
    expect(parseInvalidation('{"r":"1","k":[]}')).toBeUndefined();
  });
});
