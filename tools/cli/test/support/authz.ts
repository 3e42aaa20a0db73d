/**
 * An in-process authz on its own template database, seeded from the example world, with an
 * owner key for `service:acme-admin`; and the built `warden` CLI run against it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { startAuthzApp, loadConfig, migrate, type AuthzApp } from '@warden/authz';
import { createDatabase } from '@warden/testkit';
import { ACME_FILE, CLI } from './paths.js';

const run = promisify(execFile);

export interface CliAuthz {
  readonly app: AuthzApp;
  /** The bootstrap owner key of organization acme. */
  readonly ownerKey: string;
  /** A scratch folder removed by `stop`. */
  readonly dir: string;
  /** Runs `warden ARGS --addr <authz>` with `key` (default: the owner's); never throws. */
  warden(args: string[], key?: string): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

export async function startCliAuthz(name: string): Promise<CliAuthz> {
  const db = await createDatabase({ prefix: 'warden_cli_' });
  await migrate(db.pool);
  const dir = await mkdtemp(path.join(tmpdir(), `warden-cli-${name}-`));
  const app = await startAuthzApp(
    loadConfig({
      DATABASE_URL: db.url,
      AUTHZ_GRPC_PORT: '0',
      AUTHZ_HTTP_PORT: '0',
      AUTHZ_METRICS_PORT: '0',
      AUTHZ_WORLD_FILE: ACME_FILE,
      AUTHZ_BOOTSTRAP_KEY_FILE: path.join(dir, 'owner.key'),
      AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
      AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
    }),
    pino({ level: 'silent' }),
  );
  const ownerKey = (await readFile(path.join(dir, 'owner.key'), 'utf8')).trim();
  return {
    app,
    ownerKey,
    dir,
    async warden(args, key = ownerKey) {
      try {
        const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--addr', app.grpcAddress], { env: { ...process.env, WARDEN_API_KEY: key }, timeout: 60_000 });
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code: number; stdout: string; stderr: string };
        return { code: e.code, stdout: e.stdout, stderr: e.stderr };
      }
    },
    async stop() {
      await app.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
