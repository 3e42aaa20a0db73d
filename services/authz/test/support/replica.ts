/**
 * A real Postgres streaming replica for tests: a primary (initdb, wal_level=replica) and a
 * hot standby made with `pg_basebackup -R` that streams from it, each on a free port of
 * 127.0.0.1, in a temporary directory removed at `stop()`. Postgres refuses to run as root,
 * so as root every binary runs as the `postgres` OS user (uid/gid of the spawned process).
 *
 * Binaries: WARDEN_TEST_PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian's
 * layout; .ci/run installs the server). Anything missing fails the
 * caller loudly with the reason: a test that needs a replica never silently skips.
 */
import { execFile, type ExecFileOptions } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chmod, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { eventually, freePort } from '@warden/testkit';

export const PG_BIN = process.env['WARDEN_TEST_PG_BIN'] ?? debianPgBin();

function debianPgBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  return path.join(root, versions[0] ?? '15', 'bin');
}

export interface PgNode {
  readonly port: number;
  /** A connection string to `database` on this server (user postgres, trust). */
  url(database?: string): string;
}

export interface StreamingReplica {
  readonly primary: PgNode;
  readonly standby: PgNode;
  /** Resolves once the standby has replayed everything the primary had written when called. */
  waitForReplay(timeoutMs?: number): Promise<void>;
  /** `pg_wal_replay_pause()` on the standby, and waits until replay is paused. */
  pauseReplay(): Promise<void>;
  resumeReplay(): Promise<void>;
  /** Stops the standby (fast shutdown: its connections are closed). */
  stopStandby(): Promise<void>;
  /** Starts the standby again and waits until it streams. */
  startStandby(): Promise<void>;
  /** Stops both servers and removes their directory. */
  stop(): Promise<void>;
}

interface RunAs {
  readonly uid?: number;
  readonly gid?: number;
}

