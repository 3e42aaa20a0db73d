/**
 * The real authz app for front-door tests: its own database (from the template),
 * the example world, a bootstrap API key for service:acme-admin (an owner), and a
 * real JWKS endpoint on 127.0.0.1 whose key signs test tokens.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createChannel, createClient, Metadata, type Channel } from 'nice-grpc';
import { pino } from 'pino';
import { AuthzServiceDefinition } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { ApprovalsServiceDefinition } from '@warden/proto/authz/v1/approvals';
import { createTestIdp, type TokenOptions } from '@warden/testkit';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';
import { startAuthzApp, type AuthzApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { ACME_FILE } from '../acme-scenario.js';

export interface TestApp {
  readonly app: AuthzApp;
  readonly db: TestDatabase;
  /** The bootstrap key of service:acme-admin (owner of acme). */
  readonly adminKey: string;
  /** Signs a token for `sub` with the JWKS's key (options override claims or make it invalid). */
  token(sub: string, options?: TokenOptions): Promise<string>;
  grpc(credential?: string): {
    authz: ReturnType<typeof createClient<typeof AuthzServiceDefinition>>;
    admin: ReturnType<typeof createClient<typeof AdminServiceDefinition>>;
    approvals: ReturnType<typeof createClient<typeof ApprovalsServiceDefinition>>;
  };
  /** POST JSON to the HTTP API with a credential. */
  post(route: string, body: unknown, credential?: string, headers?: Record<string, string>): Promise<{ status: number; body: unknown; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export async function startTestApp(env: Record<string, string> = {}, logger = pino({ level: 'silent' })): Promise<TestApp> {
  const db = await createTestDatabase();
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-app-'));
  await chmod(dir, 0o700);
  const keyFile = path.join(dir, 'admin.key');

  const idp = await createTestIdp();
  const jwks = await idp.serve();

  const app = await startAuthzApp(
    loadConfig({
      DATABASE_URL: db.url,
      AUTHZ_GRPC_PORT: '0',
      AUTHZ_HTTP_PORT: '0',
      AUTHZ_WORLD_FILE: ACME_FILE,
      AUTHZ_BOOTSTRAP_KEY_FILE: keyFile,
      AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
      AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
      AUTHZ_JWKS_URL: jwks.url,
      AUTHZ_JWT_ISSUER: idp.issuer,
      AUTHZ_JWT_AUDIENCE: idp.audience,
      AUTHZ_SHUTDOWN_GRACE_MS: '2000',
      ...env,
    }),
    logger,
  );
  const adminKey = readFileSync(keyFile, 'utf8').trim();
  const channels: Channel[] = [];

  return {
    app,
    db,
    adminKey,
    token: (sub, options) => idp.token(sub, options),
    grpc(credential) {
      const channel = createChannel(app.grpcAddress);
      channels.push(channel);
      const defaults = { '*': { metadata: credential === undefined ? Metadata() : Metadata({ authorization: `Bearer ${credential}` }) } };
      return {
        authz: createClient(AuthzServiceDefinition, channel, defaults),
        admin: createClient(AdminServiceDefinition, channel, defaults),
        approvals: createClient(ApprovalsServiceDefinition, channel, defaults),
      };
    },
    async post(route, body, credential, headers = {}) {
      const response = await fetch(`${app.httpUrl}${route}`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(credential === undefined ? {} : { authorization: `Bearer ${credential}` }),
          ...headers,
        },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // a plain-text error body
      }
      return { status: response.status, body: parsed, text, headers: response.headers };
    },
    async close() {
      for (const channel of channels) channel.close();
      await app.close();
      await jwks.close();
      await db.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
