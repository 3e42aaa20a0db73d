/**
 * examples/envmanager.yaml against EnvManager's "Roles & Permissions" page (shared/seeds),
 * table by table, through the real app (gRPC Check, cache, Postgres). Each row names the
 * seed's table and cell or sentence it asserts. Management rows ("Manage team members: Admin —
 * members only", "You cannot remove or demote the last Owner", "remove a Member's environment
 * access") go through the real admin API, judged by effect.
 */
import { Status } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision, Effect } from '@warden/proto/authz/v1';
import type { TestApp } from '../support/app.js';
import { expectRows, refused, startCatalogueApp, type Row } from '../support/catalogue.js';

const ORG = 'org:envmanager';
const WEB = `${ORG}/project:web`;
const API = `${ORG}/project:api`;
const DEV = `${WEB}/env:development`;
const STG = `${WEB}/env:staging`; // show values to readers: on
const PRD = `${WEB}/env:production`; // show values to readers: off
const API_DEV = `${API}/env:development`;
const API_PRD = `${API}/env:production`;
const variable = (env: string) => `${env}/variable:DATABASE_URL`;
const secret = (env: string) => `${env}/secret:STRIPE_KEY`;

const OWNER = 'user:olivia@envmanager.dev';
const ADMIN = 'user:adam@envmanager.dev';
const MEMBER = 'user:mia@envmanager.dev'; // junior developer: Write on web/development; Read on web/staging
const READER = 'user:rita@envmanager.dev'; // member with Read on web/production (values not shown)
const VIEWER = 'user:vera@envmanager.dev'; // Read on web/staging and web/production; Write on web/development (by mistake)
const CONTRACTOR = 'user:sam@envmanager.dev'; // member; Write on api/development only

type Cell = boolean;
/** One row of the capability table: the action on the resource, for Owner, Admin, Member, Viewer. */
function capability(seed: string, action: string, resource: string, [owner, admin, member, viewer]: [Cell, Cell, Cell, Cell], viewerCode?: Row['code']): Row[] {
  return [
    { seed: `Role Overview "${seed}" Owner`, subject: OWNER, action, resource, allow: owner },
    { seed: `Role Overview "${seed}" Admin`, subject: ADMIN, action, resource, allow: admin },
    { seed: `Role Overview "${seed}" Member`, subject: MEMBER, action, resource, allow: member },
    { seed: `Role Overview "${seed}" Viewer`, subject: VIEWER, action, resource, allow: viewer, ...(viewerCode ? { code: viewerCode } : {}) },
  ];
}

// "Assigned only" / "Assigned environments" / "Write access only" cells are each asserted on a
// resource the member and viewer were given (as the cell says) and on one they were not.
const ROLE_OVERVIEW: Row[] = [
  ...capability('View projects (assigned)', 'projects:read', WEB, [true, true, true, true]),
  ...capability('View projects (not assigned)', 'projects:read', API, [true, true, false, false]),
  ...capability('View variables (assigned, read)', 'variables:read', variable(STG), [true, true, true, true]),
  ...capability('View variables (assigned, write)', 'variables:read', variable(DEV), [true, true, true, true]),
  ...capability('View variables (not assigned)', 'variables:read', variable(API_DEV), [true, true, false, false]),
  ...capability('Manage variables (CRUD), write access: create/edit', 'variables:write', variable(DEV), [true, true, true, false], 'CEILING'),
  ...capability('Manage variables (CRUD), write access: delete', 'variables:delete', variable(DEV), [true, true, true, false], 'CEILING'),
  ...capability('Manage variables (CRUD), read access', 'variables:write', variable(STG), [true, true, false, false], 'CEILING'),
  ...capability('View pending changes (read-only)', 'approvals:read', WEB, [true, true, true, false]),
  ...capability('Approve/reject pending changes', 'approvals:approve', WEB, [true, true, false, false]),
  ...capability('Project settings (approval mode, etc.)', 'projects:manage', WEB, [true, true, false, false]),
  ...capability('Create/edit/delete projects: create', 'projects:create', ORG, [true, true, false, false]),
  ...capability('Create/edit/delete projects: edit', 'projects:manage', API, [true, true, false, false]),
  ...capability('Create/edit/delete projects: delete', 'projects:delete', WEB, [true, true, false, false]),
  ...capability('Manage environments', 'environments:manage', DEV, [true, true, false, false]),
  ...capability('View/reveal secrets, write access', 'secrets:reveal', secret(DEV), [true, true, true, false], 'CEILING'),
  ...capability('View/reveal secrets, read access', 'secrets:reveal', secret(STG), [true, true, false, false]),
  ...capability('Invite team members', 'users:invite', ORG, [true, true, false, false]),
  ...capability('Manage team members', 'users:remove', ORG, [true, true, false, false]),
  ...capability('Change member roles', 'users:manage_roles', ORG, [true, true, false, false]),
  ...capability('Manage integrations', 'integrations:manage', ORG, [true, true, false, false]),
  ...capability('View audit logs', 'audit:read', ORG, [true, true, false, false]),
  ...capability('Manage billing', 'billing:manage', ORG, [true, false, false, false]),
  ...capability('Delete organization', 'orgs:delete', ORG, [true, false, false, false]),
];

