/** Key prefixes on the machine's real Redis (WARDEN_TEST_REDIS_URL), and Redis servers of the test's own. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteKeys, redisPrefix, redisUrl, sharedRedis } from './redis.js';
import { ownRedis, ownRedisCluster } from './redis-server.js';

let redis: Redis;
beforeAll(async () => {
  redis = await sharedRedis();
});
afterAll(() => {
  redis?.disconnect();
});

describe('Redis for tests', () => {
  it('gives each caller a prefix of its own', () => {
    const a = redisPrefix('cache-oracle');
    expect(a).toMatch(new RegExp(`^warden-test:cache-oracle:${process.pid}:[0-9a-f]{8}:$`));
    expect(redisPrefix('cache-oracle')).not.toBe(a);
    expect(() => redisPrefix('a b')).toThrow(/lower-case letters, digits and -/);
  });

  it('deletes exactly the keys under a prefix', async () => {
    const mine = redisPrefix('testkit');
    const other = redisPrefix('testkit');
    for (let i = 0; i < 1500; i++) await redis.set(`${mine}k${i}`, '1');
    await redis.set(`${other}k`, '1');
    expect(await deleteKeys(redis, mine)).toBe(1500);
    expect(await redis.exists(`${mine}k0`, `${mine}k1499`)).toBe(0);
    expect(await redis.get(`${other}k`)).toBe('1');
    expect(await deleteKeys(redis, other)).toBe(1);
    await expect(deleteKeys(redis, '')).rejects.toThrow(/empty prefix/);
  });

  it('fails loudly, naming the URL and WARDEN_TEST_REDIS_URL, when no Redis answers', async () => {
    await expect(sharedRedis({ url: 'redis://127.0.0.1:1', timeoutMs: 500 })).rejects.toThrow(
      /^the tests need a real Redis at redis:\/\/127\.0\.0\.1:1 \(set WARDEN_TEST_REDIS_URL; \.ci\/run starts one\): /,
    );
    expect(redisUrl({ WARDEN_TEST_REDIS_URL: 'redis://cache:6380' })).toBe('redis://cache:6380');
  });

  it('runs a redis-server of its own that stops (crash) and starts again', async () => {
    const own = await ownRedis();
    const client = new Redis(own.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.set('k', 'v');
      await own.stop();
      await expect(client.get('k')).rejects.toThrow();
      await own.start();
      const again = new Redis(own.url, { maxRetriesPerRequest: 0 });
      // Nothing was persisted: a crash lost the key.
      expect(await again.get('k')).toBeNull();
      again.disconnect();
    } finally {
      client.disconnect();
      await own.stop();
    }
  });

  it('runs a Redis Cluster whose bus ports were picked free, never port + 10000 (refused above 55535, maybe taken)', async () => {
    const cluster = await ownRedisCluster();
    try {
      for (const [i, { port }] of cluster.nodes.entries()) {
        const [, busPort] = (await cluster.node(i).config('GET', 'cluster-port')) as [string, string];
        expect(Number(busPort)).toBeGreaterThan(0);
        expect(Number(busPort)).not.toBe(port + 10_000);
      }
      const client = cluster.client();
      await client.set('{k}a', '1');
      expect(await client.get('{k}a')).toBe('1');
    } finally {
      await cluster.stop();
    }
  });
});
