/** A redis-server child process of the test's own, on a free port, that the test can stop and start. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const SHARED_REDIS_URL = process.env['WARDEN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      const spawned = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      child = spawned;
      const failed = new Promise<never>((_, reject) =>
        spawned.once('error', (error) =>
          reject(new Error(`the Redis failure tests start their own redis-server and need it on PATH (.ci/run installs it): ${error.message}`)),
        ),
      );
      failed.catch(() => undefined);
      await Promise.race([failed, new Promise((r) => setTimeout(r, 20))]);
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      for (let i = 0; i < 200; i++) {
        try {
          await probe.connect();
          await probe.ping();
          probe.disconnect();
          return;
        } catch {
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      throw new Error(`redis-server on ${port} did not start`);
    },
    async stop() {
      const running = child;
      child = undefined;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await server.start();
  return server;
}

/** ioredis options the service uses: fail fast while Redis is down, reconnect quickly. */
export function testRedis(url: string): Redis {
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: 500, retryStrategy: () => 50 });
  redis.on('error', () => undefined);
  return redis;
}