/** The Access Levels table, for Members (Write on web/development; Read on web/staging, shown, and web/production, not shown). */
const ACCESS_LEVELS: Row[] = [
  { seed: 'Access Levels: Write — Can View Variables: Yes', subject: MEMBER, action: 'variables:read', resource: variable(DEV), allow: true },
  { seed: 'Access Levels: Write — Can Edit Variables: Yes (Members only)', subject: MEMBER, action: 'variables:write', resource: variable(DEV), allow: true },
  { seed: 'Access Levels: Write — Can Edit Variables: not Viewers', subject: VIEWER, action: 'variables:write', resource: variable(DEV), allow: false, code: 'CEILING' },
  { seed: 'Access Levels: Write — Can Reveal Secrets: Yes', subject: MEMBER, action: 'secrets:reveal', resource: secret(DEV), allow: true },
  { seed: 'Access Levels: Write — Can See Values: Always (the environment does not show values)', subject: MEMBER, action: 'variables:read_value', resource: variable(DEV), allow: true },
  { seed: 'Access Levels: Read — Can View Variables: Yes', subject: READER, action: 'variables:read', resource: variable(PRD), allow: true },
  { seed: 'Access Levels: Read — Can Edit Variables: No', subject: READER, action: 'variables:write', resource: variable(PRD), allow: false },
  { seed: 'Access Levels: Read — Can Reveal Secrets: No', subject: READER, action: 'secrets:reveal', resource: secret(PRD), allow: false },
  { seed: 'Access Levels: Read — Can See Values: only if "Show Values to Readers" is enabled (enabled)', subject: MEMBER, action: 'variables:read_value', resource: variable(STG), allow: true },
  { seed: 'Access Levels: Read — Can See Values: only if "Show Values to Readers" is enabled (disabled)', subject: READER, action: 'variables:read_value', resource: variable(PRD), allow: false },
];

const SHOW_VALUES: Row[] = [
  { seed: 'Show Values: Disabled (default) — read-only users see variable keys', subject: READER, action: 'variables:read', resource: variable(PRD), allow: true },
  { seed: 'Show Values: Disabled (default) — values appear as ********', subject: READER, action: 'variables:read_value', resource: variable(PRD), allow: false },
  { seed: 'Show Values: Disabled (default) — values appear as ******** (viewer)', subject: VIEWER, action: 'variables:read_value', resource: variable(PRD), allow: false },
  { seed: 'Show Values: Enabled — read-only users see the actual values', subject: MEMBER, action: 'variables:read_value', resource: variable(STG), allow: true },
  { seed: 'Show Values: Enabled — read-only users see the actual values (viewer)', subject: VIEWER, action: 'variables:read_value', resource: variable(STG), allow: true },
  { seed: 'Show Values: users with write access always see values regardless of this setting', subject: MEMBER, action: 'variables:read_value', resource: variable(DEV), allow: true },
];

