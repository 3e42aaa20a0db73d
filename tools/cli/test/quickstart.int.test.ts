/**
 * The README quickstart, for real: the built service process on embedded Postgres
 * (initialised from nothing in a temporary folder), the `warden check` CLI against
 * it, and a clean SIGTERM shutdown that stops Postgres too.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNode, type TestProcess } from '@warden/testkit';
import { ACME_FILE, AUTHZ_MAIN as MAIN, CLI } from './support/paths.js';

let dataDir: string;
let authz: TestProcess | undefined;
let address: string;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`npm run build\` (npm test does)`);
  dataDir = await mkdtemp(path.join(tmpdir(), 'warden-quickstart-'));
  await chmod(dataDir, 0o755); // as root, Postgres runs as `postgres` and must be able to enter it
  const pgPort = await freePort();
  authz = startNode(MAIN, ['--world', ACME_FILE], {
    name: 'authz',
    env: {
      DATABASE_URL: '',
      AUTHZ_DATA_DIR: path.join(dataDir, 'data'),
      AUTHZ_EMBEDDED_PG_PORT: String(pgPort),
      AUTHZ_GRPC_PORT: '0',
      AUTHZ_METRICS_PORT: '0',
      AUTHZ_HTTP_PORT: '0',
      // As the README's `npm start` does: a key for the example's admin service account.
      AUTHZ_BOOTSTRAP_KEY_FILE: path.join(dataDir, 'data', 'admin.key'),
      AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
      AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
    },
  });
  const proc = authz;
  address = await proc.waitFor(
    '"ready" and the gRPC address',
    () => (proc.log.includes('"msg":"ready"') ? /"address":"([^"]+)","msg":"authz gRPC server listening"/.exec(proc.log)?.[1] : undefined),
    { timeoutMs: 90_000 },
  );
}, 120_000);

afterAll(async () => {
  await authz?.kill();
  await rm(dataDir, { recursive: true, force: true });
});

const run = promisify(execFile);
async function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--addr', address, '--key-file', path.join(dataDir, 'data', 'admin.key')]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('quickstart: the service on embedded Postgres and the warden CLI', () => {
  it('started embedded Postgres, migrated and applied the example world', () => {
    expect(authz!.log).toContain('"msg":"embedded Postgres started"');
    expect(authz!.log).toContain('"msg":"migrations applied"');
    expect(authz!.log).toMatch(/"org":"acme","revision":1,"msg":"organization created from the world file"/);
  });

  it('warden check: ALLOW exits 0, DENY exits 1, bad input exits 2', async () => {
    const allowed = await cli('check', 'user:mia@acme.com', 'variables:write', 'org:acme/project:checkout/env:development/variable:DATABASE_URL');
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/^ALLOW {2}\(revision 2\)\n {2}reason: ALLOWED — allowed by allow binding .* \(role env_writer for user:mia@acme.com/);
    const denied = await cli('check', 'user:victor@acme.com', 'variables:write', 'org:acme/project:checkout/env:staging/variable:X', '--json');
    expect(denied.code).toBe(1);
    expect(JSON.parse(denied.stdout)).toMatchObject({ decision: 'DECISION_DENY', reason: { code: 'REASON_CODE_CEILING', membershipRole: 'viewer' } });
    const ticket = await cli('check', 'user:dana@acme.com', 'variables:write', 'org:acme/project:checkout/env:staging/variable:X', '--context', '{"ticket":"OPS-1"}');
    expect(ticket.code).toBe(0);
    const bad = await cli('check', 'sarah', 'flags:read', 'org:acme');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('INVALID_ARGUMENT: subject: "sarah" is not of the form type:id');
  });

  it('warden grant, explain, who-can and revoke through the admin API', async () => {
    const resource = 'org:acme/project:checkout/env:production/flag:checkout-v2';
    const before = await cli('explain', 'user:sam@acme.com', 'flags:enable', resource);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/rule: +PROTECTED_RESOURCE/);
    expect(before.stdout).toMatch(/needs a role of: +owner, admin, release_manager/);
    const granted = await cli('grant', 'user:sam@acme.com', 'release_manager', 'org:acme/project:checkout/env:production', '--reason', 'on call this week', '--json');
    expect(granted.code).toBe(0);
    const { binding, created } = JSON.parse(granted.stdout) as { binding: string; created: boolean };
    expect(created).toBe(true);
    // Production checkout requires approval (acme.yaml): the grant allows sam to enable there with approval (exit 3).
    const after = await cli('explain', 'user:sam@acme.com', 'flags:enable', resource);
    expect(after.code).toBe(3);
    expect(after.stdout).toMatch(/grants: +allow role release_manager to user:sam@acme.com on org:acme\/project:checkout\/env:production/);
    // who-can lists ALLOW: an action that needs no approval there.
    const who = await cli('who-can', 'secrets:reveal', 'org:acme/project:checkout/env:production', '--type', 'user', '--json');
    expect(who.code).toBe(0);
    expect((JSON.parse(who.stdout) as { subjects: string[] }).subjects).toEqual([
      'user:adam@acme.com', 'user:alex@acme.com', 'user:olivia@acme.com', 'user:sam@acme.com', 'user:sarah@acme.com',
    ]);
    const revoked = await cli('revoke', binding, '--reason', 'rotation ended');
    expect(revoked.code).toBe(0);
    expect((await cli('check', 'user:sam@acme.com', 'flags:enable', resource)).code).toBe(1);
  });

  it('stops on SIGTERM with exit code 0 and stops Postgres', async () => {
    expect((await authz!.stop()).code).toBe(0);
    expect(authz!.log).toContain('"msg":"authz stopped"');
    expect(existsSync(path.join(dataDir, 'data', 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
