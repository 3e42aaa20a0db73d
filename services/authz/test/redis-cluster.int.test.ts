/**
 * The Redis layer's shape, against real servers:
 *   - a Redis hit costs one round trip, even for a subject in nested groups (the group
 *     closure is followed on the server);
 *   - on a real Redis Cluster (three masters), every unit is one key, units spread over
 *     the nodes, and two replicas sharing the Cluster stay coherent after a revoke.
 * The property test in cache-oracle.int.test.ts also runs both Cluster shapes.
 */
import { UNIT_FORMAT } from '../src/adapters/cache/redis-unit-cache.js';
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import type { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../src/usecases/check.js';
import { parseWorld } from '../src/domain/world.js';
import { CachedGrantSource, type CachedGrantSourceOptions } from '../src/adapters/cache/cached-grant-source.js';
import { applyWorld, deleteBinding } from '../src/adapters/postgres/pg-grant-writer.js';
import { deleteKeys, eventually, ownRedisCluster, redisPrefix, redisUrl, sharedRedis, testRedis, type OwnCluster } from '@warden/testkit';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';

let db: TestDatabase;
let shared: Redis;
let cluster: OwnCluster;
const closers: Array<() => Promise<void> | void> = [];
const prefix = redisPrefix('redis-shape');
const CHECK = { subject: 'user:uma', action: 'flags:read', resource: 'org:acme/project:p/env:dev' };

beforeAll(async () => {
  db = await createTestDatabase();
  shared = await sharedRedis();
  cluster = await ownRedisCluster();
  await applyWorld(
    db.pool,
    parseWorld({
      orgs: [
        {
          id: 'acme',
          // uma → a → b → c; only c holds a binding.
          groups: [
            { id: 'a', members: ['user:uma'] },
            { id: 'b', members: ['group:a'] },
            { id: 'c', members: ['group:b'] },
          ],
          projects: [{ id: 'p', environments: [{ id: 'dev' }, { id: 'prod' }] }],
          bindings: [
            { subject: 'group:c', role: 'env_reader', scope: 'project:p' },
            { subject: 'user:vic', role: 'env_reader', scope: 'project:p' },
          ],
        },
      ],
    }),
    { actor: 'system:test' },
  );
});
afterAll(async () => {
  for (const close of closers.reverse()) await close();
  await deleteKeys(shared, prefix);
  shared.disconnect();
  await cluster?.stop();
  await db?.drop();
});

async function source(options: Partial<CachedGrantSourceOptions>): Promise<CachedGrantSource> {
  const s = new CachedGrantSource({ pool: db.pool, databaseUrl: db.url, keyPrefix: prefix, ...options });
  await s.start();
  closers.push(() => s.close());
  return s;
}

/** Counts the commands a client sends, pub/sub aside (the reader below fills nothing: it writes nothing). */
function counting(redis: Redis): { redis: Redis; reads: () => number } {
  let reads = 0;
  const send = redis.sendCommand.bind(redis);
  redis.sendCommand = ((command: { name: string }, stream?: unknown) => {
    if (!['publish', 'subscribe', 'info'].includes(command.name)) reads++;
    return send(command as Parameters<typeof send>[0], stream as Parameters<typeof send>[1]);
  }) as typeof redis.sendCommand;
  return { redis, reads: () => reads };
}

describe('a single Redis', () => {
  it('a Redis hit costs one round trip, even for a subject in nested groups', async () => {
    const filler = await source({ redis: testRedis(redisUrl()), localMaxEntries: 0 });
    const first = await createAuthorizer({ source: filler }).check(TRUSTED_LOCAL, CHECK);
    expect(first.decision).toBe('ALLOW');
    expect(first.reason.binding?.subject).toBe('group:c');
    // The fill's writes to Redis are not awaited: wait until all nine units are there.
    await eventually(async () => (await shared.keys(`${prefix}*`)).length >= 9, { what: 'the fill wrote its nine units to Redis' });

    const client = counting(testRedis(redisUrl()));
    closers.push(() => client.redis.disconnect());
    const reader = await source({ redis: client.redis, localMaxEntries: 0 });
    const before = client.reads();
    const answer = await createAuthorizer({ source: reader }).check(TRUSTED_LOCAL, CHECK);
    expect(answer.decision).toBe('ALLOW');
    expect(answer.reason.binding?.subject).toBe('group:c');
    expect(client.reads() - before).toBe(1);
    const stats = reader.stats();
    expect(stats.pgFills).toBe(0);
    // uma, a, b, c, user:* (bindings on every user), the org's roles and the three paths of the chain: all from the one reply.
    expect(stats.redisHits).toBe(9);
  });
});

describe('a Redis Cluster', () => {
  it('each unit is one key; the units spread over the nodes', async () => {
    const s = await source({ redis: cluster.client(), localMaxEntries: 0 });
    const authorizer = createAuthorizer({ source: s });
    for (const subject of ['user:uma', 'user:vic']) {
      for (const env of ['dev', 'prod']) expect((await authorizer.check(TRUSTED_LOCAL, { ...CHECK, subject, resource: `org:acme/project:p/env:${env}` })).decision).toBe('ALLOW');
    }
    // The fills' writes to Redis are not awaited: wait until all eleven units are there.
    const expected = [
      `${prefix}${UNIT_FORMAT}:o:acme`,
      `${prefix}${UNIT_FORMAT}:r:org:acme`,
      `${prefix}${UNIT_FORMAT}:r:org:acme/project:p`,
      `${prefix}${UNIT_FORMAT}:r:org:acme/project:p/env:dev`,
      `${prefix}${UNIT_FORMAT}:r:org:acme/project:p/env:prod`,
      `${prefix}${UNIT_FORMAT}:s:group:a`,
      `${prefix}${UNIT_FORMAT}:s:group:b`,
      `${prefix}${UNIT_FORMAT}:s:group:c`,
      // Bindings on every user (`user:*`, issue 14) are a subject unit of their own, shared by all users.
      `${prefix}${UNIT_FORMAT}:s:user:*`,
      `${prefix}${UNIT_FORMAT}:s:user:uma`,
      `${prefix}${UNIT_FORMAT}:s:user:vic`,
    ].sort();
    const perNode = await eventually(
      async () => {
        const keys = await Promise.all(cluster.nodes.map((_, i) => cluster.node(i).keys(`${prefix}*`)));
        expect(keys.flat().sort()).toEqual(expected);
        return keys;
      },
      { what: 'the fills wrote their units to the Cluster' },
    );
    expect(perNode.filter((keys) => keys.length > 0).length).toBeGreaterThanOrEqual(2);
    // A second replica, Redis only, answers from the Cluster without Postgres.
    const other = await source({ redis: cluster.client(), localMaxEntries: 0 });
    expect((await createAuthorizer({ source: other }).check(TRUSTED_LOCAL, CHECK)).decision).toBe('ALLOW');
    expect(other.stats().pgFills).toBe(0);
    expect(other.stats().redisHits).toBeGreaterThanOrEqual(8);
    expect(other.stats().redisErrors).toBe(0);
  });

  it('two replicas on one Cluster: a revoke on one is refused by the other, at once with its revision', async () => {
    const a = await source({ redis: cluster.client() });
    const b = await source({ redis: cluster.client() });
    const check = { ...CHECK, subject: 'user:vic' };
    expect((await createAuthorizer({ source: b }).check(TRUSTED_LOCAL, check)).decision).toBe('ALLOW');
    const { rows } = await db.pool.query<{ id: string }>(`SELECT id FROM bindings WHERE subject = 'user:vic'`);
    const revoked = await deleteBinding(db.pool, rows[0]!.id, { actor: 'system:test' });
    a.noteWrite(revoked); // publishes on the Cluster as the admin API does
    // With the revoke's revision: refused at once.
    const atOnce = await createAuthorizer({ source: b }).check(TRUSTED_LOCAL, check, { consistency: { kind: 'at_least_revision', revision: revoked.revision } });
    expect(atOnce.decision).toBe('DENY');
    // Without it: refused once B has heard (Cluster pub/sub or Postgres NOTIFY).
    expect(await b.waitForRevision(revoked.revision, 2000)).toBe(true);
    expect((await createAuthorizer({ source: b }).check(TRUSTED_LOCAL, check)).decision).toBe('DENY');
    // The Cluster does not serve the revoked unit as current to a third replica either.
    const c = await source({ redis: cluster.client(), localMaxEntries: 0 });
    expect((await createAuthorizer({ source: c }).check(TRUSTED_LOCAL, check)).decision).toBe('DENY');
  });
});

describe('the service on a Redis Cluster (AUTHZ_REDIS_CLUSTER)', () => {
  it('answers Checks from the Cluster and sees a revoke made through its admin API', async () => {
    const { startTestApp } = await import('./support/app.js');
    const { Decision, Effect } = await import('@warden/proto/authz/v1');
    const appPrefix = `${prefix}app:`;
    const t = await startTestApp({
      REDIS_URL: `redis://${cluster.nodes[1]!.host}:${cluster.nodes[1]!.port}`,
      AUTHZ_REDIS_CLUSTER: 'true',
      AUTHZ_REDIS_KEY_PREFIX: appPrefix,
      AUTHZ_CACHE_MAX_ENTRIES: '0', // every Check reads the Cluster
    });
    closers.push(() => t.close());
    const { authz, admin } = t.grpc(t.adminKey);
    const check = { subject: 'user:newbie@acme.com', action: 'flags:read', resource: 'org:acme/project:checkout/env:staging' };
    expect((await authz.check(check)).decision).toBe(Decision.DECISION_DENY);
    const granted = await admin.grantBinding({ subject: 'user:newbie@acme.com', role: 'env_reader', actions: [], scope: 'org:acme/project:checkout', effect: Effect.EFFECT_ALLOW, condition: '', reason: 'cluster test' });
    expect((await authz.check(check)).decision).toBe(Decision.DECISION_ALLOW);
    const stats = t.app.grantCache.stats();
    expect(stats.redisHits).toBeGreaterThan(0);
    expect(stats.redisErrors).toBe(0);
    const keys = (await Promise.all(cluster.nodes.map((_, i) => cluster.node(i).keys(`${appPrefix}*`)))).flat();
    expect(keys).toContain(`${appPrefix}${UNIT_FORMAT}:s:user:newbie@acme.com`);
    await admin.revokeBinding({ bindingId: granted.binding!.id, reason: 'cluster test' });
    expect((await authz.check(check)).decision).toBe(Decision.DECISION_DENY);
  });
});
