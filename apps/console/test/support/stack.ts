/**
 * The console end to end: the real authz (`services/authz/dist/main.js`, AUTHZ_CONSOLE=true)
 * on its own Postgres database, seeded with the example world minus Sarah's release-manager
 * binding (the scenario grants it through the UI); a bootstrap API key for service:acme-admin
 * (the development sign-in) and a JWKS whose key signs users' tokens (the OIDC sign-in); and
 * Debian's Chromium through playwright-core (one browser server for the run). Chromium missing
 * is a failure, never a skip. Beside it the real audit service (`services/audit/dist/main.js`,
 * embedded chdb), which authz's outbox relay ships to and which authenticates callers through
 * authz's IdentityService; authz pins its checkpoint key (AUTHZ_AUDIT_VERIFIER_KEY), so the
 * Audit page's verify status is checked end to end.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import 'vitest';
import { createNoteVerifier, formatVerifierKey, generateSigningKey, privateKeyToPem } from '@warden/audit-events';
import { freePort, startAuthzProcess, startNode, type AuthzProcess, type TestProcess } from '@warden/testkit';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = path.join(REPO, 'services/authz/dist/main.js');
const AUDIT_MAIN = path.join(REPO, 'services/audit/dist/main.js');
const WORLD = path.join(REPO, 'examples/acme.yaml');
/** Screenshots: test artifacts (gitignored). */
export const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url));

export const PHONE = { width: 390, height: 844 } as const;
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const DESKTOP = { width: 1280, height: 800 } as const;

function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does it in ensure_chromium)');
  }
}

/** What the global setup provides: the running authz, its development key, users' tokens, one Chromium. */
export interface Served {
  readonly url: string;
  /** The Chromium the global setup started (playwright's browser server); specs connect to it. */
  readonly browserEndpoint: string;
  /** The bootstrap API key of service:acme-admin (an owner of acme). */
  readonly adminKey: string;
  /** OIDC access tokens (signed by the JWKS authz trusts) of the seed world's users, by name (`olivia`). */
  readonly tokens: Readonly<Record<string, string>>;
  /** The audit service's process id (a spec may SIGSTOP / SIGCONT it: unreachable, then back). */
  readonly auditPid: number;
}

export const USERS = ['olivia', 'victor', 'ivy', 'mia', 'sarah', 'sam', 'adam'] as const;

declare module 'vitest' {
  export interface ProvidedContext {
    console: Served;
  }
}

