/**
 * Redis servers of a test's own, as child processes on free ports of 127.0.0.1: one
 * `redis-server` the test can stop (SIGKILL, a crash) and start again, or a three-master
 * Redis Cluster joined with `redis-cli --cluster create`. Nothing is persisted. A missing
 * redis-server or redis-cli fails loudly (.ci/run installs them).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { eventually } from './eventually.js';
import { freePort, freePorts } from './ports.js';
import { startProcess, type TestProcess } from './process.js';

const run = promisify(execFile);
const EPHEMERAL = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];

function startRedisServer(port: number, extra: readonly string[], cwd: string | undefined, why: string): TestProcess {
  return startProcess('redis-server', ['--port', String(port), ...EPHEMERAL, ...extra], {
    name: `redis-server :${port}`,
    // redis-server says why it stopped (port in use, bad setting) on stdout.
    stdout: 'capture',
    stderr: 'capture',
    outputLimit: 8_000,
    ...(cwd === undefined ? {} : { cwd }),
    whenMissing: `${why} and need redis-server on PATH (.ci/run installs it)`,
  });
}

/** Resolves once the server on `port` answers PING. */
async function answering(proc: TestProcess, port: number): Promise<void> {
  const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => undefined);
  try {
    await proc.waitFor('PING answered', async () => {
      if (probe.status !== 'ready') await probe.connect().catch((error: unknown) => {
        probe.disconnect();
        throw error;
      });
      return (await probe.ping()) === 'PONG';
    }, { timeoutMs: 5_000, intervalMs: 25 });
  } finally {
    probe.disconnect();
  }
}

export interface OwnRedis {
  readonly port: number;
  readonly url: string;
  start(): Promise<void>;
  /** Kills the server (SIGKILL: nothing is flushed, clients see a crash). */
  stop(): Promise<void>;
}

/** A running redis-server of the caller's own. */
export async function ownRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let proc: TestProcess | undefined;
  const server: OwnRedis = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      proc = startRedisServer(port, [], undefined, 'the Redis failure tests start their own redis-server');
      await answering(proc, port);
    },
    async stop() {
      const running = proc;
      proc = undefined;
      if (running !== undefined) await running.kill();
    },
  };
  await server.start();
  return server;
}

export interface OwnCluster {
  readonly nodes: ReadonlyArray<{ host: string; port: number }>;
  /** A cluster client as the service makes one. */
  client(): Cluster;
  /** A plain connection to one node (to see which keys it holds). */
  node(index: number): Redis;
  stop(): Promise<void>;
}

/**
 * A real Redis Cluster of the caller's own: `size` masters in cluster mode, 16384 slots split between them.
 * Each node gets its cluster bus port explicitly (`--cluster-port`): the default, port + 10000, is refused
 * above 55535 and may be another process's. A node that exits before it answers (a port taken between
 * picking and binding) starts the whole cluster again on new ports, up to three times.
 */
export async function ownRedisCluster(size = 3): Promise<OwnCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startCluster(size);
    } catch (error) {
      if (!(error instanceof NodeExitedEarly) || attempt === 3) throw error;
    }
  }
}

class NodeExitedEarly extends Error {}

async function startCluster(size: number): Promise<OwnCluster> {
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-redis-cluster-'));
  const picked = await freePorts(size * 2);
  const ports = picked.slice(0, size);
  const busPorts = picked.slice(size);
  const procs: TestProcess[] = [];
  const stop = async () => {
    await Promise.all(procs.map((p) => p.kill()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const [i, port] of ports.entries()) {
      const why = 'the Redis Cluster tests start redis-server in cluster mode';
      const cluster = ['--cluster-enabled', 'yes', '--cluster-port', String(busPorts[i]), '--cluster-config-file', `nodes-${port}.conf`];
      procs.push(startRedisServer(port, cluster, dir, why));
    }
    for (const [i, port] of ports.entries()) {
      await answering(procs[i]!, port).catch((error: Error) => {
        throw procs[i]!.running ? error : new NodeExitedEarly(error.message, { cause: error });
      });
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
      try {
        await eventually(async () => /cluster_state:ok/.test(await probe.cluster('INFO')), {
          what: `Redis Cluster node ${port} reports cluster_state:ok`,
          timeoutMs: 10_000,
          intervalMs: 50,
        });
      } finally {
        probe.disconnect();
      }
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
