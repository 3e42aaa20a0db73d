/**
 * authz as a child process for end-to-end tests of its clients (the browser SDK, the console):
 * its own empty database on the tests' Postgres (the service migrates it; dropped on stop), a
 * JWKS file whose key signs users' tokens, a free HTTP port, ready when /readyz answers. The
 * service's entry (`services/authz/dist/main.js`) and arguments are passed in: testkit imports
 * no service.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestIdp, type TestIdp } from './idp.js';
import { freePort } from './ports.js';
import { createDatabase, type TestDatabase } from './postgres.js';
import { startNode, type TestProcess } from './process.js';

export interface AuthzProcessOptions {
  /** The service's entry script, e.g. `<repo>/services/authz/dist/main.js`. */
  readonly main: string;
  /** Arguments, e.g. `['--world', file]`. */
  readonly args?: readonly string[];
  /** More AUTHZ_* settings (over the defaults: any free gRPC and metrics port, log level warn). */
  readonly env?: Readonly<Record<string, string>>;
  /** Prefix of the database's name. */
  readonly prefix: string;
}

export interface AuthzProcess {
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Signs the tokens the service accepts (its JWKS file holds this key). */
  readonly idp: TestIdp;
  readonly process: TestProcess;
  /** Stops the service, drops its database, removes its files. */
  stop(): Promise<void>;
}

export async function startAuthzProcess(options: AuthzProcessOptions): Promise<AuthzProcess> {
  if (!existsSync(options.main)) throw new Error(`${options.main} is missing: build first (npx turbo run build --filter=@warden/authz...)`);
  const database: TestDatabase = await createDatabase({ prefix: options.prefix, poolMax: 1 });
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-authz-'));
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
    authz = startNode(options.main, options.args ?? [], {
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
        AUTHZ_LOG_LEVEL: 'warn',
        AUTHZ_SHUTDOWN_GRACE_MS: '1000',
        ...options.env,
      },
    });
    // Ready when /readyz answers 200; fails at once if the process dies.
    await authz.waitFor(`HTTP 200 on ${url}/readyz`, () => fetch(`${url}/readyz`).then((r) => r.ok), { timeoutMs: 45_000, intervalMs: 100 });
    return { url, idp, process: authz, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