export interface Stack extends Served {
  readonly browser: Browser;
  /** A fresh browser context at /console, signed in with `credential` (and `org` for a token); waits for the page. */
  open(credential: string, options?: { org?: string; route?: string; viewport?: { width: number; height: number }; onRequest?: (method: string, body: unknown) => void }): Promise<Page>;
  /** Calls the API directly (to check what the UI did, or to try what the UI hides). */
  api(credential: string, method: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  stop(): Promise<void>;
}

export async function waitReady(page: Page, route: string): Promise<void> {
  // Generous: the whole suite runs beside this one on two cores.
  await page.waitForSelector(`body[data-ready="${route}"]`, { timeout: 30_000 });
}

export async function shot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** Starts authz (global setup): its database, world, keys; returns what specs need and a stop function. */
export async function startServer(): Promise<{ served: Served; stop: () => Promise<void> }> {
  const executablePath = chromiumPath();
  // The world (the example minus Sarah's production binding) and the bootstrap key live here.
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-console-'));
  let authz: AuthzProcess | undefined;
  let audit: TestProcess | undefined;
  let browserServer: BrowserServer | undefined;
  const stop = async (): Promise<void> => {
    await browserServer?.close();
    if (audit?.pid !== undefined) process.kill(audit.pid, 'SIGCONT'); // in case a spec left it stopped
    await audit?.stop();
    await authz?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const world = (await readFile(WORLD, 'utf8')).replace(/^.*user:sarah@acme\.com, role: release_manager.*\n/m, '');
    if (world.includes('sarah@acme.com, role: release_manager')) throw new Error('the seed world changed: Sarah is still a release manager');
    await writeFile(path.join(dir, 'world.yaml'), world);
    // authz's producer key (the audit service trusts it) and the audit service's checkpoint key (authz pins it).
    const producer = generateSigningKey();
    const checkpointKey = generateSigningKey();
    await writeFile(path.join(dir, 'producer.pem'), privateKeyToPem(producer.privateKey), { mode: 0o600 });
    await writeFile(path.join(dir, 'checkpoint.pem'), privateKeyToPem(checkpointKey.privateKey), { mode: 0o600 });
    await writeFile(path.join(dir, 'producers.json'), JSON.stringify([{ producer: 'authz', keyId: 'authz-1', publicKey: producer.publicKey.export({ format: 'pem', type: 'spki' }).toString() }]));
    const [grpcPort, auditPort] = [await freePort(), await freePort()];
    authz = await startAuthzProcess({
      main: MAIN,
      args: ['--world', path.join(dir, 'world.yaml')],
      prefix: 'warden_console_',
      env: {
        AUTHZ_CONSOLE: 'true',
        AUTHZ_BOOTSTRAP_KEY_FILE: path.join(dir, 'admin.key'),
        AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
        AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
        AUTHZ_GRPC_PORT: String(grpcPort),
        AUTHZ_AUDIT_ADDRESS: `127.0.0.1:${auditPort}`,
        AUTHZ_AUDIT_SIGNING_KEY_FILE: path.join(dir, 'producer.pem'),
        AUTHZ_AUDIT_KEY_ID: 'authz-1',
        AUTHZ_OUTBOX_INTERVAL_MS: '100',
        AUTHZ_AUDIT_VERIFIER_KEY: formatVerifierKey(createNoteVerifier('warden-audit', checkpointKey.publicKey)),
        AUTHZ_IDENTITY_CALLERS: 'service:audit',
        AUTHZ_IDENTITY_KEY_FILE: path.join(dir, 'audit.key'),
      },
    });
    audit = startNode(AUDIT_MAIN, [], {
      name: 'audit',
      env: {
        AUDIT_GRPC_ADDRESS: `127.0.0.1:${auditPort}`,
        AUDIT_DATA_DIR: path.join(dir, 'audit'),
        AUDIT_AUTHZ_ADDRESS: `127.0.0.1:${grpcPort}`,
        AUDIT_AUTHZ_CREDENTIAL_FILE: path.join(dir, 'audit.key'),
        AUDIT_PRODUCER_KEYS_FILE: path.join(dir, 'producers.json'),
        AUDIT_SIGNING_KEY_FILE: path.join(dir, 'checkpoint.pem'),
        AUDIT_SIGNING_KEY_NAME: 'warden-audit',
        AUDIT_CHECKPOINT_INTERVAL_MS: '200',
        AUDIT_METRICS_PORT: String(await freePort()),
        AUDIT_LOG_LEVEL: 'info',
      },
      outputLimit: 20_000,
    });
    await audit.waitForOutput(/audit service listening/, { timeoutMs: 60_000 });
    const adminKey = (await readFile(path.join(dir, 'admin.key'), 'utf8')).trim();
    const tokens: Record<string, string> = {};
    for (const user of USERS) tokens[user] = await authz.idp.token(`${user}@acme.com`, { expiresIn: '1h' });
    browserServer = await chromium.launchServer({ executablePath, timeout: 30_000, args: CHROMIUM_ARGS });
    return { served: { url: authz.url, browserEndpoint: browserServer.wsEndpoint(), adminKey, tokens, auditPid: audit.pid! }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A spec's connection to the run's Chromium (each page in a fresh context: no shared storage). */
export async function startStack(served: Served): Promise<Stack> {
  const { url } = served;
  const running = await chromium.connect(served.browserEndpoint, { timeout: 30_000 });
  return {
    ...served,
    browser: running,
    async open(credential, options = {}) {
      const context = await running.newContext({ viewport: options.viewport ?? DESKTOP, acceptDownloads: true });
      const page = await context.newPage();
      page.setDefaultTimeout(10_000);
      const onRequest = options.onRequest;
      if (onRequest !== undefined) {
        page.on('request', (request) => {
          if (request.method() === 'POST') onRequest(request.url().split('/').pop() ?? '', request.postDataJSON());
        });
      }
      await page.goto(`${url}/console/${options.route !== undefined ? `#/${options.route}` : ''}`);
      await page.getByLabel('API key or access token').fill(credential);
      if (options.org !== undefined) await page.getByLabel('Organization').fill(options.org);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await waitReady(page, options.route ?? 'organization');
      return page;
    },
    async api(credential, method, body) {
      const response = await fetch(`${url}/warden.authz.v1.${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
    },
    stop: () => running.close(),
  };
}
