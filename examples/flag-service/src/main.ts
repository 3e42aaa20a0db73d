#!/usr/bin/env node
/**
 * The whole example in one process, on embedded defaults (nothing installed):
 *   authz  — embedded Postgres, examples/acme.yaml, its outbox relayed to audit
 *   audit  — the embedded ClickHouse engine (chdb)
 *   flags  — this flag service on http://127.0.0.1:3000, using the Node SDK
 *   issuer — a development identity provider on http://127.0.0.1:3001 (dev-issuer.ts): people
 *            sign in there; authz and the flag service accept its tokens
 * Data and keys live under ./data/example (created on first start).
 *
 *   npm run example            # start
 *   npm run example:demo       # in another terminal: the seed scenario, then its audit timeline
 */
import { createPublicKey } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { generateSigningKey, parsePrivateKey, privateKeyToPem } from '@warden/audit-events';
import { loadConfig as loadAuditConfig, startAuditApp } from '@warden/audit/service';
import { loadConfig as loadAuthzConfig, startAuthzApp } from '@warden/authz';
import { createWarden } from '@warden/sdk';
import { startDevIssuer } from './dev-issuer.js';
import { createFlagService } from './flag-service.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA = path.resolve(process.env['EXAMPLE_DATA_DIR'] ?? path.join(ROOT, 'data', 'example'));
const port = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const PORTS = {
  authzGrpc: port('EXAMPLE_AUTHZ_GRPC_PORT', 50051),
  authzHttp: port('EXAMPLE_AUTHZ_HTTP_PORT', 8080),
  audit: port('EXAMPLE_AUDIT_PORT', 50052),
  flags: port('EXAMPLE_PORT', 3000),
  issuer: port('EXAMPLE_ISSUER_PORT', 3001),
  postgres: port('EXAMPLE_PG_PORT', 54329),
};
const logger = pino({ level: process.env['EXAMPLE_LOG_LEVEL'] ?? 'info', base: { service: 'warden-example' } });

/** A producer key pair, made once: the private key stays here, the public one goes to audit. */
async function producerKey(name: string): Promise<{ privatePem: string; publicPem: string }> {
  const file = path.join(DATA, 'keys', `${name}.pem`);
  if (!existsSync(file)) {
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    await writeFile(file, privateKeyToPem(generateSigningKey().privateKey), { mode: 0o600 });
  }
  const privatePem = await readFile(file, 'utf8');
  const publicPem = createPublicKey(parsePrivateKey(privatePem)).export({ format: 'pem', type: 'spki' }).toString();
  return { privatePem, publicPem };
}

await mkdir(DATA, { recursive: true });
await chmod(DATA, 0o755); // embedded Postgres runs as `postgres` when we are root
const authzKey = await producerKey('authz');
const flagsKey = await producerKey('flags');
await writeFile(path.join(DATA, 'producers.json'), JSON.stringify([
  { producer: 'authz', keyId: 'authz-1', publicKey: authzKey.publicPem },
  { producer: 'flags', keyId: 'flags-1', publicKey: flagsKey.publicPem },
]));

const issuer = await startDevIssuer({ keyFile: path.join(DATA, 'keys', 'dev-issuer.jwk'), port: PORTS.issuer });

const authz = await startAuthzApp(
  loadAuthzConfig({
    AUTHZ_DATA_DIR: DATA,
    AUTHZ_EMBEDDED_PG_PORT: String(PORTS.postgres),
    AUTHZ_GRPC_PORT: String(PORTS.authzGrpc),
    AUTHZ_HTTP_PORT: String(PORTS.authzHttp),
    AUTHZ_WORLD_FILE: path.join(ROOT, 'examples', 'acme.yaml'),
    AUTHZ_BOOTSTRAP_KEY_FILE: path.join(DATA, 'admin.key'),
    AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
    AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
    AUTHZ_AUDIT_ADDRESS: `127.0.0.1:${PORTS.audit}`,
    AUTHZ_AUDIT_SIGNING_KEY_FILE: path.join(DATA, 'keys', 'authz.pem'),
    AUTHZ_AUDIT_KEY_ID: 'authz-1',
    // The audit service authenticates its callers through authz, with a key authz issues it.
    AUTHZ_IDENTITY_CALLERS: 'service:audit',
    AUTHZ_IDENTITY_KEY_FILE: path.join(DATA, 'audit.key'),
    // People act with tokens of the development identity provider.
    AUTHZ_JWKS_URL: issuer.jwksUrl,
    AUTHZ_JWT_ISSUER: issuer.issuer,
    AUTHZ_JWT_AUDIENCE: issuer.audience,
    AUTHZ_LOG_LEVEL: process.env['EXAMPLE_LOG_LEVEL'] ?? 'info',
  }),
  logger.child({ component: 'authz' }),
);
const audit = await startAuditApp(
  loadAuditConfig({
    AUDIT_GRPC_ADDRESS: `127.0.0.1:${PORTS.audit}`,
    AUDIT_DATA_DIR: path.join(DATA, 'audit'),
    AUDIT_AUTHZ_ADDRESS: authz.grpcAddress,
    AUDIT_PRODUCER_KEYS_FILE: path.join(DATA, 'producers.json'),
    AUDIT_AUTHZ_CREDENTIAL_FILE: path.join(DATA, 'audit.key'),
    AUDIT_LOG_LEVEL: process.env['EXAMPLE_LOG_LEVEL'] ?? 'info',
  }),
  logger.child({ component: 'audit' }),
);
const warden = createWarden({
  authz: { address: authz.grpcAddress },
  credentials: { apiKey: (await readFile(path.join(DATA, 'admin.key'), 'utf8')).trim() },
  audit: { address: audit.address, producer: 'flags', keyId: 'flags-1', signingKey: parsePrivateKey(flagsKey.privatePem), spoolDir: path.join(DATA, 'flags-spool') },
});
const { app } = createFlagService(warden, { authenticate: (token) => issuer.verify(token) });
await app.listen({ host: '127.0.0.1', port: PORTS.flags });
// Where everything listens, for the demo (and anyone scripting against the example).
await writeFile(path.join(DATA, 'endpoints.json'), JSON.stringify({ flags: `http://127.0.0.1:${PORTS.flags}`, authz: authz.grpcAddress, authzHttp: authz.httpUrl, audit: audit.address, issuer: issuer.issuer }));
logger.info({ flags: `http://127.0.0.1:${PORTS.flags}`, authz: authz.grpcAddress, authzHttp: authz.httpUrl, audit: audit.address, issuer: issuer.issuer }, 'example running; try `npm run example:demo`');

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await app.close();
  await warden.close();
  await authz.close();
  await audit.close();
  await issuer.close();
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
