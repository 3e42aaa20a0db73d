/** The seed scenario against real Postgres: world applied by the writer, checks through the Authorizer and PgGrantStore. */
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../src/usecases/check.js';
import { InvalidArgumentError } from '@warden/errors';
import { parseWorld, type WorldFile } from '../src/domain/world.js';
import { PgGrantStore } from '../src/adapters/postgres/pg-grant-store.js';
import { applyWorld } from '../src/adapters/postgres/pg-grant-writer.js';
import { ACME_PHASES, caseName, loadAcme } from './acme-scenario.js';
import { expectCase } from './support/expect-case.js';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

describe('the seed scenario on real Postgres', () => {
  let world: WorldFile = loadAcme();
  let lastRevision = 0;
  for (const phase of ACME_PHASES) {
    describe(phase.name, () => {
      const next: WorldFile = structuredClone(world);
      phase.change?.(next);
      world = next;
      beforeAll(async () => {
        const result = await applyWorld(db.pool, parseWorld(next), { actor: 'user:test@acme.com', reason: phase.name });
        expect(result.revision).toBeGreaterThan(lastRevision);
        lastRevision = result.revision;
      });
      const authorizer = () => createAuthorizer({ source: new PgGrantStore(db.pool) });
      for (const c of phase.cases) {
        it(caseName(c), async () => {
          const result = await authorizer().check(TRUSTED_LOCAL, { subject: c.subject, action: c.action, resource: c.resource, context: c.context });
          expect(result.revision).toBe(lastRevision);
          expectCase(result, c);
        });
      }
      it('answers the whole phase as one batch, in order, at one revision', async () => {
        const { results, revision } = await authorizer().checkBatch(TRUSTED_LOCAL, phase.cases.map((c) => ({ subject: c.subject, action: c.action, resource: c.resource, context: c.context })));
        expect(revision).toBe(lastRevision);
        results.forEach((result, i) => expectCase(result, phase.cases[i]!));
      });
    });
  }

  describe('malformed names are INVALID_ARGUMENT naming the field', () => {
    const cases: Array<[string, { subject: string; action: string; resource: string }, RegExp]> = [
      ['subject without type', { subject: 'sarah', action: 'flags:read', resource: 'org:acme' }, /^subject: .*type:id/],
      ['a subject type that is no type name', { subject: 'Robot:r2', action: 'flags:read', resource: 'org:acme' }, /^subject: type "Robot"/],
      ['empty subject', { subject: '', action: 'flags:read', resource: 'org:acme' }, /^subject: is required/],
      ['action with an empty verb', { subject: 'user:a', action: 'flags:', resource: 'org:acme' }, /^action: "flags:" is not an action/],
      ['action with a space', { subject: 'user:a', action: 'flags read', resource: 'org:acme' }, /^action: "flags read" is not an action/],
      ['resource not rooted at an org', { subject: 'user:a', action: 'flags:read', resource: 'project:checkout' }, /^resource: must start with an organization/],
      ['bad segment', { subject: 'user:a', action: 'flags:read', resource: 'org:acme//env:x' }, /^resource: segment 2 .*type:id/],
      ['bad id characters', { subject: 'user:a', action: 'flags:read', resource: 'org:acme/flag:a b' }, /^resource: segment 2 .* has id "a b"/],
      ['too many segments', { subject: 'user:a', action: 'flags:read', resource: `org:a${'/x:y'.repeat(8)}` }, /^resource: has 9 segments/],
      ['too long', { subject: 'user:a', action: 'flags:read', resource: `org:${'a'.repeat(2000)}` }, /^resource: is 2004 characters long/],
    ];
    for (const [name, input, message] of cases) {
      it(name, async () => {
        const error = await createAuthorizer({ source: new PgGrantStore(db.pool) }).check(TRUSTED_LOCAL, input).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as Error).message).toMatch(message);
      });
    }
    it('names the item of a batch', async () => {
      const error = await createAuthorizer({ source: new PgGrantStore(db.pool) })
        .checkBatch(TRUSTED_LOCAL, [
          { subject: 'user:a', action: 'flags:read', resource: 'org:acme' },
          { subject: 'user:a', action: 'flags:read', resource: 'acme' },
        ])
        .catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/^checks\[1\]\.resource: /);
    });
  });
});
