import { parseResource } from '@warden/names';
import { describe, expect, it } from 'vitest';
import { BUILT_IN_CATALOGUE } from '../../domain/catalogue.js';
import type { Binding } from '../../domain/model.js';
import { newCacheCounters } from './cache-options.js';
import { LocalLayer } from './local-layer.js';
import type { Entry } from './units.js';

const resource = parseResource('org:acme/project:p/env:dev');
const binding = (subject: string, scope: string): Binding => ({ id: `${subject}@${scope}`, subject, role: 'viewer', scope, effect: 'allow' }) as Binding;
const subject = (rev: number, groups: string[], bindings: Binding[] = []): Entry => ({
  rev,
  unit: { t: 's', groups, groupsByOrg: new Map([['acme', groups]]), byScope: new Map(bindings.map((b) => [b.scope, [b]])) },
  size: 1,
});
const attrs = (rev: number): Entry => ({ rev, unit: { t: 'r', attrs: undefined }, size: 1 });
const org = (rev: number): Entry => ({ rev, unit: { t: 'o', roles: new Map(), catalogue: BUILT_IN_CATALOGUE }, size: 1 });

function warm(rev = 1): LocalLayer {
  const local = new LocalLayer(100, 1 << 20, newCacheCounters());
  local.set('acme', org(rev));
  for (const path of resource.chain) local.set(path, attrs(rev));
  local.set('user:ann', subject(rev, ['group:eng']));
  local.set('group:eng', subject(rev, ['group:all'], [binding('group:eng', 'org:acme/project:p')]));
  local.set('group:all', subject(rev, []));
  // The wildcard of ann's type: its unit must be present (empty here, so it joins no closure).
  local.set('user:*', subject(rev, []));
  return local;
}

describe('LocalLayer', () => {
  it('answers a request from its units at the revision it is given, with the closure and chain resolved', () => {
    const local = warm();
    const view = local.hit({ subject: 'user:ann', resource }, 7)!;
    expect(view.revision).toBe(7);
    expect(view.subjectsOf('user:ann', 'acme')).toEqual(['user:ann', 'group:eng', 'group:all']);
    expect(view.bindingsAt('group:eng', 'org:acme/project:p')).toHaveLength(1);
    // Memoised: the second hit gives the same answer.
    expect(local.hit({ subject: 'user:ann', resource }, 7)!.subjectsOf('user:ann', 'acme')).toEqual(['user:ann', 'group:eng', 'group:all']);
  });

  it('an invalidation drops units read before it, so a memo over them is not used again', () => {
    const local = warm();
    expect(local.hit({ subject: 'user:ann', resource }, 1)).toBeDefined();
    local.invalidate('s:group:eng', 2);
    expect(local.peek('group:eng')).toBeUndefined();
    // The closure memo held group:eng's entry: it is dead now, and the layer misses.
    expect(local.hit({ subject: 'user:ann', resource }, 2)).toBeUndefined();
    local.set('group:eng', subject(2, []));
    expect(local.hit({ subject: 'user:ann', resource }, 2)!.subjectsOf('user:ann', 'acme')).toEqual(['user:ann', 'group:eng']);
    local.invalidate('r:org:acme/project:p', 3);
    expect(local.hit({ subject: 'user:ann', resource }, 3)).toBeUndefined();
  });

  it('keeps a unit read at or after the invalidation; clear drops everything', () => {
    const local = warm(5);
    local.invalidate('s:user:ann', 5);
    expect(local.peek('user:ann')).toBeDefined();
    expect(local.hit({ subject: 'user:ann', resource }, 5)).toBeDefined();
    local.clear();
    expect(local.size).toBe(0);
    expect(local.hit({ subject: 'user:ann', resource }, 5)).toBeUndefined();
  });

  it('the wildcard of the subject\'s type joins the closure when it holds bindings; invalidating it ends the memo', () => {
    const local = warm();
    expect(local.hit({ subject: 'user:ann', resource }, 1)!.subjectsOf('user:ann', 'acme')).toEqual(['user:ann', 'group:eng', 'group:all']);
    local.invalidate('s:user:*', 2);
    expect(local.hit({ subject: 'user:ann', resource }, 2)).toBeUndefined();
    local.set('user:*', subject(2, [], [binding('user:*', 'org:acme')]));
    const view = local.hit({ subject: 'user:ann', resource }, 2)!;
    expect(view.subjectsOf('user:ann', 'acme')).toEqual(['user:ann', 'group:eng', 'group:all', 'user:*']);
    expect(view.bindingsAt('user:*', 'org:acme')).toHaveLength(1);
  });
});