/** "The Viewer role always overrides access levels": Vera holds Write on web/development. */
const VIEWER_OVERRIDE: Row[] = [
  { seed: 'Viewer: View variables — see variable keys in assigned environments', subject: VIEWER, action: 'variables:read', resource: variable(DEV), allow: true },
  { seed: 'Viewer: cannot create, edit, or delete variables — even if granted write-level access (edit)', subject: VIEWER, action: 'variables:write', resource: variable(DEV), allow: false, code: 'CEILING' },
  { seed: 'Viewer: cannot create, edit, or delete variables — even if granted write-level access (delete)', subject: VIEWER, action: 'variables:delete', resource: variable(DEV), allow: false, code: 'CEILING' },
  { seed: 'Viewer: cannot reveal secrets', subject: VIEWER, action: 'secrets:reveal', resource: secret(DEV), allow: false, code: 'CEILING' },
  { seed: 'Viewer: View values — only when the environment has "Show Values to Readers" enabled (not enabled)', subject: VIEWER, action: 'variables:read_value', resource: variable(DEV), allow: false, code: 'CEILING' },
  { seed: 'Viewer: cannot create or manage environments', subject: VIEWER, action: 'environments:manage', resource: DEV, allow: false },
  { seed: 'Viewer: cannot create, edit, or delete projects', subject: VIEWER, action: 'projects:create', resource: ORG, allow: false },
  { seed: 'Viewer: cannot invite or manage team members', subject: VIEWER, action: 'users:invite', resource: ORG, allow: false },
  { seed: 'Viewer: cannot access billing or audit logs (billing)', subject: VIEWER, action: 'billing:read', resource: ORG, allow: false },
  { seed: 'Viewer: cannot access billing or audit logs (audit)', subject: VIEWER, action: 'audit:read', resource: ORG, allow: false },
  { seed: 'Viewer: View assigned projects — see projects they have environment access to', subject: VIEWER, action: 'projects:read', resource: WEB, allow: true },
];

/** "A Member with write access to Development can … Cannot see Staging or Production at all." */
const INHERITANCE: Row[] = [
  { seed: 'Permission Inheritance: view and edit variables in Development', subject: CONTRACTOR, action: 'variables:write', resource: variable(API_DEV), allow: true },
  { seed: 'Permission Inheritance: reveal secrets in Development', subject: CONTRACTOR, action: 'secrets:reveal', resource: secret(API_DEV), allow: true },
  { seed: 'Permission Inheritance: cannot see Production at all (environment)', subject: CONTRACTOR, action: 'environments:read', resource: API_PRD, allow: false },
  { seed: 'Permission Inheritance: cannot see Production at all (variables)', subject: CONTRACTOR, action: 'variables:read', resource: variable(API_PRD), allow: false },
  { seed: 'Member: Can only access environments explicitly granted (another project)', subject: CONTRACTOR, action: 'projects:read', resource: WEB, allow: false },
  { seed: 'Member: View assigned projects', subject: CONTRACTOR, action: 'projects:read', resource: API, allow: true },
  { seed: 'Member: cannot access billing or audit logs', subject: CONTRACTOR, action: 'audit:read', resource: ORG, allow: false },
  { seed: 'Owners and Admins always have full write access to all environments (owner)', subject: OWNER, action: 'variables:write', resource: variable(API_PRD), allow: true },
  { seed: 'Owners and Admins always have full write access to all environments (admin)', subject: ADMIN, action: 'variables:write', resource: variable(API_PRD), allow: true },
  { seed: 'Admin: Variable access — view and edit all variables including secrets', subject: ADMIN, action: 'secrets:reveal', resource: secret(PRD), allow: true },
  { seed: 'Admin: cannot access billing or subscription settings', subject: ADMIN, action: 'billing:read', resource: ORG, allow: false },
];

