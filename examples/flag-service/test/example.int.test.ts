/**
 * The README's example, as a user runs it: `node examples/flag-service/dist/main.js`
 * (authz on embedded Postgres, audit on the embedded ClickHouse engine, the flag service,
 * the development identity provider), then the demo: sam asks to enable checkout-v2 in
 * production (which requires approval), fails to approve his own request, sarah approves, sam
 * applies; its output ends with the audit timeline, every step naming the person who made it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, startNode, type TestProcess } from '@warden/testkit';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
let dir: string;
let example: TestProcess | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'main.js'))) throw new Error('build first (npm test does)');
  dir = await mkdtemp(path.join(tmpdir(), 'warden-example-'));
  await chmod(dir, 0o755);
  const [port, grpcPort, httpPort, auditPort, pgPort, issuerPort] = await freePorts(6);
  env = {
    ...process.env,
    EXAMPLE_DATA_DIR: path.join(dir, 'data'),
    EXAMPLE_LOG_LEVEL: 'warn',
    EXAMPLE_PORT: String(port),
    EXAMPLE_AUTHZ_GRPC_PORT: String(grpcPort),
    EXAMPLE_AUTHZ_HTTP_PORT: String(httpPort),
    EXAMPLE_AUDIT_PORT: String(auditPort),
    EXAMPLE_PG_PORT: String(pgPort),
    EXAMPLE_ISSUER_PORT: String(issuerPort),
  };
  example = startNode(path.join(DIST, 'main.js'), [], { name: 'the example', env, stdout: 'ignore' });
  await example.waitFor('data/endpoints.json written', () => existsSync(path.join(dir, 'data', 'endpoints.json')), { timeoutMs: 100_000, intervalMs: 200 });
});

afterAll(async () => {
  await example?.stop();
  await rm(dir, { recursive: true, force: true });
});

const ROUTE = '/projects/checkout/envs/production/flags/checkout-v2';
const endpoints = async () => JSON.parse(await readFile(path.join(dir, 'data', 'endpoints.json'), 'utf8')) as { flags: string; issuer: string };
const signIn = async (email: string) => {
  const response = await fetch(`${(await endpoints()).issuer}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }) });
  return ((await response.json()) as { token: string }).token;
};
const post = async (route: string, headers: Record<string, string>) =>
  fetch(`${(await endpoints()).flags}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });

describe('the example flag service', () => {
  it('runs the approval scenario, every step by a person, and shows its audit timeline', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(DIST, 'demo.js')], { env });
    const requestId = /"requestId":"([0-9a-f-]{36})"/.exec(stdout)?.[1];
    expect(requestId, stdout).toBeDefined();
    // The four steps, as the demo prints them.
    expect(stdout).toMatch(/sam@acme.com +POST \/projects\/checkout\/envs\/production\/flags\/checkout-v2\/enable .* → 202 \{"status":"pending"/);
    expect(stdout).toMatch(/sam@acme.com +approves request \S+ → refused: PERMISSION_DENIED .*may not approve its own request/);
    expect(stdout).toMatch(/sarah@acme.com +approves request \S+ → user:sarah@acme.com approved/);
    expect(stdout).toMatch(/sam@acme.com +POST \/requests\/\S+\/apply \{\} → 200 \{"applied":true,.*"approvers":\["user:sarah@acme.com"\],"flag":\{"enabled":true/);

    const timeline = stdout.slice(stdout.indexOf('audit timeline'));
    const rows = timeline.split('\n').filter((line) => line.includes('…/production'));
    const cell = (row: string, i: number) => row.split(' | ')[i];
    // The owner's grants, made with her own token, name her (not a service account).
    const grants = rows.filter((row) => cell(row, 3) === 'binding.created' && !row.includes('world-file'));
    expect(grants.map((row) => `${cell(row, 2)} ${cell(row, 6)}`)).toEqual([
      'user:olivia@acme.com sam asks for production releases',
      'user:olivia@acme.com sarah approves production changes from now on',
    ]);
    // The request: requested by sam, approved by sarah, applied by sam, with its before and after.
    const change = '{"enabled":false,"rollout":0} → {"enabled":true,"rollout":0}';
    const steps = rows.filter((row) => cell(row, 4) === '…/production/flag:checkout-v2');
    expect(steps.map((row) => [cell(row, 2), cell(row, 3), cell(row, 5)])).toEqual([
      ['user:sam@acme.com (via service:acme-admin)', 'request.opened', change],
      ['user:sarah@acme.com', 'request.approved', 'pending → approved'],
      ['user:sam@acme.com (via service:acme-admin)', 'request.applied', change],
      ['user:sam@acme.com', 'flags.enable', change],
    ]);
    expect(cell(steps[3]!, 6)).toBe(`change request ${requestId}, approved by user:sarah@acme.com: launch checkout-v2`);
    expect(timeline).not.toMatch(/service:acme-admin \| binding\.created/);

    // People are who their token says: no token, a claimed x-user, a token of another issuer are refused.
    expect((await post(`${ROUTE}/enable`, { 'x-user': 'sarah@acme.com' })).status).toBe(401);
    const { privateKey } = await generateKeyPair('EdDSA');
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'EdDSA', kid: 'example-dev-1' }).setIssuer((await endpoints()).issuer).setAudience('warden-example').setSubject('olivia@acme.com').setExpirationTime('5m').sign(privateKey);
    expect((await post(`${ROUTE}/enable`, { authorization: `Bearer ${forged}` })).status).toBe(401);
    // Only its requester applies a request: sarah may not apply sam's (refused before anything is claimed).
    const sam = await signIn('sam@acme.com');
    const pending = await post(`${ROUTE}/enable`, { authorization: `Bearer ${sam}` });
    expect(pending.status).toBe(202);
    const { requestId: another } = (await pending.json()) as { requestId: string };
    const sarahApplies = await post(`/requests/${another}/apply`, { authorization: `Bearer ${await signIn('sarah@acme.com')}` });
    expect(sarahApplies.status).toBe(403);
    expect(await sarahApplies.text()).toContain('only its requester (user:sam@acme.com) applies it');
  });
});
