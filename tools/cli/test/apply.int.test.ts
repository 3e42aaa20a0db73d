/**
 * `warden plan …` and `warden apply FILE` against a real authz (its own database, seeded from
 * the example world): the plan names who gains and loses what and writes nothing; `--yes`
 * applies through the admin API, judged by the caller's own rights; bad input exits 2.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_FILE } from './support/paths.js';
import { startCliAuthz, type CliAuthz } from './support/authz.js';

let authz: CliAuthz;
let dir: string;

beforeAll(async () => {
  authz = await startCliAuthz('apply');
  dir = authz.dir;
});

afterAll(async () => {
  await authz?.stop();
});

const warden = (args: string[], key?: string) => authz.warden(args, key);

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