const p = (name: string) => `user:${name}@envmanager.dev`;
const scenario = (who: string, seed: string, subject: string, action: string, resource: string, allow: boolean): Row => ({ seed: `Access Scenarios: ${who} — ${seed}`, subject, action, resource, allow });
/** The Access Scenarios table: each row's person, as examples/envmanager.yaml binds them. */
const SCENARIOS: Row[] = [
  scenario('Junior developer (Member)', 'Write on Development', MEMBER, 'variables:write', variable(DEV), true),
  scenario('Junior developer (Member)', 'Read on Staging', MEMBER, 'variables:read', variable(STG), true),
  scenario('Junior developer (Member)', 'Read on Staging: no writes', MEMBER, 'variables:write', variable(STG), false),
  scenario('Junior developer (Member)', 'nothing on Production', MEMBER, 'variables:read', variable(PRD), false),
  ...[DEV, STG, PRD].map((e) => scenario('Senior developer (Member)', `Write on ${e.split(':').at(-1)!}`, p('sid'), 'variables:write', variable(e), true)),
  scenario('Senior developer (Member)', 'no other project', p('sid'), 'variables:read', variable(API_DEV), false),
  scenario('DevOps engineer (Admin)', 'full access (all environments)', ADMIN, 'variables:write', variable(API_PRD), true),
  scenario('DevOps engineer (Admin)', 'full access (all environments): secrets', ADMIN, 'secrets:reveal', secret(API_DEV), true),
  scenario('QA tester (Member)', 'Read on Staging', p('quinn'), 'variables:read', variable(STG), true),
  scenario('QA tester (Member)', 'Read on Staging: no writes', p('quinn'), 'variables:write', variable(STG), false),
  scenario('QA tester (Member)', 'nothing on Development', p('quinn'), 'variables:read', variable(DEV), false),
  scenario('External contractor (Member)', 'Write on specific project Development', CONTRACTOR, 'variables:write', variable(API_DEV), true),
  scenario('External contractor (Member)', 'Development only', CONTRACTOR, 'variables:read', variable(API_PRD), false),
  scenario('External contractor (Member)', 'specific project only', CONTRACTOR, 'variables:read', variable(DEV), false),
  scenario('Auditor (Viewer)', 'Read (with Show Values enabled): values', VIEWER, 'variables:read_value', variable(STG), true),
  scenario('Auditor (Viewer)', 'Read on the environments', VIEWER, 'variables:read', variable(PRD), true),
  scenario('Auditor (Viewer)', 'no writes anywhere', VIEWER, 'variables:write', variable(STG), false),
  scenario('Stakeholder (Viewer)', 'Read on Production', p('stan'), 'variables:read', variable(PRD), true),
  scenario('Stakeholder (Viewer)', 'Production only', p('stan'), 'variables:read', variable(STG), false),
  scenario('Stakeholder (Viewer)', 'Read: no writes', p('stan'), 'variables:write', variable(PRD), false),
];

let t: TestApp;
let owner: string;
let admin: string;
const grant = (subject: string, role: string, scope = ORG) => ({ subject, role, actions: [] as string[], scope, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'test' });

beforeAll(async () => {
  t = await startCatalogueApp('envmanager.yaml', 'envmanager');
  owner = await t.token('olivia@envmanager.dev');
  admin = await t.token('adam@envmanager.dev');
});
afterAll(async () => {
  await t?.close();
});

async function bindingId(subject: string, role: string, scope: string): Promise<string> {
  const { bindings } = await t.grpc(owner).admin.listBindings({ scope, subject });
  const found = bindings.find((b) => b.binding!.role === role && b.binding!.scope === scope);
  expect(found, `${subject} holds ${role} on ${scope}`).toBeDefined();
  return found!.binding!.id;
}

