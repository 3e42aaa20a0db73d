import { describe, expect, it } from 'vitest';
import { createMemoryGrantView } from '../adapters/memory/memory-grant-view.js';
import { ACME_PHASES, caseName, loadAcme } from '../../test/acme-scenario.js';
import { expectCase } from '../../test/support/expect-case.js';
import { decide } from './engine.js';
import { parseAction, parseResource } from '@warden/names';
import { parseWorld, type WorldFile } from './world.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');

function check(subject: string, action: string, resource: string, context?: Record<string, unknown>) {
  return { subject, action: parseAction(action), resource: parseResource(resource), context };
}

describe('the seed scenario on the in-memory oracle', () => {
  let world = loadAcme();
  for (const phase of ACME_PHASES) {
    describe(phase.name, () => {
      const next: WorldFile = structuredClone(world);
      phase.change?.(next);
      world = next;
      const view = createMemoryGrantView(parseWorld(next));
      for (const c of phase.cases) {
        it(caseName(c), () => {
          expectCase(decide(view, check(c.subject, c.action, c.resource, c.context), NOW), c);
        });
      }
    });
  }
});

function worldOf(bindings: unknown[], extra: Record<string, unknown> = {}) {
  return parseWorld({ orgs: [{ id: 'o', bindings, ...extra }] });
}

