/**
 * The real authz service for SDK tests: a database of the file's own copied from the
 * run's migrated template (test/support/global-setup.ts; the tests fail loudly when
 * Postgres is not there), the example world, and a bootstrap API key for
 * service:acme-admin, an owner of acme (it may ask about anyone there).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, startAuthzApp, type AuthzApp } from '@warden/authz';
import { createTestDatabase } from '@warden/testkit/vitest';

export const ACME = fileURLToPath(new URL('../../../../examples/acme.yaml', import.meta.url));

export interface RunningAuthz {
  readonly app: AuthzApp;
  readonly adminKey: string;
  readonly databaseUrl: string;
  close(): Promise<void>;
}

export async function startAuthz(env: Record<string, string> = {}): Promise<RunningAuthz> {
  const db = await createTestDatabase({ prefix: 'warden_sdk_', poolMax: 1 });
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-sdk-'));
  const keyFile = path.join(dir, 'admin.key');
  const app = await startAuthzApp(
    loadConfig({
      DATABASE_URL: db.url,
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
    databaseUrl: db.url,
    async close() {
      await app.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
