/**
 * Freshness and failure modes of the cached grant graph, against real Postgres and
 * real Redis servers that the tests stop and start:
 *   - two replicas: after a revoke on one, the other refuses within a measured bound,
 *     and at once with the revoke's revision as at_least_revision;
 *   - an expiring binding stops granting on time from every layer, with no write;
 *   - Redis down → answers from Postgres, correct; refilled when Redis is back;
 *   - Redis flushed under load → no wrong answer;
 *   - Postgres down → cached answers only within the staleness bound, then UNAVAILABLE.
 */
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizer } from '../src/usecases/check.js';
import { UnavailableError } from '@warden/errors';
import type { CheckInput } from '../src/domain/model.js';
import { parseWorld } from '../src/domain/world.js';
import { CachedGrantSource, type CachedGrantSourceOptions } from '../src/adapters/cache/cached-grant-source.js';
import { applyWorld, deleteBinding } from '../src/adapters/postgres/pg-grant-writer.js';
import { deleteKeys, eventually, ownRedis, redisPrefix, sharedRedis, testRedis, type OwnRedis } from '@warden/testkit';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';
import { startPgProxy } from './support/pg-proxy.js';
import pg from 'pg';

let db: TestDatabase;
let shared: Redis;
let own: OwnRedis;
const closers: Array<() => Promise<void> | void> = [];
const prefix = redisPrefix('cache-freshness');

