/**
 * Property: for random worlds, every decision read through Postgres (PgGrantStore,
 * one-statement snapshot) equals the in-memory oracle's — decision, rule and the
 * binding named as reason.
 */
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../src/usecases/check.js';
import { decide } from '../src/domain/engine.js';
import type { Decision } from '../src/domain/model.js';
import { parseAction, parseResource } from '@warden/names';
import { parseWorld } from '../src/domain/world.js';
import { createMemoryGrantView } from '../src/adapters/memory/memory-grant-view.js';
import { PgGrantStore } from '../src/adapters/postgres/pg-grant-store.js';
import { applyWorld } from '../src/adapters/postgres/pg-grant-writer.js';
import { checkArb, worldArb } from './support/random-world.js';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db.drop();
});

function summary(d: Decision) {
  const b = d.reason.binding;
  return {
    decision: d.decision,
    code: d.reason.code,
    binding: b && { subject: b.subject, role: b.role, actions: b.actions, scope: b.scope, effect: b.effect },
    ruleResource: d.reason.ruleResource,
    membershipRole: d.reason.membershipRole,
  };
}

describe('Postgres-backed decisions equal the in-memory oracle', () => {
  it('on random worlds', async () => {
    let run = 0; // every execution (shrinking included) gets an organization of its own
    let allows = 0;
    let total = 0;
    await fc.assert(
      fc.asyncProperty(worldArb('ORG'), fc.array(checkArb('ORG'), { minLength: 30, maxLength: 30 }), async (generatedFile, generatedChecks) => {
          const org = `w${run++}`;
          const file = JSON.parse(JSON.stringify(generatedFile).replaceAll('ORG', org)) as typeof generatedFile;
          const checks = generatedChecks.map((c) => ({ ...c, resource: c.resource.replaceAll('ORG', org) }));
          const world = parseWorld(file);
          await applyWorld(db.pool, world, { actor: 'system:test' });
          const oracle = createMemoryGrantView(world);
          const now = Date.now();
          const { results } = await createAuthorizer({ source: new PgGrantStore(db.pool), now: () => now }).checkBatch(TRUSTED_LOCAL, checks);
          checks.forEach((c, i) => {
            const expected = decide(oracle, { ...c, action: parseAction(c.action), resource: parseResource(c.resource) }, now);
            expect(summary(results[i]!), JSON.stringify(c)).toEqual(summary(expected));
            total++;
            if (expected.decision !== 'DENY') allows++;
          });
      }),
      { numRuns: 100 },
    );
    // The generator must exercise both outcomes, or the property says little.
    expect(allows, `${allows} of ${total} allowed`).toBeGreaterThan(total / 10);
    expect(allows).toBeLessThan(total);
  });
});