describe('engine rules', () => {
  it('ends on group cycles and still finds a grant through them', () => {
    const view = createMemoryGrantView(
      worldOf([{ subject: 'group:b', role: 'env_reader', scope: 'project:p' }], {
        groups: [
          { id: 'a', members: ['user:u', 'group:b'] },
          { id: 'b', members: ['group:a'] },
        ],
      }),
    );
    const decision = decide(view, check('user:u', 'flags:read', 'org:o/project:p/env:e'), NOW);
    expect(decision.decision).toBe('ALLOW');
    expect(decision.reason.binding?.subject).toBe('group:b');
    // Last, the wildcard of its type: bindings naming every user apply to it too.
    expect(view.subjectsOf('user:u', 'o')).toEqual(['user:u', 'group:a', 'group:b', 'user:*']);
  });

  it('a binding naming user:* applies to every user, never to another type; a deny on it denies everyone', () => {
    const view = createMemoryGrantView(
      worldOf([
        { subject: 'user:*', role: 'env_reader', scope: 'project:p' },
        { subject: 'user:*', actions: ['flags:read'], scope: 'project:p/env:locked', effect: 'deny' },
        { subject: 'user:boss', role: 'owner' },
      ]),
    );
    expect(decide(view, check('user:anyone', 'flags:read', 'org:o/project:p/env:e'), NOW)).toMatchObject({ decision: 'ALLOW', reason: { binding: { subject: 'user:*' } } });
    expect(decide(view, check('service:bot', 'flags:read', 'org:o/project:p/env:e'), NOW).decision).toBe('DENY');
    expect(decide(view, check('user:boss', 'flags:read', 'org:o/project:p/env:locked'), NOW)).toMatchObject({ decision: 'DENY', reason: { code: 'DENY_BINDING' } });
  });

  it('a binding applies to its scope and everything below, never above or beside', () => {
    const view = createMemoryGrantView(worldOf([{ subject: 'user:u', role: 'env_reader', scope: 'project:p' }]));
    expect(decide(view, check('user:u', 'flags:read', 'org:o/project:p'), NOW).decision).toBe('ALLOW');
    expect(decide(view, check('user:u', 'flags:read', 'org:o/project:p/env:e/flag:f'), NOW).decision).toBe('ALLOW');
    expect(decide(view, check('user:u', 'flags:read', 'org:o'), NOW).decision).toBe('DENY');
    expect(decide(view, check('user:u', 'flags:read', 'org:o/project:q'), NOW).decision).toBe('DENY');
    // A path that merely starts with the same characters is not below the scope.
    expect(decide(view, check('user:u', 'flags:read', 'org:o/project:pp'), NOW).decision).toBe('DENY');
  });

  it('wildcards: area:*, *:verb and *', () => {
    const view = createMemoryGrantView(
      worldOf(
        [
          { subject: 'user:a', role: 'flagger' },
          { subject: 'user:r', role: 'reader' },
        ],
        {
          roles: [
            { name: 'flagger', actions: ['flags:*'] },
            { name: 'reader', actions: ['*:read'] },
          ],
        },
      ),
    );
    expect(decide(view, check('user:a', 'flags:rollout', 'org:o/project:p'), NOW).decision).toBe('ALLOW');
    expect(decide(view, check('user:a', 'variables:write', 'org:o/project:p'), NOW).decision).toBe('DENY');
    expect(decide(view, check('user:r', 'secrets:read', 'org:o/project:p'), NOW).decision).toBe('ALLOW');
    expect(decide(view, check('user:r', 'secrets:reveal', 'org:o/project:p'), NOW).decision).toBe('DENY');
  });

  it('a deny whose condition cannot be evaluated still denies (fail closed)', () => {
    const view = createMemoryGrantView(
      worldOf([
        { subject: 'user:u', role: 'owner' },
        { subject: 'user:u', effect: 'deny', actions: ['secrets:reveal'], condition: 'request.ip.startsWith("10.")' },
      ]),
    );
    const decision = decide(view, check('user:u', 'secrets:reveal', 'org:o/project:p/env:e/secret:s'), NOW);
    expect(decision.decision).toBe('DENY');
    expect(decision.reason.code).toBe('DENY_BINDING');
    expect(decide(view, check('user:u', 'secrets:reveal', 'org:o/project:p', { ip: '192.168.1.1' }), NOW).decision).toBe('ALLOW');
    expect(decide(view, check('user:u', 'secrets:reveal', 'org:o/project:p', { ip: '10.1.1.1' }), NOW).decision).toBe('DENY');
  });

  it('an expired deny no longer denies', () => {
    const view = createMemoryGrantView(
      worldOf([
        { subject: 'user:u', role: 'owner' },
        { subject: 'user:u', effect: 'deny', actions: ['flags:*'], expires_at: '2026-01-01T00:00:00Z' },
      ]),
    );
    expect(decide(view, check('user:u', 'flags:enable', 'org:o/project:p'), NOW).decision).toBe('ALLOW');
  });

  it('expiry is exact to the millisecond', () => {
    const view = createMemoryGrantView(worldOf([{ subject: 'user:u', role: 'owner', expires_at: '2026-11-23T12:00:00.000Z' }]));
    expect(decide(view, check('user:u', 'flags:read', 'org:o'), NOW - 1).decision).toBe('ALLOW');
    expect(decide(view, check('user:u', 'flags:read', 'org:o'), NOW).reason.code).toBe('EXPIRED');
  });

  it('conditions see resource and subject attributes; stored resource attributes win over the caller', () => {
    const view = createMemoryGrantView(
      worldOf([{ subject: 'user:u', role: 'env_writer', condition: 'resource.attributes.tier == "free" && subject.attributes.mfa == true' }], {
        resources: [{ path: 'project:p', attributes: { tier: 'free' } }],
      }),
    );
    const base = check('user:u', 'flags:enable', 'org:o/project:p');
    expect(decide(view, { ...base, subjectAttributes: { mfa: true } }, NOW).decision).toBe('ALLOW');
    expect(decide(view, { ...base, subjectAttributes: { mfa: false } }, NOW).reason.code).toBe('CONDITION_FALSE');
    // The caller cannot override a stored attribute to satisfy a condition.
    const q = check('user:u', 'flags:enable', 'org:o/project:p');
    expect(decide(view, { ...q, resourceAttributes: { tier: 'gold' }, subjectAttributes: { mfa: true } }, NOW).decision).toBe('ALLOW');
  });

  it('a binding naming an unknown role grants nothing, and as a deny denies everything', () => {
    const base = createMemoryGrantView(worldOf([{ subject: 'user:u', role: 'owner' }]));
    const view = {
      ...base,
      bindingsAt: (subject: string, scope: string) =>
        subject === 'user:u' && scope === 'org:o'
          ? [...base.bindingsAt(subject, scope), { id: 'x', subject, scope, role: 'deleted_role', effect: 'deny' as const }]
          : base.bindingsAt(subject, scope),
    };
    expect(decide(view, check('user:u', 'flags:read', 'org:o'), NOW).reason.code).toBe('DENY_BINDING');
  });

  it('a ceiling caps whatever other memberships say, also one held through a group', () => {
    const view = createMemoryGrantView(
      worldOf(
        [
          { subject: 'group:everyone', role: 'viewer' },
          { subject: 'user:u', role: 'member' },
          { subject: 'user:u', role: 'env_writer', scope: 'project:p' },
          { subject: 'user:v', role: 'env_writer', scope: 'project:p' },
        ],
        { groups: [{ id: 'everyone', members: ['user:u', 'user:v'] }] },
      ),
    );
    // "The Viewer role always overrides access levels": a viewer membership caps even a member.
    expect(decide(view, check('user:u', 'flags:enable', 'org:o/project:p'), NOW).reason.code).toBe('CEILING');
    expect(decide(view, check('user:v', 'flags:enable', 'org:o/project:p'), NOW).reason.code).toBe('CEILING');
    expect(decide(view, check('user:u', 'flags:read', 'org:o/project:p'), NOW).decision).toBe('ALLOW');
  });
});
