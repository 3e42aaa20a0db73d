/**
 * The real authz service for SDK tests: a fresh database on the machine's Postgres
 * (the tests fail loudly when it is not there), the example world, and a bootstrap
 * API key for service:acme-admin, an owner of acme (it may ask about anyone there).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { pino } from 'pino';
import { loadConfig, startAuthzApp, type AuthzApp } from '@warden/authz';

export const ADMIN_URL = process.env['WARDEN_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const ACME = fileURLToPath(new URL('../../../../examples/acme.yaml', import.meta.url));

export interface RunningAuthz {
  readonly app: AuthzApp;
  readonly adminKey: string;
  readonly databaseUrl: string;
  close(): Promise<void>;
}

export async function startAuthz(env: Record<string, string> = {}): Promise<RunningAuthz> {
  const name = `warden_sdk_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`the SDK tests need a real Postgres at ${ADMIN_URL}: ${(error as Error).message}`);
  }
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-sdk-'));
  const keyFile = path.join(dir, 'admin.key');
  const app = await startAuthzApp(
    loadConfig({
      DATABASE_URL: url.toString(),
      AUTHZ_GRPC_PORT: '0',
      AUTHZ_HTTP_PORT: '0',
      AUTHZ_WORLD_FILE: ACME,
      AUTHZ_BOOTSTRAP_KEY_FILE: keyFile,
      AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
      AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
      AUTHZ_SHUTDOWN_GRACE_MS: '2000',
      ...env,
    }),
    pino({ level: 'silent' }),
  );
  return {
    app,
    adminKey: readFileSync(keyFile, 'utf8').trim(),
    databaseUrl: url.toString(),
    async close() {
      await app.close();
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
