/**
 * examples/acme.yaml against Zenmanage's "Permissions & Audit" pages (shared/seeds: the
 * announcement and the capability page), statement by statement, through the real app (gRPC
 * Check, cache, Postgres). The detailed phases of the same world (expiry, conditions, groups,
 * approval) are test/scenario.int.test.ts.
 */
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision, Effect } from '@warden/proto/authz/v1';
import { startTestApp, type TestApp } from '../support/app.js';
import { expectRows, refused, type Row } from '../support/catalogue.js';

const ORG = 'org:acme';
const CHECKOUT = `${ORG}/project:checkout`;
const SEARCH = `${ORG}/project:search`;
const env = (project: string, name: string) => `${project}/env:${name}`;
const flag = (environment: string) => `${environment}/flag:checkout-v2`;
const variable = (environment: string) => `${environment}/variable:DATABASE_URL`;
const PROD = env(CHECKOUT, 'production');
const STAGING = env(CHECKOUT, 'staging');
const DEV = env(CHECKOUT, 'development');
const u = (name: string) => `user:${name}@acme.com`;
/** Production checkout requires approval (acme.yaml): the named roles' changes there wait for it. */
const withApproval = (r: Row): Row => ({ ...r, approval: true });
const row = (seed: string, subject: string, action: string, resource: string, allow: boolean, code?: Row['code']): Row => ({ seed, subject, action, resource, allow, ...(code ? { code } : {}) });

const ROWS: Row[] = [
  // Account scope
  row('Account scope: controls who can create projects (owner)', u('olivia'), 'projects:create', ORG, true),
  row('Account scope: controls who can create projects (a developer cannot)', u('sam'), 'projects:create', ORG, false),
  row('Account scope: … and manage billing-level settings (owner)', u('olivia'), 'billing:manage', ORG, true),
  row('Account scope: … and manage billing-level settings (the billing role)', u('bill'), 'billing:manage', ORG, true),
  row('Account scope: … and manage billing-level settings (an admin cannot)', u('adam'), 'billing:manage', ORG, false),
  // Project scope
  row('Project scope: access per feature-flag project', u('sam'), 'flags:write', flag(STAGING), true),
  row('Project scope: developers scoped to a project cannot touch other projects', u('sam'), 'flags:write', flag(env(SEARCH, 'staging')), false),
  row('Project scope: … or environments (of other projects)', u('sam'), 'variables:read', variable(env(SEARCH, 'development')), false),
  // Environment scope
  row('Environment scope: permission per environment within a project', u('mia'), 'variables:write', variable(DEV), true),
  row('Environment scope: a staging write role does not carry into production', 'service:checkout-deployer', 'flags:write', flag(PROD), false),
  row('Environment scope: (the staging write role writes staging)', 'service:checkout-deployer', 'flags:enable', flag(STAGING), true),
  row('a developer working on a staging flag does not automatically inherit write access to production', u('mia'), 'flags:enable', flag(PROD), false),
  row('read-only access to an environment: reads', u('mia'), 'variables:read', variable(STAGING), true),
  row('read-only access to an environment: no writes', u('mia'), 'variables:write', variable(STAGING), false),
  // Production-sensitive controls
  row('Flag enable restrictions: limited to named roles (a broad project writer cannot)', u('sam'), 'flags:enable', flag(PROD), false, 'PROTECTED_RESOURCE'),
  withApproval(row('Flag enable restrictions: limited to named roles (the release manager can)', u('sarah'), 'flags:enable', flag(PROD), true)),
  row('Rollout change controls: a broad project writer cannot', u('sam'), 'flags:rollout', flag(PROD), false, 'PROTECTED_RESOURCE'),
  withApproval(row('Rollout change controls: the release manager can', u('sarah'), 'flags:rollout', flag(PROD), true)),
  row('Environment variable writes: protected from developers without production scope', u('sam'), 'variables:write', variable(PROD), false, 'PROTECTED_RESOURCE'),
  withApproval(row('Environment variable writes: a named role writes them', u('sarah'), 'variables:write', variable(PROD), true)),
  withApproval(row('Role-based assignments: a named role held through a team (group)', u('alex'), 'flags:rollout', flag(PROD), true)),
  row('Zero friction for developers: non-sensitive operations in production need no named role', u('sam'), 'flags:write', flag(PROD), true),
  row('Zero friction for developers: staging is not production-sensitive', u('sam'), 'flags:enable', flag(STAGING), true),
  row('production protection: owners reach sensitive operations', u('olivia'), 'flags:enable', flag(PROD), true),
  // Immutable audit history
  row('Tamper-proof record: entries cannot be deleted (owner)', u('olivia'), 'audit:delete', ORG, false, 'NOT_GRANTABLE'),
  row('Tamper-proof record: entries cannot be deleted (auditor)', u('ivy'), 'audit:delete', ORG, false, 'NOT_GRANTABLE'),
  row('Compliance and governance reviewers can confirm who approved, who changed, and when', u('ivy'), 'audit:read', ORG, true),
  row('Compliance and governance reviewers can export the record', u('ivy'), 'audit:export', ORG, true),
];

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(async () => {
  await t?.close();
});

