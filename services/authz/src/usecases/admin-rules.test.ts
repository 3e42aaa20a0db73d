import { describe, expect, it } from 'vitest';
import { compileActions } from '../domain/actions.js';
import { actionToDecide, expandPatterns } from './admin-rules.js';

describe('expandPatterns (what a grant carries, for the no-escalation check)', () => {
  it('keeps exact actions, in and outside the catalogue', () => {
    expect(expandPatterns(['approvals:bypass', 'deploys:run'])).toEqual(['approvals:bypass', 'deploys:run']);
  });
  it('expands area wildcards over the catalogue and keeps the wildcard itself', () => {
    expect(expandPatterns(['billing:*'])).toEqual(['billing:*', 'billing:manage', 'billing:read']);
    expect(expandPatterns(['deploys:*'])).toEqual(['deploys:*']);
  });
  it('expands verb wildcards over the catalogue and keeps the wildcard itself', () => {
    expect(expandPatterns(['*:reveal'])).toEqual(['*:reveal', 'secrets:reveal']);
    expect(expandPatterns(['*:deploy'])).toEqual(['*:deploy']);
  });
  it('never returns nothing for something', () => {
    for (const pattern of ['*', 'a:*', '*:b', 'a:b']) expect(expandPatterns([pattern]).length).toBeGreaterThan(0);
  });
  it('a wildcard is matched only by grants that cover all of it', () => {
    const wildcard = actionToDecide('deploys:*');
    expect(compileActions(['deploys:*']).matches(wildcard.action)).toBe(true);
    expect(compileActions(['*']).matches(wildcard.action)).toBe(true);
    expect(compileActions(['deploys:run']).matches(wildcard.action)).toBe(false);
    expect(compileActions(['*:read']).matches(actionToDecide('*:read').action)).toBe(true);
    expect(compileActions(['flags:read']).matches(actionToDecide('*:read').action)).toBe(false);
    expect(compileActions(['flags:*', 'variables:*']).matches(actionToDecide('*').action)).toBe(false);
  });
});
