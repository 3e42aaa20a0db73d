import { describe, expect, it } from 'vitest';
import { unitKeysByRevision, unitKeysOf } from './cache-keys.js';

describe('unit keys of a change notice', () => {
  it('maps what a revision touched to the units it invalidates', () => {
    expect(unitKeysOf({ subjects: ['user:a', 'group:g'], resources: ['org:acme/project:p'], orgs: ['acme'] })).toEqual(['s:user:a', 's:group:g', 'r:org:acme/project:p', 'o:acme']);
    expect(unitKeysOf({ subjects: [], resources: [], orgs: [] })).toEqual([]);
  });

  it('refuses to guess: a notice without its list means "drop everything"', () => {
    expect(unitKeysOf(null)).toBeNull();
    expect(unitKeysOf(undefined)).toBeNull();
    expect(unitKeysByRevision(new Map([[3, { subjects: ['user:u'], resources: [], orgs: [] }], [4, null]]))).toEqual(new Map([[3, ['s:user:u']], [4, null]]));
    expect(unitKeysByRevision(undefined)).toBeUndefined();
  });
});
