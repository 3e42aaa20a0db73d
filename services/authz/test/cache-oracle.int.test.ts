/**
 * Property: answers from the cached grant graph equal Postgres's at the same revision,
 * after random writes (worlds applied over worlds, bindings deleted), for three cache
 * shapes sharing one Postgres and one Redis: in-process + Redis (the writer), Redis
 * only, in-process only. Each replica is warmed before the writes, so what is tested is
 * invalidation, not cold reads.
 */
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import fc from 'fast-check';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer, type Authorizer } from '../src/usecases/check.js';
import type { CheckResult, Consistency } from '../src/domain/model.js';
import { parseWorld } from '../src/domain/world.js';
import { CachedGrantSource } from '../src/adapters/cache/cached-grant-source.js';
import { PgGrantStore } from '../src/adapters/postgres/pg-grant-store.js';
import { applyWorld, deleteBinding, type WriteResult } from '../src/adapters/postgres/pg-grant-writer.js';
import { checkArb, worldArb } from './support/random-world.js';
import { deleteKeys, ownRedisCluster, redisPrefix, sharedRedis, type OwnCluster } from '@warden/testkit';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';

let db: TestDatabase;
let redis: Redis;
let cluster: OwnCluster;
let writer: CachedGrantSource;
const sources: CachedGrantSource[] = [];
const prefix = redisPrefix('cache-oracle');

beforeAll(async () => {
  db = await createTestDatabase();
  redis = await sharedRedis();
  cluster = await ownRedisCluster();
  const make = async (opts: { redis?: Redis | Cluster; localMaxEntries?: number }) => {
    const source = new CachedGrantSource({ pool: db.pool, databaseUrl: db.url, keyPrefix: prefix, ...opts });
    await source.start();
    sources.push(source);
    return source;
  };
  writer = await make({ redis });
  await make({ redis, localMaxEntries: 0 });
  await make({});
  // The same on a Redis Cluster (three masters): Redis only, and in-process in front of it.
  await make({ redis: cluster.client(), localMaxEntries: 0 });
  await make({ redis: cluster.client() });
});
afterAll(async () => {
  for (const source of sources) await source.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await cluster?.stop();
  await db.drop();
});

function summary(d: CheckResult) {
  const b = d.reason.binding;
  return {
    decision: d.decision,
    code: d.reason.code,
    binding: b && { subject: b.subject, role: b.role, actions: b.actions, scope: b.scope, effect: b.effect },
    ruleResource: d.reason.ruleResource,
    membershipRole: d.reason.membershipRole,
    revision: d.revision,
  };
}

describe('cached answers equal Postgres answers at the same revision', () => {
  it('after random writes, in every cache shape', async () => {
    let run = 0;
    let compared = 0;
    const now = Date.now();
    const truth = createAuthorizer({ source: new PgGrantStore(db.pool), now: () => now });
    const cached: Authorizer[] = sources.map((source) => createAuthorizer({ source, now: () => now }));
    const stats0 = sources.map((s) => s.stats());

    await fc.assert(
      fc.asyncProperty(
        worldArb('ORG'),
        worldArb('ORG'),
        fc.array(checkArb('ORG'), { minLength: 20, maxLength: 20 }),
        fc.array(fc.boolean(), { minLength: 24, maxLength: 24 }),
        async (first, second, generatedChecks, deletions) => {
          const org = `c${run++}`;
          const rename = <T>(value: T): T => JSON.parse(JSON.stringify(value).replaceAll('ORG', org)) as T;
          const checks = generatedChecks.map((c) => ({ ...c, resource: c.resource.replaceAll('ORG', org) }));

          const compare = async (written: WriteResult) => {
            writer.noteWrite(written);
            const expected = await truth.checkBatch(TRUSTED_LOCAL, checks);
            for (const [i, authorizer] of cached.entries()) {
              // at_least_revision: at once, whether or not the notification has arrived.
              const consistency: Consistency = { kind: 'at_least_revision', revision: expected.revision };
              const got = await authorizer.checkBatch(TRUSTED_LOCAL, checks, { consistency: consistency });
              expect(got.results.map(summary), `replica ${i}, at_least_revision`).toEqual(expected.results.map(summary));
              // minimize_latency, once the replica has heard of the write.
              expect(await sources[i]!.waitForRevision(expected.revision, 2000)).toBe(true);
              const fast = await authorizer.checkBatch(TRUSTED_LOCAL, checks);
              expect(fast.results.map(summary), `replica ${i}, minimize_latency`).toEqual(expected.results.map(summary));
              // Single Checks (the in-process hot path when everything is cached).
              for (const [k, check] of checks.slice(0, 8).entries()) {
                expect(summary(await authorizer.check(TRUSTED_LOCAL, check)), `replica ${i}, single check ${k}`).toEqual(summary(expected.results[k]!));
              }
              compared += checks.length;
            }
          };

          await compare(await applyWorld(db.pool, parseWorld(rename(first)), { actor: 'system:test' }));
          await compare(await applyWorld(db.pool, parseWorld(rename(second)), { actor: 'system:test' }));
          const { rows } = await db.pool.query<{ id: string }>('SELECT id FROM bindings WHERE org = $1 ORDER BY id', [org]);
          let last: WriteResult | undefined;
          for (const [i, row] of rows.entries()) {
            if (deletions[i % deletions.length] !== true) continue;
            last = await deleteBinding(db.pool, row.id, { actor: 'system:test' });
            writer.noteWrite(last);
          }
          if (last !== undefined) await compare(last);
        },
      ),
      { numRuns: 25 },
    );
    expect(compared).toBeGreaterThan(1000);
    // The caches were used, not bypassed.
    const [w, r, l, c] = sources.map((s, i) => ({ now: s.stats(), before: stats0[i]! }));
    expect(w!.now.localHits).toBeGreaterThan(0);
    expect(r!.now.redisHits).toBeGreaterThan(0);
    expect(l!.now.localHits).toBeGreaterThan(0);
    expect(w!.now.invalidations).toBeGreaterThan(0);
    expect(c!.now.redisHits).toBeGreaterThan(0);
    expect(c!.now.redisErrors).toBe(0);
  });
});
