/**
 * The real authz service as a child process (`node services/authz/dist/main.js`):
 * its own fresh Postgres database (created here, dropped on stop), the example world,
 * a JWKS file whose key signs the test users' tokens, and CORS for one page origin.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import pg from 'pg';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = path.join(REPO, 'services/authz/dist/main.js');
const WORLD = path.join(REPO, 'examples/acme.yaml');
const PG_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const ISSUER = 'https://idp.warden.test';
const AUDIENCE = 'warden';

export interface AuthzProcess {
  /** `http://127.0.0.1:PORT`, the AuthZEN HTTP API. */
  readonly url: string;
  /** A token for `sub` signed by the JWKS's key; `expired` makes one the service refuses. */
  token(sub: string, options?: { expired?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function admin<T>(run: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(`Postgres is not reachable at ${PG_ADMIN_URL} (the browser test needs it; .ci/run starts it)`, { cause: error });
  }
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export async function startAuthz(corsOrigin: string): Promise<AuthzProcess> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npx turbo run build --filter=@warden/authz...)`);
  const database = `warden_sdk_browser_${randomBytes(6).toString('hex')}`;
  await admin((client) => client.query(`CREATE DATABASE ${database}`));
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-sdk-browser-'));
  let child: ChildProcess | undefined;

  const stop = async (): Promise<void> => {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child!.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child!.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await admin((client) => client.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwksFile = path.join(dir, 'jwks.json');
    await writeFile(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256', use: 'sig' }] }));

    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let output = '';
    child = spawn(process.execPath, [MAIN, '--world', WORLD], {
      cwd: dir,
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}`,
        AUTHZ_GRPC_PORT: '0',
        AUTHZ_METRICS_PORT: '0',
        AUTHZ_HTTP_PORT: String(port),
        AUTHZ_JWKS_FILE: jwksFile,
        AUTHZ_JWT_ISSUER: ISSUER,
        AUTHZ_JWT_AUDIENCE: AUDIENCE,
        AUTHZ_CORS_ORIGINS: corsOrigin,
        AUTHZ_LOG_LEVEL: 'warn',
        AUTHZ_SHUTDOWN_GRACE_MS: '1000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));

    // Ready when /readyz answers 200; fail at once if the process dies.
    const deadline = Date.now() + 45_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`authz exited with code ${child.exitCode}:\n${output}`);
      const ready = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`authz did not become ready on ${url} within 45 s:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    return {
      url,
      async token(sub, options = {}) {
        const now = Math.floor(Date.now() / 1000);
        return new SignJWT({})
          .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
          .setIssuer(ISSUER)
          .setAudience(AUDIENCE)
          .setSubject(sub)
          .setIssuedAt(options.expired === true ? now - 7200 : now)
          .setExpirationTime(options.expired === true ? now - 3600 : now + 600)
          .sign(privateKey);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
