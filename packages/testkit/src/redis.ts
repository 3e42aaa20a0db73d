/**
 * The machine's Redis for tests (WARDEN_TEST_REDIS_URL, else redis://127.0.0.1:6379),
 * shared by every test process: each test file writes under a key prefix of its own and
 * deletes its keys at the end. An unreachable Redis fails loudly with the URL.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** The URL of the tests' shared Redis: WARDEN_TEST_REDIS_URL, else the local default. */
export function redisUrl(env: Readonly<Record<string, string | undefined>> = process.env): string {
  const url = env['WARDEN_TEST_REDIS_URL'];
  return url === undefined || url === '' ? DEFAULT_REDIS_URL : url;
}

/** A key prefix no other test file or run uses: `warden-test:<label>:<pid>:<random>:`. */
export function redisPrefix(label: string): string {
  if (!/^[a-z0-9-]+$/.test(label)) throw new Error(`redis prefix label ${JSON.stringify(label)}: lower-case letters, digits and - only`);
  return `warden-test:${label}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

/** ioredis options the service uses: fail fast while Redis is down, reconnect quickly. */
export function testRedis(url: string): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  return redis;
}

/** `testRedis` on the shared Redis, once it answers; a clear error when it does not within `timeoutMs`. */
export async function sharedRedis(options: { url?: string; timeoutMs?: number } = {}): Promise<Redis> {
  const url = options.url ?? redisUrl();
  const redis = testRedis(url);
  try {
    await new Promise<void>((resolve, reject) => {
      if (redis.status === 'ready') { resolve(); return; }
      const timer = setTimeout(() => reject(new Error(`no answer within ${options.timeoutMs ?? 5_000} ms`)), options.timeoutMs ?? 5_000);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(`the tests need a real Redis at ${url} (set WARDEN_TEST_REDIS_URL; .ci/run starts one): ${(error as Error).message}`, { cause: error });
  }
  return redis;
}

/** Deletes every key under `prefix` (SCAN, never KEYS); returns how many. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  if (prefix === '') throw new Error('deleteKeys: an empty prefix would delete everything');
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`, 'COUNT', 1000);
    if (keys.length > 0) deleted += await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}
