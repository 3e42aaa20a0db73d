/**
 * The one rule through the real stack: random management calls by random callers through the
 * admin use cases on real Postgres, where each change is judged on the part of the graph its
 * spec loads under the writers' lock. After each call the whole organization is read back and
 * compared by brute force: an accepted change gave no actor anything its caller did not hold
 * (owner-level actions only from an owner), took nothing from an owner or admin unless an owner
 * did it, and left a working owner; a refused change wrote nothing (same revision, same state).
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAction, parseResource } from '@warden/names';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';
import { PgGrantQueries } from '../src/adapters/postgres/pg-grant-queries.js';
import { PgGrantStore } from '../src/adapters/postgres/pg-grant-store.js';
import { applyWorld, PgGrantWriter } from '../src/adapters/postgres/pg-grant-writer.js';
import { PgApiKeyStore } from '../src/adapters/postgres/pg-api-key-store.js';
import { loadOrgGraph } from '../src/adapters/postgres/pg-org-graph.js';
import { currentRevision } from '../src/adapters/postgres/pg-revision.js';
import { MANAGEMENT_ACTIONS } from '../src/domain/catalogue.js';
import type { Caller } from '../src/domain/caller.js';
import { decide } from '../src/domain/engine.js';
import { workingOwners } from '../src/domain/invariants.js';
import type { DecisionKind } from '../src/domain/model.js';
import type { OrgGraph } from '../src/domain/org-graph.js';
import { parseWorld } from '../src/domain/world.js';
import { createAdmin, type Admin } from '../src/usecases/admin.js';

const USERS = ['user:a', 'user:b', 'user:c', 'user:d', 'user:e'];
const GROUPS = ['group:g1', 'group:g2'];
const PATHS = ['org:acme', 'org:acme/project:p', 'org:acme/project:p/env:dev', 'org:acme/project:p/env:prod', 'org:acme/project:q'];
const ROLES = ['owner', 'admin', 'member', 'viewer', 'env_writer', 'billing_admin', 'ops'];
const RANK: Record<DecisionKind, number> = { DENY: 0, REQUIRES_APPROVAL: 1, ALLOW: 2 };

let db: TestDatabase;
let admin: Admin;
const callerOf = (subject: string): Caller => ({ kind: 'jwt', subject, issuer: 'test' });

beforeAll(async () => {
  db = await createTestDatabase();
  await applyWorld(
    db.pool,
    parseWorld({
      orgs: [{
        id: 'acme',
        roles: [{ name: 'ops', actions: ['groups:manage', 'users:manage_roles', 'roles:manage', 'orgs:read', 'flags:*'] }],
        groups: [{ id: 'g1', members: ['user:e'] }],
        projects: [
          { id: 'p', environments: [{ id: 'dev', show_values_to_readers: true }, { id: 'prod', protected: true, require_approval: true }] },
          { id: 'q' },
        ],
        bindings: [
          { subject: 'user:a', role: 'owner' },
          { subject: 'user:b', role: 'admin' },
          { subject: 'user:c', role: 'member' },
          { subject: 'user:c', role: 'env_writer', scope: 'project:p' },
          { subject: 'user:d', role: 'viewer' },
          { subject: 'group:g1', role: 'ops' },
          // An owners group with no members: joining it is the escalation to catch.
          { subject: 'group:g2', role: 'owner' },
        ],
      }],
    }),
    { actor: 'system:test' },
  );
  admin = createAdmin({
    source: new PgGrantStore(db.pool),
    queries: new PgGrantQueries(db.pool),
    writer: new PgGrantWriter(db.pool),
    keys: new PgApiKeyStore(db.pool),
    platformAdmins: new Set(),
  });
});
afterAll(async () => {
  await db?.drop();
});

/** The whole organization, as the store holds it. */
const wholeOrg = () => loadOrgGraph(db.pool, { org: 'acme', subjects: [...USERS, ...GROUPS], roles: [], near: ['org:acme'], owners: true });

function decisions(graph: OrgGraph, now: number): Map<string, DecisionKind> {
  const out = new Map<string, DecisionKind>();
  for (const subject of USERS) {
    for (const path of PATHS) {
      for (const action of graph.catalogue().actions) {
        out.set(`${subject} ${action} ${path}`, decide(graph, { subject, action: parseAction(action), resource: parseResource(path) }, now).decision);
      }
    }
  }
  return out;
}

type Call = { readonly caller: string } & (
  | { readonly op: 'grant'; readonly subject: string; readonly role: string; readonly scope: string; readonly deny: boolean }
  | { readonly op: 'revoke'; readonly n: number }
  | { readonly op: 'join' | 'leave'; readonly group: string; readonly member: string }
  | { readonly op: 'role'; readonly actions: readonly string[] }
  | { readonly op: 'settings'; readonly path: string; readonly protect: boolean; readonly approve: boolean }
);

