/**
 * The adversarial property of the one rule, against a brute-force oracle that shares none of
 * its shortcuts: random management changes by random callers on a generated organization.
 * After every accepted change, no actor gained an action (anywhere in the organization) that
 * the caller could not grant — it holds it there at least as well, and is an owner for
 * owner-level actions or for loosening a resource's rules — no loss aimed at an owner or admin
 * came from a non-owner, and a working owner remains. Refused changes leave the state as it
 * was (the next change starts from it).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAction, parseResource } from '@warden/names';
import { MANAGEMENT_ACTIONS } from './catalogue.js';
import type { Change } from './changes.js';
import { decide } from './engine.js';
import { judgeChange } from './governance.js';
import { workingOwners } from './invariants.js';
import type { Binding, DecisionKind } from './model.js';
import { OrgGraph } from './org-graph.js';
import { weakenings } from './settings.js';

const NOW = Date.parse('2026-11-29T12:00:00Z');
const ORG = 'acme';
const USERS = ['user:a', 'user:b', 'user:c', 'user:d', 'user:e', 'service:s'];
const GROUPS = ['group:g1', 'group:g2', 'group:g3'];
const PATHS = [
  'org:acme',
  'org:acme/project:p',
  'org:acme/project:p/env:dev',
  'org:acme/project:p/env:prod',
  'org:acme/project:p/env:prod/flag:f',
  'org:acme/project:p/env:live',
  'org:acme/project:q',
  'org:acme/project:q/env:dev',
];
const ROLES = ['owner', 'admin', 'member', 'viewer', 'contributor', 'env_reader', 'env_writer', 'billing_admin', 'security_auditor', 'ops', 'reader', 'shipper'];
const ACTION_SETS = [['flags:enable'], ['groups:manage'], ['users:manage_roles', 'orgs:read'], ['keys:manage'], ['*'], ['variables:*'], ['roles:manage']];
const RANK: Record<DecisionKind, number> = { DENY: 0, REQUIRES_APPROVAL: 1, ALLOW: 2 };

function initial(): OrgGraph {
  const b = (id: number, subject: string, role: string, scope: string, extra: Partial<Binding> = {}): Binding => ({ id: `b${id}`, subject, role, scope, effect: 'allow', ...extra });
  return new OrgGraph({
    org: ORG,
    revision: 1,
    bindings: [
      b(1, 'user:a', 'owner', 'org:acme'),
      b(2, 'user:b', 'admin', 'org:acme'),
      b(3, 'user:c', 'member', 'org:acme'),
      b(4, 'user:c', 'env_writer', 'org:acme/project:p'),
      b(5, 'user:d', 'viewer', 'org:acme'),
      b(6, 'group:g1', 'ops', 'org:acme'),
      b(7, 'group:g2', 'env_writer', 'org:acme/project:q'),
      b(8, 'user:e', 'member', 'org:acme', { expiresAt: new Date(NOW + 3_600_000) }),
      b(9, 'service:s', 'reader', 'org:acme/project:p'),
    ],
    memberships: [{ group: 'group:g1', member: 'user:e' }],
    roles: [
      { name: 'ops', actions: ['groups:manage', 'users:manage_roles', 'roles:manage', 'keys:manage', 'orgs:read', 'flags:*'], membership: false },
      { name: 'reader', actions: ['flags:read', 'variables:read'], membership: false },
      { name: 'shipper', actions: ['flags:read', 'flags:enable', 'flags:rollout'], membership: false },
    ],
    declaredActions: [],
    attributes: new Map<string, Record<string, unknown>>([
      // An assignment below a project makes it visible (and its flags readable).
      ['org:acme', { visible_from_below: ['projects:read', 'flags:read'] }],
      ['org:acme/project:p/env:prod', { protected: true, protected_roles: ['owner', 'admin'], require_approval: true }],
      ['org:acme/project:p/env:dev', { show_values_to_readers: true }],
      // Protected without approval: a sensitive action there is decided by protection alone.
      ['org:acme/project:p/env:live', { protected: true, protected_roles: ['owner', 'admin', 'shipper'] }],
    ]),
  });
}

const subjectArb = fc.constantFrom(...USERS, ...GROUPS);
/** A change, or the index of a binding to delete (resolved against the state it is applied to). */
type Step = Change | { readonly kind: 'delete-nth'; readonly n: number };

function resolve(step: Step, graph: OrgGraph): Change {
  if (step.kind !== 'delete-nth') return step;
  const all = USERS.concat(GROUPS).flatMap((s) => graph.bindingsOf(s));
  return { kind: 'binding.delete', id: all.length === 0 ? 'none' : all[step.n % all.length]!.id };
}

