/**
 * The console end to end: the real authz (`services/authz/dist/main.js`, AUTHZ_CONSOLE=true)
 * on its own Postgres database, seeded with the example world minus Sarah's release-manager
 * binding (the scenario grants it through the UI); a bootstrap API key for service:acme-admin
 * (the development sign-in) and a JWKS whose key signs users' tokens (the OIDC sign-in); and
 * Debian's Chromium through playwright-core (one browser server for the run). Chromium missing
 * is a failure, never a skip.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import 'vitest';
import { startAuthzProcess, type AuthzProcess } from '@warden/testkit';

const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const MAIN = path.join(REPO, 'services/authz/dist/main.js');
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
}

export const USERS = ['olivia', 'victor', 'ivy', 'mia', 'sarah'] as const;

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
  let browserServer: BrowserServer | undefined;
  const stop = async (): Promise<void> => {
    await browserServer?.close();
    await authz?.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const world = (await readFile(WORLD, 'utf8')).replace(/^.*user:sarah@acme\.com, role: release_manager.*\n/m, '');
    if (world.includes('sarah@acme.com, role: release_manager')) throw new Error('the seed world changed: Sarah is still a release manager');
    await writeFile(path.join(dir, 'world.yaml'), world);
    authz = await startAuthzProcess({
      main: MAIN,
      args: ['--world', path.join(dir, 'world.yaml')],
      prefix: 'warden_console_',
      env: {
        AUTHZ_CONSOLE: 'true',
        AUTHZ_BOOTSTRAP_KEY_FILE: path.join(dir, 'admin.key'),
        AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
        AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
      },
    });
    const adminKey = (await readFile(path.join(dir, 'admin.key'), 'utf8')).trim();
    const tokens: Record<string, string> = {};
    for (const user of USERS) tokens[user] = await authz.idp.token(`${user}@acme.com`, { expiresIn: '1h' });
    browserServer = await chromium.launchServer({ executablePath, timeout: 30_000, args: CHROMIUM_ARGS });
    return { served: { url: authz.url, browserEndpoint: browserServer.wsEndpoint(), adminKey, tokens }, stop };
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
