/**
 * The console on the benchmark's scale (issue 17): one organization with the default world's
 * 10,000 subjects, 1,000 projects (3,000 environments) and 100,000 bindings, written through
 * Warden's own writer; authz with the console; Debian's Chromium signed in as the
 * organization's owner (an OIDC token). For each page: the time from navigation to the page
 * being ready (its data loaded and drawn), and the time of the API calls behind it.
 *
 * Usage: npm run console -w @warden/bench [-- --samples 5]
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { loadConfig, parseWorld, startAuthzApp } from '@warden/authz';
import { createTestIdp, pgAdminUrl } from '@warden/testkit';
import { pino } from 'pino';
import { createBenchDatabase } from './database.js';
import { generateWorld } from './world.js';

const { values } = parseArgs({ options: { samples: { type: 'string', default: '5' } } });
const SAMPLES = Number(values.samples);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const generated = generateWorld({ subjects: 10_000, projects: 1_000, bindings: 100_000, orgs: 1, seed: 42 });
  const owner = generated.users[0]!;
  const org = generated.file.orgs[0]!.id;
  console.log(`world: 1 organization, ${generated.users.length} users, ${generated.groups.length} groups, ${generated.bindingCount} bindings; owner ${owner}`);
  const db = await createBenchDatabase(pgAdminUrl(), parseWorld(generated.file));
  console.log(`loaded in ${db.loadSeconds.toFixed(1)} s (revision ${db.revision})`);
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-console-bench-'));
  const idp = await createTestIdp();
  const jwksFile = path.join(dir, 'jwks.json');
  await idp.writeJwks(jwksFile);
  const app = await startAuthzApp(
    loadConfig({ DATABASE_URL: db.url, AUTHZ_GRPC_PORT: '0', AUTHZ_HTTP_PORT: '0', AUTHZ_METRICS_PORT: '0', AUTHZ_CONSOLE: 'true', AUTHZ_JWKS_FILE: jwksFile, AUTHZ_JWT_ISSUER: idp.issuer, AUTHZ_JWT_AUDIENCE: idp.audience }),
    pino({ level: 'warn' }),
  );
  const token = await idp.token(owner.slice('user:'.length), { expiresIn: '1h' });
  const browser = await chromium.launch({
    executablePath: execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim(),
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
    const calls = new Map<string, number[]>();
    page.on('requestfinished', (request) => {
      const method = new URL(request.url()).pathname.split('/').pop() ?? '';
      const timing = request.timing();
      if (request.method() === 'POST') calls.set(method, [...(calls.get(method) ?? []), timing.responseEnd - timing.requestStart]);
    });
    await page.goto(`${app.httpUrl}/console/`);
    await page.getByLabel('API key or access token').fill(token);
    await page.getByLabel('Organization').fill(org);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForSelector('body[data-ready="organization"]', { timeout: 60_000 });
    const rows: string[] = [];
    for (const route of ['organization', 'members', 'access', 'audit']) {
      const times: number[] = [];
      calls.clear();
      for (let i = 0; i < SAMPLES; i++) {
        await page.goto('about:blank');
        const t = performance.now();
        await page.goto(`${app.httpUrl}/console/#/${route}`);
        await page.waitForSelector(`body[data-ready="${route}"]`, { timeout: 60_000 });
        times.push(performance.now() - t);
      }
      const api = [...calls].map(([method, ms]) => `${method} ${median(ms).toFixed(0)} ms ×${ms.length / SAMPLES}`).join(', ');
      rows.push(`| ${route} | ${median(times).toFixed(0)} ms | ${Math.max(...times).toFixed(0)} ms | ${api} |`);
    }
    // The Audit page's narrowest filter: one environment (the changelog scan behind it).
    calls.clear();
    await page.getByLabel('Environment').selectOption({ index: 100 });
    const t = performance.now();
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForResponse((r) => r.url().endsWith('/ListChanges'));
    rows.push(`| audit, one environment | ${(performance.now() - t).toFixed(0)} ms | | ListChanges |`);
    console.log(`\n| page | median ready (${SAMPLES} loads) | slowest | API calls (median server+network time) |\n|---|---|---|---|\n${rows.join('\n')}`);
  } finally {
    await browser.close();
    await app.close();
    await db.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