// Mostly the non-owners who hold some management action (the admin, the ops group's member):
// the callers an escalation would come from. Groups as subjects often: their members gain.
const callerArb = fc.constantFrom('user:b', 'user:e', 'user:b', 'user:e', 'user:c', 'user:a', 'user:d');
const subjectArb = fc.oneof(fc.constantFrom(...USERS), fc.constantFrom(...GROUPS));
// Often roles whose actions the non-owners do not all hold.
const roleArb = fc.oneof(fc.constantFrom(...ROLES), fc.constantFrom('owner', 'admin', 'billing_admin'));

const callArb: fc.Arbitrary<Call> = fc.oneof(
  { arbitrary: fc.record({ caller: callerArb, op: fc.constant('grant' as const), subject: subjectArb, role: roleArb, scope: fc.constantFrom(...PATHS), deny: fc.boolean() }), weight: 2 },
  fc.record({ caller: callerArb, op: fc.constant('grant' as const), subject: subjectArb, role: roleArb, scope: fc.constantFrom(...PATHS), deny: fc.boolean() }),
  fc.record({ caller: callerArb, op: fc.constant('revoke' as const), n: fc.nat(30) }),
  fc.record({ caller: callerArb, op: fc.constantFrom('join' as const, 'leave' as const), group: fc.constantFrom(...GROUPS), member: subjectArb }),
  fc.record({ caller: callerArb, op: fc.constant('role' as const), actions: fc.constantFrom(['flags:read'], ['groups:manage', 'orgs:read'], ['*'], ['users:manage_roles', 'orgs:read', 'flags:*']) }),
  fc.record({ caller: callerArb, op: fc.constant('settings' as const), path: fc.constantFrom(...PATHS.slice(1)), protect: fc.boolean(), approve: fc.boolean() }),
);

async function run(call: Call): Promise<void> {
  const caller = callerOf(call.caller);
  switch (call.op) {
    case 'grant':
      await admin.grantBinding(caller, { subject: call.subject, role: call.role, scope: call.scope, effect: call.deny ? 'deny' : 'allow' });
      return;
    case 'revoke': {
      const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM bindings WHERE org = 'acme' ORDER BY id`);
      if (rows.length > 0) await admin.revokeBinding(caller, { bindingId: rows[call.n % rows.length]!.id });
      return;
    }
    case 'join':
    case 'leave':
      await (call.op === 'join' ? admin.addGroupMember : admin.removeGroupMember)(caller, { org: 'acme', group: call.group, member: call.member });
      return;
    case 'role':
      await admin.putRole(caller, { org: 'acme', name: 'ops', actions: call.actions });
      return;
    case 'settings':
      await admin.putResource(caller, { path: call.path, settings: { protected: call.protect, require_approval: call.approve } });
      return;
  }
}

describe('the one rule through the real stack', () => {
  it('accepted calls give nothing their caller could not, refused calls write nothing, a working owner remains', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(callArb, { minLength: 10, maxLength: 10 }), async (calls) => {
        for (const call of calls) {
          const now = Date.now();
          const revision = await currentRevision(db.pool);
          const before = await wholeOrg();
          const outcome = await run(call).then(() => 'ok' as const, (error: unknown) => error as Error);
          const after = await wholeOrg();
          if (outcome !== 'ok') {
            refused++;
            expect(await currentRevision(db.pool), `a refused ${call.op} wrote: ${outcome.message}`).toBe(revision);
            continue;
          }
          accepted++;
          const was = decisions(before, now);
          const will = decisions(after, now);
          const callerOwner = workingOwners(before, now).includes(call.caller);
          for (const [key, decision] of will) {
            const [subject, action, path] = key.split(' ') as [string, string, string];
            const earlier = was.get(key)!;
            if (RANK[decision] > RANK[earlier]) {
              expect(RANK[was.get(`${call.caller} ${action} ${path}`)!], `${call.caller} gave ${key} by ${JSON.stringify(call)}`).toBeGreaterThanOrEqual(RANK[decision]);
              if (MANAGEMENT_ACTIONS.includes(action)) expect(callerOwner, `${call.caller} gave owner-level ${key}`).toBe(true);
            }
            if (RANK[decision] < RANK[earlier] && call.op !== 'settings' && subject !== call.caller) {
              const privileged = workingOwners(before, now).includes(subject) || MANAGEMENT_ACTIONS.some((m) => was.get(`${subject} ${m} org:acme`) === 'ALLOW');
              if (privileged) expect(callerOwner, `${call.caller} took ${key} from an owner or admin`).toBe(true);
            }
          }
          expect(workingOwners(after, now).length, `no working owner after ${JSON.stringify(call)}`).toBeGreaterThan(0);
        }
      }),
      { numRuns: 16, seed: 1129 },
    );
    expect(accepted).toBeGreaterThan(15);
    expect(refused).toBeGreaterThan(15);
  }, 240_000);
});
