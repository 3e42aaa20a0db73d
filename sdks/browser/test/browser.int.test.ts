/**
 * The SDK in a real headless Chromium (Debian's `chromium`, driven by playwright-core)
 * against the real authz HTTP API with real JWTs: a flag page hides "Enable in
 * production" from mia (a member) and from sarah too (release manager of production, where
 * enabling requires approval: not a yes), and shows sarah what her role allows there outright.
 * Chromium missing is a failure, not a skip: CI installs it (.ci/run, ensure_chromium).
 */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startAuthz, type AuthzProcess } from './support/authz-process.js';
import { startPageServer, type PageServer } from './support/page-server.js';

function chromiumPath(): string {
  try {
    return execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('chromium is not installed: apt-get install -y chromium (.ci/run does it in ensure_chromium)');
  }
}

// At load time, so a missing Chromium fails the file (counted as a failure, never a skip).
const executablePath = chromiumPath();
let authz: AuthzProcess | undefined;
let site: PageServer | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  site = await startPageServer();
  authz = await startAuthz(site.origin);
  site.setAuthzUrl(authz.url);
  site.sessions.set('mia', { user: 'mia@acme.com', token: await authz.token('mia@acme.com') });
  site.sessions.set('sarah', { user: 'sarah@acme.com', token: await authz.token('sarah@acme.com') });
  site.sessions.set('mia-expired', { user: 'mia@acme.com', token: await authz.token('mia@acme.com', { expired: true }) });
  // playwright-core's launch() gives the browser a fresh temporary user data dir.
  browser = await chromium.launch({
    executablePath,
    timeout: 30_000,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await authz?.stop();
  await site?.close();
});

/** Opens the page signed in with `session` in a fresh browser context; counts its AuthZEN requests. */
async function openAs(session: string, query = ''): Promise<{ page: Page; evaluations: () => number; state: string }> {
  const context = await browser!.newContext();
  await context.addCookies([{ name: 'session', value: session, url: site!.origin }]);
  const page = await context.newPage();
  let evaluations = 0;
  page.on('request', (request) => {
    if (request.method() === 'POST' && request.url() === `${authz!.url}/access/v1/evaluations`) evaluations++;
  });
  await page.goto(`${site!.origin}/${query}`);
  await page.waitForSelector('body:not([data-state="loading"])', { timeout: 15_000 });
  const state = (await page.getAttribute('body', 'data-state')) ?? '';
  return { page, evaluations: () => evaluations, state };
}

describe('browser SDK in headless Chromium against the authz HTTP API', () => {
  it('hides "Enable in production" from a member (mia) and shows what she may do', async () => {
    const { page, evaluations, state } = await openAs('mia');
    expect(state, await page.textContent('#status') ?? '').toBe('ready');
    // The button is in the DOM, and hidden; the one she may use is shown.
    const production = page.locator('#enable-production');
    await expect(production.textContent()).resolves.toBe('Enable in production');
    await expect(production.isHidden()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Enable in development' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('button').allTextContents()).resolves.toEqual(['Enable in development']);
    // canMany prefetched both questions in one request; the can() calls were answered from the cache.
    expect(evaluations()).toBe(1);
    await page.context().close();
  });

  it('shows a release manager (sarah) what her role allows in production; enabling there needs approval, so it stays hidden', async () => {
    const { page, evaluations, state } = await openAs('sarah');
    expect(state, await page.textContent('#status') ?? '').toBe('ready');
    await expect(page.getByRole('button', { name: 'Reveal STRIPE_KEY in production' }).isVisible()).resolves.toBe(true);
    // Production checkout requires approval (acme.yaml): REQUIRES_APPROVAL is not a yes, and the UI fails closed.
    await expect(page.locator('#enable-production').isHidden()).resolves.toBe(true);
    await expect(page.getByRole('button').allTextContents()).resolves.toEqual(['Enable in development', 'Reveal STRIPE_KEY in production']);
    expect(evaluations()).toBe(1);
    await page.context().close();
  });

  it('rejects with WardenAuthError 401 when the service refuses the token, and shows no button', async () => {
    const { page, state } = await openAs('mia-expired');
    expect(state).toBe('error');
    expect(await page.textContent('#status')).toMatch(/^WardenAuthError 401: /);
    await expect(page.locator('button:visible').count()).resolves.toBe(0);
    await page.context().close();
  });

  it('rejects with WardenAuthError 403 when the user asks about someone else', async () => {
    const { page, state } = await openAs('mia', '?as=user:sarah@acme.com');
    expect(state).toBe('error');
    expect(await page.textContent('#status')).toMatch(/^WardenAuthError 403: .*may ask only about itself/);
    await expect(page.locator('button:visible').count()).resolves.toBe(0);
    await page.context().close();
  });
});
