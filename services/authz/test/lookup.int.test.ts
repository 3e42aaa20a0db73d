/**
 * Property: Lookup results are exactly what brute-force Check allows, on a generated
 * world of 1,200 subjects (users, services, nested groups) with custom roles, deny
 * bindings, conditions, expiries, protected environments and a resource registry;
 * pages (small limits) concatenated equal the whole answer.
 */
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../src/usecases/check.js';
import type { WorldFile } from '../src/domain/world.js';
import { parseWorld } from '../src/domain/world.js';
import { createLookups, type PageResult } from '../src/usecases/lookups.js';
import { PgCandidates } from '../src/adapters/postgres/pg-candidates.js';
import { PgGrantStore } from '../src/adapters/postgres/pg-grant-store.js';
import { applyWorld } from '../src/adapters/postgres/pg-grant-writer.js';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';
import { seededRandom } from '@warden/testkit';

const USERS = 1000;
const SERVICES = 120;
const GROUPS = 80;
const PROJECTS = ['p0', 'p1', 'p2', 'p3', 'p4'];
const ENVS = ['dev', 'stage', 'prod'];
const FLAGS = ['f0', 'f1', 'f2', 'f3'];
const ACTIONS = ['flags:read', 'flags:enable', 'flags:rollout', 'variables:write', 'variables:read_value', 'secrets:reveal', 'projects:read', 'audit:read'];
const ROLES = ['owner', 'admin', 'member', 'viewer', 'contributor', 'env_reader', 'env_writer', 'security_auditor', 'shipper', 'peeker'];


function generateWorld(): { file: WorldFile; subjects: string[]; resources: string[] } {
  const r = seededRandom(20261123); // the world is the same on every run
  const pick = <T>(items: readonly T[]): T => items[Math.floor(r() * items.length)]!;
  const users = Array.from({ length: USERS }, (_, i) => `user:u${i}@big.example`);
  const services = Array.from({ length: SERVICES }, (_, i) => `service:svc${i}`);
  const groups = Array.from({ length: GROUPS }, (_, i) => `big-g${i}`);
  const scopes: string[] = ['org:big'];
  const resources: string[] = [];
  for (const p of PROJECTS) {
    scopes.push(`org:big/project:${p}`);
    for (const e of ENVS) {
      scopes.push(`org:big/project:${p}/env:${e}`);
      for (const f of FLAGS) resources.push(`org:big/project:${p}/env:${e}/flag:${f}`);
    }
  }
  const members = groups.map((g, i) => ({
    id: g,
    members: [
      ...Array.from({ length: 12 }, () => pick(users)),
      ...(r() < 0.3 ? [pick(services)] : []),
      // Nested groups, cycles included.
      ...(r() < 0.4 ? [`group:${groups[(i + 1 + Math.floor(r() * 5)) % GROUPS]}`] : []),
    ].filter((m, j, all) => all.indexOf(m) === j),
  }));
  const bindings: NonNullable<WorldFile['orgs'][number]['bindings']> = [];
  const seen = new Set<string>();
  const add = (b: (typeof bindings)[number]) => {
    const key = [b.subject, b.role ?? b.actions?.join(','), b.scope, b.effect].join(' ');
    if (!seen.has(key)) {
      seen.add(key);
      bindings.push(b);
    }
  };
  for (const u of users) add({ subject: u, role: r() < 0.1 ? 'viewer' : 'member' });
  add({ subject: users[0]!, role: 'owner' });
  for (let i = 0; i < 2500; i++) {
    const subject = r() < 0.6 ? pick(users) : r() < 0.5 ? `group:${pick(groups)}` : pick(services);
    const scope = pick(scopes.slice(1));
    const roll = r();
    add({
      subject,
      ...(r() < 0.15 ? { actions: [pick(ACTIONS)] } : { role: pick(ROLES.filter((x) => !['owner', 'admin', 'member', 'viewer'].includes(x))) }),
      scope,
      effect: roll < 0.07 ? 'deny' : 'allow',
      ...(roll > 0.93 ? { condition: 'request.ticket != ""' } : {}),
      ...(roll > 0.88 && roll <= 0.93 ? { expires_at: r() < 0.5 ? '2020-01-01T00:00:00Z' : '2099-01-01T00:00:00Z' } : {}),
    });
  }
  for (let i = 0; i < 30; i++) add({ subject: pick(users), role: 'admin' });
  const file: WorldFile = {
    orgs: [{
      id: 'big',
      roles: [
        { name: 'shipper', actions: ['flags:*', 'variables:write'] },
        { name: 'peeker', actions: ['*:read', 'variables:read_value'] },
      ],
      groups: members,
      projects: PROJECTS.map((p) => ({
        id: p,
        environments: ENVS.map((e) => ({ id: e, ...(e === 'prod' ? { protected: true, protected_roles: ['owner', 'admin', 'shipper'] } : {}), ...(e === 'stage' ? { show_values_to_readers: true } : {}) })),
      })),
      resources: resources.map((path) => ({ path })),
      bindings,
    }],
  };
  return { file, subjects: [...users, ...services, ...groups.map((g) => `group:${g}`)], resources: [...scopes, ...resources] };
}