async function decision(subject: string, action: string, resource: string): Promise<Decision> {
  const r = await t.grpc(t.adminKey).authz.check({ subject, action, resource, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
  return r.decision;
}

describe('Zenmanage (examples/acme.yaml)', () => {
  it(`Scoped permissions, production-sensitive controls, audit (${ROWS.length} rows)`, () => expectRows(t, t.adminKey, ROWS));

  it('Explicit delegation: "permission granted sarah@acme.com production-write on checkout project" is granted deliberately and revoked without restructuring', async () => {
    const admin = t.grpc(await t.token('adam@acme.com')).admin;
    expect(await decision(u('tom'), 'variables:write', variable(PROD))).toBe(Decision.DECISION_DENY);
    const granted = await admin.grantBinding({ subject: u('tom'), role: 'release_manager', actions: [], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'on call' });
    expect(granted.binding?.role).toBe('release_manager');
    // Tom holds no broad write to the project; the named role alone reaches production (where changes wait for approval).
    expect(await decision(u('tom'), 'variables:write', variable(PROD))).toBe(Decision.DECISION_REQUIRES_APPROVAL);
    expect(await decision(u('tom'), 'variables:write', variable(STAGING))).toBe(Decision.DECISION_DENY);
    await admin.revokeBinding({ bindingId: granted.binding!.id, reason: 'rotation over' });
    expect(await decision(u('tom'), 'variables:write', variable(PROD))).toBe(Decision.DECISION_DENY);
  });

  it('Flag enable restrictions: "limit who can enable or disable flags in production to named roles" — disabling too, once the environment lists it', async () => {
    // acme.yaml makes enabling (not disabling) sensitive in production (where it waits for approval); listing flags:disable tightens the rule (an admin may).
    expect(await decision(u('sam'), 'flags:disable', flag(PROD))).toBe(Decision.DECISION_REQUIRES_APPROVAL);
    const admin = t.grpc(await t.token('adam@acme.com')).admin;
    await admin.putResource({
      path: PROD,
      settings: {
        protected: true,
        sensitiveActions: ['flags:enable', 'flags:disable', 'flags:rollout', 'variables:write', 'secrets:reveal'],
        protectedRoles: ['owner', 'admin', 'release_manager', 'release_requester'],
        requireApproval: true,
        approvalActions: [],
        showValuesToReaders: false,
        visibleFromBelow: [],
      },
      reason: 'disabling is production-sensitive too',
    });
    await expectRows(t, t.adminKey, [
      row('Flag enable restrictions: disabling limited to named roles (a broad project writer cannot)', u('sam'), 'flags:disable', flag(PROD), false, 'PROTECTED_RESOURCE'),
      withApproval(row('Flag enable restrictions: disabling limited to named roles (the release manager can)', u('sarah'), 'flags:disable', flag(PROD), true)),
      row('… staging keeps moving at full speed', u('sam'), 'flags:disable', flag(STAGING), true),
    ]);
  });

  it('Delegation is minimal: a developer cannot hand out production access it does not hold', async () => {
    const developer = t.grpc(await t.token('sam@acme.com')).admin;
    await refused(
      developer.grantBinding({ subject: u('tom'), role: 'release_manager', actions: [], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'please' }),
      Status.PERMISSION_DENIED,
      /lacks users:manage_roles/,
    );
  });
});