async function decision(subject: string, action: string, resource: string): Promise<Decision> {
  const r = await t.grpc(owner).authz.check({ subject, action, resource, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
  return r.decision;
}

describe('EnvManager (examples/envmanager.yaml)', () => {
  it(`Role Overview: the 16 capabilities × 4 roles (${ROLE_OVERVIEW.length} rows)`, () => expectRows(t, owner, ROLE_OVERVIEW));
  it(`Access Levels: Write and Read (${ACCESS_LEVELS.length} rows)`, () => expectRows(t, owner, ACCESS_LEVELS));
  it(`Show Values to Readers (${SHOW_VALUES.length} rows)`, () => expectRows(t, owner, SHOW_VALUES));
  it(`the Viewer role always overrides access levels (${VIEWER_OVERRIDE.length} rows)`, () => expectRows(t, owner, VIEWER_OVERRIDE));
  it(`Access Scenarios: the seven recommended setups (${SCENARIOS.length} rows)`, () => expectRows(t, owner, SCENARIOS));
  it(`Permission Inheritance and the Member and Admin sections (${INHERITANCE.length} rows)`, () => expectRows(t, owner, INHERITANCE));

  it('"Members and Viewers only see projects where they have at least one environment assigned": the lookups agree with Check', async () => {
    const authz = t.grpc(owner).authz;
    const projects = await authz.lookupResources({ subject: MEMBER, action: 'projects:read', resourceType: 'project', scope: ORG });
    expect(projects.resources).toEqual([WEB]);
    const viewers = await authz.lookupSubjects({ action: 'projects:read', resource: WEB, subjectType: 'user' });
    expect(viewers.subjects).toEqual([ADMIN, OWNER, MEMBER, VIEWER, READER, p('sid'), p('quinn'), p('stan')].sort());
    const apiViewers = await authz.lookupSubjects({ action: 'projects:read', resource: API, subjectType: 'user' });
    expect(apiViewers.subjects).toEqual([ADMIN, OWNER, CONTRACTOR].sort());
  });

  it('Change member roles — Admin: Member only; Owner: all roles', async () => {
    // An admin invites and removes members…
    await t.grpc(admin).admin.grantBinding(grant('user:nina@envmanager.dev', 'member'));
    const nina = await bindingId('user:nina@envmanager.dev', 'member', ORG);
    // …but cannot make an admin: only an owner grants owner-level actions.
    await refused(t.grpc(admin).admin.grantBinding(grant('user:nina@envmanager.dev', 'admin')), Status.PERMISSION_DENIED, /only an owner of org:envmanager may grant owner-level actions/);
    // An owner promotes any member to Admin or Owner.
    await t.grpc(owner).admin.grantBinding(grant('user:nina@envmanager.dev', 'admin'));
    expect(await decision('user:nina@envmanager.dev', 'projects:create', ORG)).toBe(Decision.DECISION_ALLOW);
    // Manage team members — Admin: members only: it cannot take an admin's role or remove an owner.
    const ninaAdmin = await bindingId('user:nina@envmanager.dev', 'admin', ORG);
    await refused(t.grpc(admin).admin.revokeBinding({ bindingId: ninaAdmin, reason: 'test' }), Status.PERMISSION_DENIED, /only an owner of org:envmanager may take access from an owner or admin/);
    await refused(t.grpc(admin).admin.revokeBinding({ bindingId: await bindingId(OWNER, 'owner', ORG), reason: 'test' }), Status.PERMISSION_DENIED, /only an owner/);
    await t.grpc(owner).admin.revokeBinding({ bindingId: ninaAdmin, reason: 'test' });
    await t.grpc(admin).admin.revokeBinding({ bindingId: nina, reason: 'test' });
    expect(await decision('user:nina@envmanager.dev', 'orgs:read', ORG)).toBe(Decision.DECISION_DENY);
  });

  it('Members and Viewers cannot invite or manage team members', async () => {
    const member = await t.token('mia@envmanager.dev');
    await refused(t.grpc(member).admin.grantBinding(grant('user:nina@envmanager.dev', 'member')), Status.PERMISSION_DENIED, /lacks users:manage_roles/);
  });

  it('Every organization must have at least one Owner: you cannot remove or demote the last Owner', async () => {
    await refused(t.grpc(owner).admin.revokeBinding({ bindingId: await bindingId(OWNER, 'owner', ORG), reason: 'test' }), Status.FAILED_PRECONDITION, /would have no working owner/);
  });

  it('removing a Member\'s environment access: they immediately lose it, and the project stops being visible', async () => {
    expect(await decision(CONTRACTOR, 'projects:read', API)).toBe(Decision.DECISION_ALLOW);
    const access = await bindingId(CONTRACTOR, 'env_writer', API_DEV);
    await t.grpc(admin).admin.revokeBinding({ bindingId: access, reason: 'contract ended' });
    expect(await decision(CONTRACTOR, 'variables:read', variable(API_DEV))).toBe(Decision.DECISION_DENY);
    expect(await decision(CONTRACTOR, 'projects:read', API)).toBe(Decision.DECISION_DENY);
    // And assigning it again makes the project visible again.
    await t.grpc(admin).admin.grantBinding(grant(CONTRACTOR, 'env_reader', API_DEV));
    expect(await decision(CONTRACTOR, 'projects:read', API)).toBe(Decision.DECISION_ALLOW);
  });
});
