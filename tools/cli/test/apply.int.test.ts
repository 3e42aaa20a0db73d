/**
 * `warden plan …` and `warden apply FILE` against a real authz (its own database, seeded from
 * the example world): the plan names who gains and loses what and writes nothing; `--yes`
 * applies through the admin API, judged by the caller's own rights; bad input exits 2.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthzApp, loadConfig, migrate, type AuthzApp } from '@warden/authz';
import { createDatabase, type TestDatabase } from '@warden/testkit';
import { ACME_FILE, CLI } from './support/paths.js';

const run = promisify(execFile);
let db: TestDatabase;
let dir: string;
let app: AuthzApp;
let ownerKey: string;

beforeAll(async () => {
  db = await createDatabase({ prefix: 'warden_cli_' });
  await migrate(db.pool);
  dir = await mkdtemp(path.join(tmpdir(), 'warden-cli-apply-'));
  app = await startAuthzApp(
    loadConfig({
      DATABASE_URL: db.url,
      AUTHZ_GRPC_PORT: '0',
      AUTHZ_HTTP_PORT: '0',
      AUTHZ_METRICS_PORT: '0',
      AUTHZ_WORLD_FILE: ACME_FILE,
      AUTHZ_BOOTSTRAP_KEY_FILE: path.join(dir, 'owner.key'),
      AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin',
      AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
    }),
    pino({ level: 'silent' }),
  );
  ownerKey = (await readFile(path.join(dir, 'owner.key'), 'utf8')).trim();
});

afterAll(async () => {
  await app?.close();
  await db?.drop();
  await rm(dir, { recursive: true, force: true });
});

async function warden(args: string[], key = ownerKey): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args, '--addr', app.grpcAddress], { env: { ...process.env, WARDEN_API_KEY: key }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('warden plan', () => {
  it('names who gains what, writes nothing, and says when the caller may not', async () => {
    const grant = await warden(['plan', 'grant', 'user:mia@acme.com', 'release_manager', 'org:acme/project:checkout/env:production']);
    expect(grant.code).toBe(0);
    expect(grant.stdout).toMatch(/^ {2}user:mia@acme.com gains \d+: .*flags:enable on org:acme\/project:checkout\/env:production/m);
    expect(grant.stdout).toContain('allowed: you may make this change');
    const revision = (await warden(['check', 'user:mia@acme.com', 'flags:enable', 'org:acme/project:checkout/env:production/flag:f'])).stdout;
    expect(revision).toMatch(/^DENY/);

    const minted = await warden(['keys', 'create', '--org', 'acme', '--subject', 'service:member-bot']);
    await warden(['grant', 'service:member-bot', 'member', 'org:acme']);
    const refused = await warden(['plan', 'grant', 'user:mia@acme.com', 'admin', 'org:acme'], minted.stdout.trim());
    expect(refused.code).toBe(5);
  });
});

describe('warden apply', () => {
  it('plans a world file (nothing written), then applies it with --yes', async () => {
    const extra = path.join(dir, 'extra.yaml');
    const text = (await readFile(ACME_FILE, 'utf8')).replace(
      '      - { subject: user:ivy@acme.com, role: security_auditor }',
      '      - { subject: user:ivy@acme.com, role: security_auditor }\n      - { subject: user:newcomer@acme.com, role: member }',
    );
    await writeFile(extra, text);
    const plan = await warden(['apply', extra]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/org:acme — 1 change\n/);
    expect(plan.stdout).toMatch(/user:newcomer@acme.com gains \d+: .*orgs:read on org:acme/);
    expect(plan.stdout).toContain('nothing written: run again with --yes to apply');
    expect((await warden(['check', 'user:newcomer@acme.com', 'orgs:read', 'org:acme'])).stdout).toMatch(/^DENY/);

    const applied = await warden(['apply', extra, '--yes', '--json']);
    expect(applied.code).toBe(0);
    expect(JSON.parse(applied.stdout)).toMatchObject({ applied: true });
    expect((await warden(['check', 'user:newcomer@acme.com', 'orgs:read', 'org:acme'])).stdout).toMatch(/^ALLOW/);
    const again = await warden(['apply', extra]);
    expect(again.stdout).toMatch(/org:acme — 0 changes\n/);
  });

  it('refuses a bad world file and an unreadable one with exit code 2', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'organizations: [{ id: "Not An Id" }]\n');
    const refused = await warden(['apply', bad]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^warden: INVALID_ARGUMENT: world/);
    const missing = await warden(['apply', path.join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^warden apply: .*nope\.yaml cannot be read/);
  });
});