beforeAll(async () => {
  db = await createTestDatabase();
  shared = await sharedRedis();
  own = await ownRedis();
  await applyWorld(
    db.pool,
    parseWorld({
      orgs: [
        {
          id: 'acme',
          groups: [{ id: 'eng', members: ['user:ann'] }],
          projects: [{ id: 'p', environments: [{ id: 'dev' }, { id: 'prod', protected: true }] }],
          bindings: [
            { subject: 'user:ann', role: 'env_writer', scope: 'project:p/env:dev' },
            { subject: 'group:eng', role: 'env_reader', scope: 'project:p' },
            { subject: 'user:bob', role: 'viewer' },
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
  await own.stop();
  await db.drop();
});

async function replica(options: Partial<CachedGrantSourceOptions> & { keyPrefix?: string } = {}): Promise<CachedGrantSource> {
  const source = new CachedGrantSource({ pool: db.pool, databaseUrl: db.url, keyPrefix: prefix, ...options });
  await source.start();
  closers.push(() => source.close());
  return source;
}

const WRITE: CheckInput = { subject: 'user:ann', action: 'variables:write', resource: 'org:acme/project:p/env:dev/variable:X' };
const READ: CheckInput = { subject: 'user:ann', action: 'flags:read', resource: 'org:acme/project:p/env:prod/flag:f' };

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('two replicas, one Redis, one Postgres', () => {
  it('a revoke on one is refused by the other within a bound, and at once with its revision', async () => {
    const a = await replica({ redis: shared });
    const b = await replica({ redis: shared });
    const onA = createAuthorizer({ source: a });
    const onB = createAuthorizer({ source: b });
    const lags: number[] = [];
    for (let i = 0; i < 60; i++) {
      const granted = await applyWorld(db.pool, parseWorld({ orgs: [{ id: 'acme', bindings: [{ subject: 'user:cy', role: 'env_writer', scope: 'project:p/env:dev' }] }] }), { actor: 'system:test' });
      a.noteWrite(granted);
      const write = { ...WRITE, subject: 'user:cy' };
      expect((await onB.check(TRUSTED_LOCAL, write, { consistency: { kind: 'at_least_revision', revision: granted.revision } })).decision).toBe('ALLOW');
      expect((await onA.check(TRUSTED_LOCAL, write)).decision).toBe('ALLOW');
      // Warm: B answers from its in-process layer now.
      expect((await onB.check(TRUSTED_LOCAL, write)).decision).toBe('ALLOW');

      const id = (granted.changes.find((c) => c.kind === 'binding.created') ?? granted.changes[0]!).key;
      const revoked = await deleteBinding(db.pool, id, { actor: 'user:admin', reason: 'offboarding' });
      const committed = performance.now();
      a.noteWrite(revoked);
      if (i % 2 === 0) {
        // With the revoke's revision: refused at once by the other replica (its first call after the revoke).
        const immediate = await onB.check(TRUSTED_LOCAL, write, { consistency: { kind: 'at_least_revision', revision: revoked.revision } });
        expect(immediate.decision).toBe('DENY');
        expect(immediate.revision).toBeGreaterThanOrEqual(revoked.revision);
        continue;
      }
      // Without it: refused once the invalidation arrives; measure when, from the commit.
      for (;;) {
        const answer = await onB.check(TRUSTED_LOCAL, write);
        if (answer.decision === 'DENY') break;
        expect(performance.now() - committed).toBeLessThan(2000);
        await new Promise((r) => setImmediate(r));
      }
      lags.push(performance.now() - committed);
    }
    const p50 = percentile(lags, 50);
    const p99 = percentile(lags, 99);
    console.log(`two-replica revoke → refusal on the other replica, from the revoke's commit: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms, max ${Math.max(...lags).toFixed(2)} ms (n=${lags.length})`);
    expect(p99).toBeLessThan(250);
  });

  it('an expiring binding stops granting on time from the cache, with no write', async () => {
    const source = await replica({ redis: shared });
    const expiresAt = Date.now() + 60_000;
    await applyWorld(db.pool, parseWorld({ orgs: [{ id: 'acme', bindings: [{ subject: 'user:tmp', role: 'env_writer', scope: 'project:p/env:dev', expires_at: new Date(expiresAt).toISOString() }] }] }), { actor: 'system:test' });
    let clock = expiresAt - 1000;
    const authorizer = createAuthorizer({ source, now: () => clock });
    const check = { ...WRITE, subject: 'user:tmp' };
    expect((await authorizer.check(TRUSTED_LOCAL, check, { consistency: { kind: 'fully_consistent' } })).decision).toBe('ALLOW');
    expect((await authorizer.check(TRUSTED_LOCAL, check)).decision).toBe('ALLOW');
    const fills = source.stats().pgFills;
    clock = expiresAt;
    const expired = await authorizer.check(TRUSTED_LOCAL, check);
    expect(expired.decision).toBe('DENY');
    expect(expired.reason.code).toBe('EXPIRED');
    expect(source.stats().pgFills).toBe(fills);
  });
});

describe('the in-process hot path (memoized scope chains and group closures)', () => {
  it('a repeated Check sees a change to an enclosing resource or to a group at once, though the subject and resource asked are unchanged', async () => {
    const meta = { actor: 'system:test' };
    await applyWorld(
      db.pool,
      parseWorld({
        orgs: [
          {
            id: 'hot',
            groups: [{ id: 'ops', members: ['user:cy'] }],
            projects: [{ id: 'p', environments: [{ id: 'dev' }] }],
            bindings: [
              { subject: 'user:cy', role: 'env_writer', scope: 'project:p/env:dev' },
              { subject: 'group:ops', role: 'env_reader', scope: 'project:p' },
            ],
          },
        ],
      }),
      meta,
    );
    const source = await replica({ keyPrefix: `${prefix}hot:` }); // in-process layer only
    const authorizer = createAuthorizer({ source });
    const write: CheckInput = { subject: 'user:cy', action: 'variables:write', resource: 'org:hot/project:p/env:dev/variable:X' };
    const read: CheckInput = { subject: 'user:cy', action: 'flags:read', resource: 'org:hot/project:p/flag:f' };
    // Fill, then answer from the in-process layer twice (the second from the memos).
    for (let i = 0; i < 3; i++) {
      expect((await authorizer.check(TRUSTED_LOCAL, write)).decision).toBe('ALLOW');
      expect((await authorizer.check(TRUSTED_LOCAL, read)).decision).toBe('ALLOW'); // through group:ops
    }
    const hits = source.stats().localHits;
    expect(hits).toBeGreaterThan(0);

    // The environment (an ancestor of the variable asked about) now requires approval.
    source.noteWrite(await applyWorld(db.pool, parseWorld({ orgs: [{ id: 'hot', projects: [{ id: 'p', environments: [{ id: 'dev', require_approval: true, approval_actions: ['variables:write'] }] }] }] }), meta));
    expect((await authorizer.check(TRUSTED_LOCAL, write)).decision).toBe('REQUIRES_APPROVAL');
    expect((await authorizer.check(TRUSTED_LOCAL, write)).decision).toBe('REQUIRES_APPROVAL');

    // The group's binding (not the user's) is revoked.
    const { rows } = await db.pool.query<{ id: string }>("SELECT id FROM bindings WHERE subject = 'group:ops' AND org = 'hot'");
    expect(rows).toHaveLength(1);
    source.noteWrite(await deleteBinding(db.pool, rows[0]!.id, meta));
    expect((await authorizer.check(TRUSTED_LOCAL, read)).decision).toBe('DENY');
    expect((await authorizer.check(TRUSTED_LOCAL, read)).decision).toBe('DENY');
    expect(source.stats().localHits).toBeGreaterThan(hits);
  });
});

describe('batches from the in-process layer (one small view per check)', () => {
  it("decide each check over its own view, and the caller's right to ask over the caller's own graph", async () => {
    const meta = { actor: 'system:test' };
    await applyWorld(
      db.pool,
      parseWorld({
        orgs: [
          {
            id: 'ask',
            roles: [{ name: 'checker', actions: ['authz:check'] }],
            projects: [{ id: 'a', environments: [{ id: 'dev' }] }, { id: 'b', environments: [{ id: 'dev' }] }],
            bindings: [
              { subject: 'service:gw', role: 'checker', scope: 'project:a' },
              { subject: 'service:gw', role: 'env_reader', scope: 'project:b' },
              { subject: 'user:xa', role: 'env_reader', scope: 'project:a' },
            ],
          },
        ],
      }),
      meta,
    );
    const source = await replica({ keyPrefix: `${prefix}ask:` }); // in-process layer only
    const authorizer = createAuthorizer({ source });
    const gw = { kind: 'api_key', subject: 'service:gw', org: 'ask', keyId: 'k1', platform: false } as const;
    const onA = { subject: 'user:xa', action: 'flags:read', resource: 'org:ask/project:a/env:dev/flag:f' };
    const onB = { subject: 'user:xa', action: 'flags:read', resource: 'org:ask/project:b/env:dev/flag:f' };
    const selfOnB = { subject: 'service:gw', action: 'flags:read', resource: 'org:ask/project:b/env:dev/flag:f' };
    const expected = ['ALLOW', 'DENY', 'ALLOW'];
    for (let round = 0; round < 3; round++) {
      const fills = source.stats().pgFills;
      const { results } = await authorizer.checkBatch(gw, [onA, { ...onA, action: 'flags:enable' }, selfOnB]);
      expect(results.map((r) => r.decision)).toEqual(expected);
      // Asking about another subject on project b: the caller holds no authz:check there.
      await expect(authorizer.checkBatch(gw, [onA, onB])).rejects.toThrow(/checks\[1\]: service:gw may ask only about itself here/);
      if (round > 0) expect(source.stats().pgFills, `round ${round} answered in-process`).toBe(fills);
    }
    // The same answers as a fully consistent read of Postgres.
    const truth = await authorizer.checkBatch(gw, [onA, { ...onA, action: 'flags:enable' }, selfOnB], { consistency: { kind: 'fully_consistent' } });
    expect(truth.results.map((r) => r.decision)).toEqual(expected);
  });
});

describe('Redis failures', () => {
  it('Redis down: answers from Postgres, correct; refilled when Redis is back', async () => {
    const redis = testRedis(own.url);
    closers.push(() => redis.disconnect());
    const source = await replica({ redis, localMaxEntries: 0, keyPrefix: `${prefix}down:` });
    const authorizer = createAuthorizer({ source });
    expect((await authorizer.check(TRUSTED_LOCAL, WRITE)).decision).toBe('ALLOW');
    // A fill reaches Redis behind the answer (not awaited): a later check reads it from there.
    await eventually(async () => {
      expect((await authorizer.check(TRUSTED_LOCAL, WRITE)).decision).toBe('ALLOW');
      expect(source.stats().redisHits).toBeGreaterThan(0);
      return true;
    });

    await own.stop();
    const before = source.stats();
    for (let i = 0; i < 20; i++) {
      expect((await authorizer.check(TRUSTED_LOCAL, WRITE)).decision).toBe('ALLOW');
      expect((await authorizer.check(TRUSTED_LOCAL, { ...WRITE, subject: 'user:bob' })).decision).toBe('DENY');
    }
    const during = source.stats();
    expect(during.redisErrors).toBeGreaterThan(before.redisErrors);
    expect(during.pgFills).toBeGreaterThan(before.pgFills);

    await own.start();
    for (let i = 0; i < 100 && redis.status !== 'ready'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(redis.status).toBe('ready');
    const hits = source.stats().redisHits;
    expect((await authorizer.check(TRUSTED_LOCAL, WRITE)).decision).toBe('ALLOW'); // miss: fills Redis
    // The refill reaches Redis behind the answer: a later check is a Redis hit again.
    await eventually(async () => {
      expect((await authorizer.check(TRUSTED_LOCAL, WRITE)).decision).toBe('ALLOW');
      expect(source.stats().redisHits).toBeGreaterThan(hits);
      return true;
    });
  });

  it('Redis flushed under load: no wrong answer', async () => {
    const redis = testRedis(own.url);
    closers.push(() => redis.disconnect());
    const flusher = testRedis(own.url);
    closers.push(() => flusher.disconnect());
    const sources = [await replica({ redis, localMaxEntries: 0, keyPrefix: `${prefix}flush:` }), await replica({ redis, keyPrefix: `${prefix}flush:` })];
    const authorizers = sources.map((source) => createAuthorizer({ source }));
    let stop = false;
    let wrong = 0;
    let answered = 0;
    // A binding toggled on and off while readers run; each reader knows the truth by the revision it got.
    const toggles: Array<{ revision: number; present: boolean }> = [];
    const writer = (async () => {
      for (let i = 0; i < 15; i++) {
        const added = await applyWorld(db.pool, parseWorld({ orgs: [{ id: 'acme', bindings: [{ subject: 'user:flip', role: 'env_writer', scope: 'project:p/env:dev' }] }] }), { actor: 'system:test' });
        toggles.push({ revision: added.revision, present: true });
        await new Promise((r) => setTimeout(r, 10));
        const removed = await deleteBinding(db.pool, added.changes[0]!.key, { actor: 'system:test' });
        toggles.push({ revision: removed.revision, present: false });
        await flusher.flushall();
        await new Promise((r) => setTimeout(r, 10));
      }
      stop = true;
    })();
    const truthAt = (revision: number) => {
      let present = false;
      for (const t of toggles) if (t.revision <= revision) present = t.present;
      return present;
    };
    const readers = authorizers.flatMap((authorizer) =>
      [0, 1, 2].map(async () => {
        while (!stop) {
          const [flip, ann] = await Promise.all([authorizer.check(TRUSTED_LOCAL, { ...WRITE, subject: 'user:flip' }), authorizer.check(TRUSTED_LOCAL, WRITE)]);
          answered += 2;
          if (ann.decision !== 'ALLOW') wrong++;
          // A revision whose write is still being recorded by the writer loop counts only once known.
          if (toggles.some((t) => t.revision >= flip.revision) && (flip.decision === 'ALLOW') !== truthAt(flip.revision)) wrong++;
          await new Promise((r) => setImmediate(r)); // in-process hits never yield to I/O by themselves
        }
      }),
    );
    await Promise.all([writer, ...readers]);
    expect(answered).toBeGreaterThan(100);
    expect(wrong).toBe(0);
  });
});

describe('Postgres failures', () => {
  it('Postgres down: cached answers only within the staleness bound, then UNAVAILABLE, never an allow', async () => {
    const proxy = await startPgProxy(db.url);
    closers.push(() => proxy.close());
    const pool = new pg.Pool({ connectionString: proxy.url, max: 3, connectionTimeoutMillis: 1000 });
    pool.on('error', () => undefined);
    closers.push(() => pool.end().catch(() => undefined));
    const maxStalenessMs = 1500;
    const source = new CachedGrantSource({ pool, databaseUrl: proxy.url, keyPrefix: `${prefix}pgdown:`, maxStalenessMs, heartbeatMs: 200 });
    await source.start();
    closers.push(() => source.close());
    const authorizer = createAuthorizer({ source });
    expect((await authorizer.check(TRUSTED_LOCAL, WRITE)).decision).toBe('ALLOW');
    expect((await authorizer.check(TRUSTED_LOCAL, READ)).decision).toBe('ALLOW');

    await proxy.cut();
    const cutAt = Date.now();
    // Within the bound: cached answers (allow and deny), an uncached subject cannot be answered.
    expect((await authorizer.check(TRUSTED_LOCAL, WRITE)).decision).toBe('ALLOW');
    expect((await authorizer.check(TRUSTED_LOCAL, { ...READ, action: 'secrets:reveal' })).decision).toBe('DENY');
    await expect(authorizer.check(TRUSTED_LOCAL, { ...WRITE, subject: 'user:nobody-cached' })).rejects.toBeInstanceOf(UnavailableError);
    // Past the bound: nothing, not even what is cached.
    await new Promise((r) => setTimeout(r, maxStalenessMs + 300 - (Date.now() - cutAt)));
    const refused = authorizer.check(TRUSTED_LOCAL, WRITE);
    await expect(refused).rejects.toBeInstanceOf(UnavailableError);
    await expect(refused).rejects.toThrow(/unreachable.*bound/);
    await expect(authorizer.check(TRUSTED_LOCAL, WRITE, { consistency: { kind: 'fully_consistent' } })).rejects.toBeInstanceOf(UnavailableError);
    expect(source.stats().staleRefusals).toBeGreaterThan(0);

    await proxy.restore();
    let answer;
    for (let i = 0; i < 100; i++) {
      try {
        answer = await authorizer.check(TRUSTED_LOCAL, WRITE);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    expect(answer?.decision).toBe('ALLOW');
  });
});
