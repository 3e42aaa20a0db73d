/**
 * A real Redis Cluster of the test's own: three redis-server masters in cluster mode on
 * free ports, joined with `redis-cli --cluster create` (16384 slots split three ways).
 * Fails loudly when redis-server or redis-cli is missing (.ci/run installs them).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { freePort } from './redis-server.js';

const run = promisify(execFile);

export interface OwnCluster {
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** A cluster client as the service makes one. */
  client(): Cluster;
  /** A plain connection to one node (to see which keys it holds). */
  node(index: number): Redis;
  stop(): Promise<void>;
}

export async function ownRedisCluster(size = 3): Promise<OwnCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-redis-cluster-'));
  const ports: number[] = [];
  for (let i = 0; i < size; i++) ports.push(await freePort());
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null) return;
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }),
    );
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const port of ports) {
      const child = spawn(
        'redis-server',
        ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no'],
        { cwd: dir, stdio: 'ignore' },
      );
      children.push(child);
      await new Promise<void>((resolve, reject) => {
        child.once('error', (error) => reject(new Error(`the Redis Cluster tests start redis-server in cluster mode and need it on PATH (.ci/run installs it): ${error.message}`)));
        setTimeout(resolve, 30);
      });
    }
    for (const port of ports) {
      const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      let up = false;
      for (let i = 0; i < 200 && !up; i++) {
        try {
          await probe.connect();
          await probe.ping();
          up = true;
        } catch {
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      probe.disconnect();
      if (!up) throw new Error(`redis-server (cluster mode) on ${port} did not start`);
    }
    await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { timeout: 20_000 }).catch(
      (error: Error) => {
        throw new Error(`redis-cli --cluster create failed (redis-cli must be on PATH; .ci/run installs it): ${error.message}`);
      },
    );
    // Wait until every node agrees the cluster is up.
    for (const port of ports) {
      const probe = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: 0 });
      probe.on('error', () => undefined);
      let ok = false;
      for (let i = 0; i < 200 && !ok; i++) {
        ok = /cluster_state:ok/.test(await probe.cluster('INFO'));
        if (!ok) await new Promise((r) => setTimeout(r, 50));
      }
      probe.disconnect();
      if (!ok) throw new Error(`Redis Cluster node ${port} never reported cluster_state:ok`);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  const nodes = ports.map((port) => ({ host: '127.0.0.1', port }));
  const clients: Array<Redis | Cluster> = [];
  return {
    nodes,
    client() {
      const cluster = new Cluster(nodes, { enableAutoPipelining: true, enableOfflineQueue: true, redisOptions: { maxRetriesPerRequest: 1, commandTimeout: 1000 } });
      cluster.on('error', () => undefined);
      clients.push(cluster);
      return cluster;
    },
    node(index) {
      const redis = new Redis(ports[index]!, '127.0.0.1', { maxRetriesPerRequest: 0 });
      redis.on('error', () => undefined);
      clients.push(redis);
      return redis;
    },
    async stop() {
      for (const client of clients) client.disconnect();
      await stop();
    },
  };
}