let db: TestDatabase;
let world: ReturnType<typeof generateWorld>;
beforeAll(async () => {
  db = await createTestDatabase();
  world = generateWorld();
  await applyWorld(db.pool, parseWorld(world.file), { actor: 'system:test' });
});
afterAll(async () => {
  await db.drop();
});

async function allPages(fetch: (token: string | undefined) => Promise<PageResult<string>>): Promise<string[]> {
  const out: string[] = [];
  let token: string | undefined;
  for (let i = 0; i < 10_000; i++) {
    const page = await fetch(token);
    out.push(...page.results);
    if (page.nextToken === '') return out;
    token = page.nextToken;
  }
  throw new Error('paging did not end');
}

describe('lookups equal brute-force Check on a 1,200-subject world', () => {
  const source = () => new PgGrantStore(db.pool);
  const lookups = () => createLookups({ source: source(), candidates: new PgCandidates(db.pool) });

  it('the world is as large as promised', () => {
    expect(world.subjects.length).toBeGreaterThanOrEqual(1200);
  });

  it('LookupSubjects', async () => {
    const authorizer = createAuthorizer({ source: source() });
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...ACTIONS),
        fc.constantFrom(...world.resources),
        fc.constantFrom(undefined, 'user', 'group', 'service'),
        fc.constantFrom(undefined, { ticket: 'T-1' }),
        fc.integer({ min: 7, max: 60 }),
        async (action, resource, subjectType, context, limit) => {
          const pool = world.subjects.filter((s) => subjectType === undefined || s.startsWith(`${subjectType}:`));
          const expected: string[] = [];
          for (let i = 0; i < pool.length; i += 1000) {
            const chunk = pool.slice(i, i + 1000);
            const { results } = await authorizer.checkBatch(TRUSTED_LOCAL, chunk.map((subject) => ({ subject, action, resource, context })));
            results.forEach((result, j) => {
              if (result.decision === 'ALLOW') expected.push(chunk[j]!);
            });
          }
          const found = await allPages((token) => lookups().lookupSubjects(TRUSTED_LOCAL, { action, resource, subjectType, context, page: { token, limit } }));
          expect(found).toEqual([...expected].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
          if (found.length > 0) nonEmpty++;
        },
      ),
      { numRuns: 20 },
    );
    expect(nonEmpty, 'the sample must include non-empty answers').toBeGreaterThan(4);
  });

  it('LookupResources', async () => {
    const authorizer = createAuthorizer({ source: source() });
    let nonEmpty = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...world.subjects.slice(0, 200), ...world.subjects.slice(USERS, USERS + 20)),
        fc.constantFrom(...ACTIONS),
        fc.constantFrom('flag', 'env', 'project'),
        fc.constantFrom('org:big', 'org:big/project:p0', 'org:big/project:p3/env:prod'),
        fc.integer({ min: 1, max: 25 }),
        async (subject, action, type, scope, limit) => {
          const candidates = world.resources.filter((path) => (path === scope || path.startsWith(`${scope}/`)) && path.slice(path.lastIndexOf('/') + 1).startsWith(`${type}:`));
          const expected = candidates.length === 0 ? [] : (await authorizer.checkBatch(TRUSTED_LOCAL, candidates.map((resource) => ({ subject, action, resource })))).results.flatMap((result, i) => (result.decision === 'ALLOW' ? [candidates[i]!] : []));
          const found = await allPages((token) => lookups().lookupResources(TRUSTED_LOCAL, { subject, action, resourceType: type, scope, page: { token, limit } }));
          expect(found).toEqual([...expected].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
          if (found.length > 0) nonEmpty++;
        },
      ),
      { numRuns: 40 },
    );
    expect(nonEmpty, 'the sample must include non-empty answers').toBeGreaterThan(5);
  });

  it('LookupActions lists exactly the catalogue actions Check allows', async () => {
    const authorizer = createAuthorizer({ source: source() });
    for (const subject of world.subjects.slice(0, 25)) {
      const resource = 'org:big/project:p1/env:stage/flag:f1';
      const found = await allPages((token) => lookups().lookupActions(TRUSTED_LOCAL, { subject, resource, page: { token, limit: 5 } }));
      const candidates = [...new Set([...ACTIONS, ...found])];
      const { results } = await authorizer.checkBatch(TRUSTED_LOCAL, candidates.map((action) => ({ subject, action, resource })));
      const allowed = candidates.filter((_, i) => results[i]!.decision === 'ALLOW');
      for (const action of ACTIONS) expect(found.includes(action), `${subject} ${action}`).toBe(allowed.includes(action));
      for (const action of found) expect(allowed).toContain(action);
    }
  });
});