function run(file: string, args: readonly string[], as: RunAs, env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<string> {
  const options: ExecFileOptions = { env, timeout: timeoutMs, ...as };
  return new Promise((resolve, reject) => {
    execFile(file, args, options, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${path.basename(file)} ${args.join(' ')} failed: ${error.message}\n${String(stderr)}${String(stdout)}`));
      else resolve(String(stdout));
    });
  });
}

async function runAs(): Promise<RunAs> {
  if (process.getuid?.() !== 0) return {};
  // Root: run Postgres as the postgres OS user (Debian's packages create it).
  const passwd = await readFile('/etc/passwd', 'utf8');
  const line = passwd.split('\n').find((l) => l.startsWith('postgres:'));
  if (line === undefined) throw new Error('the replica tests run as root and need a `postgres` OS user to run the Postgres binaries as (Postgres refuses to run as root)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

function node(port: number): PgNode {
  return { port, url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}` };
}

/** Starts a primary and a streaming hot standby. Throws (never skips) when the machine cannot. */
export async function startStreamingReplica(): Promise<StreamingReplica> {
  for (const bin of ['initdb', 'pg_ctl', 'pg_basebackup', 'postgres']) {
    if (!existsSync(path.join(PG_BIN, bin))) {
      throw new Error(`the replica tests need the Postgres server binaries: ${path.join(PG_BIN, bin)} is missing (install postgresql-15 or set WARDEN_TEST_PG_BIN)`);
    }
  }
  const as = await runAs();
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-replica-'));
  if (as.uid !== undefined) await chown(dir, as.uid, as.gid!);
  await chmod(dir, 0o700);
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'], HOME: dir, LANG: 'C', LC_ALL: 'C', TZ: 'UTC' };
  const bin = (name: string) => path.join(PG_BIN, name);
  const primaryDir = path.join(dir, 'primary');
  const standbyDir = path.join(dir, 'standby');
  const primary = node(await freePort());
  const standby = node(await freePort());
  const started: string[] = [];

  const pgCtl = async (data: string, port: number, extra: readonly string[], log: string) => {
    const options = ['-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`, '-c', 'fsync=off', ...extra];
    await run(bin('pg_ctl'), ['-D', data, '-l', path.join(dir, log), '-w', '-t', '30', '-o', options.join(' '), 'start'], as, env);
  };
  const stopServer = async (data: string) => {
    await run(bin('pg_ctl'), ['-D', data, '-m', 'fast', '-w', '-t', '30', 'stop'], as, env).catch(() =>
      run(bin('pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], as, env).catch(() => ''),
    );
  };
  const logOf = async (name: string) => {
    const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
    return `--- ${name} (last lines) ---\n${text.split('\n').slice(-20).join('\n')}`;
  };
  const streaming = () =>
    eventually(
      async () => {
        const [row] = await query<{ recovery: boolean; status: string | null }>(
          standby.url(),
          'SELECT pg_is_in_recovery() AS recovery, (SELECT status FROM pg_stat_wal_receiver) AS status',
        );
        return row?.recovery === true && row.status === 'streaming';
      },
      {
        what: 'the standby is in recovery and streaming from the primary',
        timeoutMs: 20_000,
        intervalMs: 25,
        detail: async () => `${await logOf('primary.log')}\n${await logOf('standby.log')}`,
      },
    );

  try {
    await run(bin('initdb'), ['-D', primaryDir, '-U', 'postgres', '--auth=trust', '--no-sync', '--no-instructions', '--locale=C', '-E', 'UTF8'], as, env);
    // Explicit, although initdb's defaults allow it: streaming replication from 127.0.0.1.
    await appendFile(path.join(primaryDir, 'pg_hba.conf'), '\nhost replication all 127.0.0.1/32 trust\n');
    await pgCtl(primaryDir, primary.port, ['-c', 'wal_level=replica', '-c', 'max_wal_senders=4', '-c', 'max_replication_slots=4'], 'primary.log');
    started.push(primaryDir);
    await run(bin('pg_basebackup'), ['-h', '127.0.0.1', '-p', String(primary.port), '-U', 'postgres', '-D', standbyDir, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'], as, env);
    await pgCtl(standbyDir, standby.port, ['-c', 'hot_standby=on'], 'standby.log');
    started.push(standbyDir);
    await streaming();
  } catch (error) {
    for (const data of started.reverse()) await stopServer(data);
    const logs = `${await logOf('primary.log')}\n${await logOf('standby.log')}`;
    await rm(dir, { recursive: true, force: true });
    throw new Error(`cannot start a Postgres streaming replica for the tests: ${(error as Error).message}\n${logs}`, { cause: error });
  }

  let standbyRunning = true;
  return {
    primary,
    standby,
    async waitForReplay(timeoutMs = 10_000) {
      const [current] = await query<{ lsn: string }>(primary.url(), 'SELECT pg_current_wal_lsn()::text AS lsn');
      const lsn = current!.lsn;
      await eventually(
        async () => {
          const [row] = await query<{ done: boolean }>(standby.url(), 'SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS done', [lsn]);
          return row?.done === true;
        },
        { what: `the standby replays the primary's WAL up to ${lsn}`, timeoutMs, intervalMs: 25 },
      );
    },
    async pauseReplay() {
      await query(standby.url(), 'SELECT pg_wal_replay_pause()');
      await eventually(
        async () => {
          const [row] = await query<{ state: string }>(standby.url(), 'SELECT pg_get_wal_replay_pause_state() AS state');
          return row?.state === 'paused';
        },
        { what: 'replay on the standby is paused', timeoutMs: 5_000, intervalMs: 25 },
      );
    },
    async resumeReplay() {
      await query(standby.url(), 'SELECT pg_wal_replay_resume()');
    },
    async stopStandby() {
      if (!standbyRunning) return;
      standbyRunning = false;
      await stopServer(standbyDir);
    },
    async startStandby() {
      if (standbyRunning) return;
      await pgCtl(standbyDir, standby.port, ['-c', 'hot_standby=on'], 'standby.log');
      standbyRunning = true;
      await streaming();
    },
    async stop() {
      if (standbyRunning) await stopServer(standbyDir);
      standbyRunning = false;
      await stopServer(primaryDir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
