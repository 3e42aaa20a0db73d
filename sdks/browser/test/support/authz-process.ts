/**
 * The real authz service as a child process (`node services/authz/dist/main.js`):
 * its own empty Postgres database on the tests' server (WARDEN_TEST_PG_URL; the service
 * migrates it at start; dropped on stop), the example world, a JWKS file whose key signs
 * the test users' tokens, and CORS for one page origin.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDatabase, createTestIdp, freePort, startNode, type TestDatabase, type TestProcess } from '@warden/testkit';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = path.join(REPO, 'services/authz/dist/main.js');
const WORLD = path.join(REPO, 'examples/acme.yaml');

export interface AuthzProcess {
  /** `http://127.0.0.1:PORT`, the AuthZEN HTTP API. */
  readonly url: string;
  /** A token for `sub` signed by the JWKS's key; `expired` makes one the service refuses. */
  token(sub: string, options?: { expired?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

export async function startAuthz(corsOrigin: string): Promise<AuthzProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx turbo run build --filter=@warden/authz...)`);
  const database: TestDatabase = await createDatabase({ prefix: 'warden_sdk_browser_', poolMax: 1 });
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-sdk-browser-'));
  let authz: TestProcess | undefined;

  const stop = async (): Promise<void> => {
    await authz?.stop({ graceMs: 10_000 });
    await database.drop();
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const idp = await createTestIdp({ kid: 'idp-1' });
    const jwksFile = path.join(dir, 'jwks.json');
    await idp.writeJwks(jwksFile);

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    authz = startNode(MAIN, ['--world', WORLD], {
      name: 'authz',
      cwd: dir,
      inheritEnv: false,
      env: {
        DATABASE_URL: database.url,
        AUTHZ_GRPC_PORT: '0',
        AUTHZ_METRICS_PORT: '0',
        AUTHZ_HTTP_PORT: String(port),
        AUTHZ_JWKS_FILE: jwksFile,
        AUTHZ_JWT_ISSUER: idp.issuer,
        AUTHZ_JWT_AUDIENCE: idp.audience,
        AUTHZ_CORS_ORIGINS: corsOrigin,
        AUTHZ_LOG_LEVEL: 'warn',
        AUTHZ_SHUTDOWN_GRACE_MS: '1000',
      },
    });

    // Ready when /readyz answers 200; fails at once if the process dies.
    await authz.waitFor(`HTTP 200 on ${url}/readyz`, () => fetch(`${url}/readyz`).then((r) => r.ok), { timeoutMs: 45_000, intervalMs: 100 });

    return {
      url,
      token: (sub, options = {}) => idp.token(sub, options.expired === true ? { expiresIn: '-1h' } : {}),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