const stepArb: fc.Arbitrary<Step> =
  fc.oneof(
    fc.record({ subject: subjectArb, role: fc.constantFrom(...ROLES), scope: fc.constantFrom(...PATHS), deny: fc.boolean(), expires: fc.boolean() }).map(
      ({ subject, role, scope, deny, expires }): Change => ({
        kind: 'binding.put',
        binding: { org: ORG, subject, role, actions: undefined, scope, effect: deny ? 'deny' : 'allow', expiresAt: expires ? new Date(NOW + 60_000) : undefined, condition: undefined, reason: undefined },
      }),
    ),
    fc.record({ subject: subjectArb, actions: fc.constantFrom(...ACTION_SETS), scope: fc.constantFrom(...PATHS), deny: fc.boolean() }).map(
      ({ subject, actions, scope, deny }): Change => ({
        kind: 'binding.put',
        binding: { org: ORG, subject, role: undefined, actions, scope, effect: deny ? 'deny' : 'allow', expiresAt: undefined, condition: undefined, reason: undefined },
      }),
    ),
    fc.nat(40).map((n): Step => ({ kind: 'delete-nth', n })),
    fc.nat(40).map((n): Step => ({ kind: 'delete-nth', n })),
    fc.record({ group: fc.constantFrom(...GROUPS), member: subjectArb, add: fc.boolean() }).map(({ group, member, add }): Change => ({ kind: add ? 'member.add' : 'member.remove', org: ORG, group, member })),
    fc.record({ name: fc.constantFrom('ops', 'reader'), actions: fc.constantFrom(...ACTION_SETS) }).map(
      ({ name, actions }): Change => ({ kind: 'role.put', role: { org: ORG, name, actions, membership: false, description: undefined, ceiling: undefined } }),
    ),
    // Built-in names redefined (as membership roles with or without a ceiling) and restored.
    fc.record({ name: fc.constantFrom('owner', 'admin', 'viewer', 'env_writer', 'member'), actions: fc.constantFrom(...ACTION_SETS), membership: fc.boolean(), ceiling: fc.constantFrom(undefined, ['*:read']) }).map(
      ({ name, actions, membership, ceiling }): Change => ({ kind: 'role.put', role: { org: ORG, name, actions, membership, description: undefined, ceiling: membership ? ceiling : undefined } }),
    ),
    fc.constantFrom('owner', 'admin', 'viewer', 'env_writer', 'member').map((name): Change => ({ kind: 'role.delete', org: ORG, name })),
    fc.record({ path: fc.constantFrom(...PATHS.slice(1)), protect: fc.boolean(), approve: fc.boolean(), show: fc.boolean(), visible: fc.constantFrom(undefined, ['projects:read'], ['flags:enable', 'variables:read']) }).map(
      ({ path, protect, approve, show, visible }): Change => ({
        kind: 'resource.put',
        path,
        org: ORG,
        attributes: { protected: protect, require_approval: approve, show_values_to_readers: show, ...(visible ? { visible_from_below: visible } : {}) },
      }),
    ),
  );

/** Every decision of every actor on every path, by brute force. */
function decisions(graph: OrgGraph): Map<string, DecisionKind> {
  const out = new Map<string, DecisionKind>();
  for (const subject of USERS) {
    for (const path of PATHS) {
      for (const action of graph.catalogue().actions) {
        out.set(`${subject} ${action} ${path}`, decide(graph, { subject, action: parseAction(action), resource: parseResource(path) }, NOW).decision);
      }
    }
  }
  return out;
}

const isOwner = (graph: OrgGraph, subject: string) => workingOwners(graph, NOW).includes(subject);
const isAdminLevel = (graph: OrgGraph, subject: string) =>
  MANAGEMENT_ACTIONS.some((action) => decide(graph, { subject, action: parseAction(action), resource: parseResource('org:acme') }, NOW).decision === 'ALLOW');

describe('the one rule, against a brute-force oracle', () => {
  it('no accepted change gives what the caller could not grant, takes from owners or admins without an owner, or leaves no owner', () => {
    let accepted = 0;
    let refused = 0;
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...USERS), stepArb), { minLength: 5, maxLength: 25 }),
        (steps) => {
          let graph = initial();
          for (const [caller, step] of steps) {
            const change = resolve(step, graph);
            const judgement = judgeChange({ caller, changes: [change], before: graph, now: NOW });
            if (!judgement.verdict.ok) {
              refused++;
              continue;
            }
            accepted++;
            const after = graph.withChanges([change]);
            const was = decisions(graph);
            const will = decisions(after);
            const callerOwner = isOwner(graph, caller);
            for (const [key, decision] of will) {
              const [subject, action, path] = key.split(' ') as [string, string, string];
              const before = was.get(key)!;
              if (RANK[decision] > RANK[before]) {
                const held = was.get(`${caller} ${action} ${path}`)!;
                expect(RANK[held], `${caller} gave ${key} (${before} → ${decision}) holding only ${held}, by ${JSON.stringify(change)}`).toBeGreaterThanOrEqual(RANK[decision]);
                if (MANAGEMENT_ACTIONS.includes(action)) expect(callerOwner, `${caller}, not an owner, gave owner-level ${key} by ${JSON.stringify(change)}`).toBe(true);
              }
              if (RANK[decision] < RANK[before] && change.kind !== 'resource.put' && subject !== caller && (isOwner(graph, subject) || isAdminLevel(graph, subject))) {
                expect(callerOwner, `${caller}, not an owner, took ${key} from an owner or admin by ${JSON.stringify(change)}`).toBe(true);
              }
            }
            if (change.kind === 'resource.put' && weakenings(graph.attributes(change.path), change.attributes).length > 0) {
              expect(callerOwner, `${caller}, not an owner, loosened ${change.path}`).toBe(true);
            }
            expect(workingOwners(after, NOW).length, `no working owner after ${JSON.stringify(change)} by ${caller}`).toBeGreaterThan(0);
            graph = after;
          }
        },
      ),
      { numRuns: 25, seed: 20261129 },
    );
    // The generator must exercise both sides of the rule.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(50);
  });
});
