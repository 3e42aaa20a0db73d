/**
 * examples/zenifra.yaml against Zenifra's "Granular Permissions in Organizations" (shared/seeds),
 * through the real app (gRPC Check, cache, Postgres): the owner's full access over every
 * resource type, type-wide grants (every resource of a type, also one created later) against
 * single-resource grants, and the seed's examples, recommended roles and practical examples.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { TestApp } from '../support/app.js';
import { expectRows, startCatalogueApp, type Row } from '../support/catalogue.js';

const ORG = 'org:zenifra';
const STAGING = `${ORG}/project:staging`;
const PRODUCTION = `${ORG}/project:production`;
const PREVIEW = `${ORG}/project:preview`; // created by the test, after the grants
const ORDERS = `${PRODUCTION}/database:orders`;
const ANALYTICS = `${PRODUCTION}/database:analytics`;
const STAGING_ORDERS = `${STAGING}/database:orders`;
const GITHUB = `${ORG}/github:zenifra-apps`;
const AI_KEY = `${ORG}/ai_key:assistant-bot`;
const CI_KEY = `${ORG}/api_key:ci`;
const BACKUP_KEY = `${ORG}/api_key:backup`;
const BILLING = `${ORG}/billing:main`;
const u = (name: string) => `user:${name}@zenifra.dev`;

const row = (seed: string, who: string, action: string, resource: string, allow: boolean): Row => ({ seed, subject: u(who), action, resource, allow });

/** The Protected resources table: every action of every resource type, for the owner ("The owner has full access to the organization"). */
const PROTECTED: Record<string, { resource: string; actions: string[] }> = {
  organization: { resource: ORG, actions: ['projects:create', 'users:invite', 'users:manage_roles'] },
  project: { resource: PRODUCTION, actions: ['projects:read', 'projects:read_logs', 'projects:read_metrics', 'variables:read', 'variables:write', 'projects:read_domain', 'projects:read_network', 'projects:read_instances', 'projects:read_image', 'projects:update_image'] },
  database: { resource: ORDERS, actions: ['databases:read_status', 'databases:read_connection', 'databases:rotate_password', 'databases:update_version'] },
  github: { resource: GITHUB, actions: ['github:read', 'github:update', 'github:deploy', 'github:read_builds'] },
  ai_key: { resource: AI_KEY, actions: ['ai_keys:create', 'ai_keys:read', 'ai_keys:delete', 'ai_keys:read_usage'] },
  api_key: { resource: CI_KEY, actions: ['api_keys:read', 'api_keys:revoke'] },
  billing: { resource: BILLING, actions: ['billing:read', 'billing:read_transactions', 'billing:create_checkout', 'billing:manage_payment_methods'] },
};
const OWNER_ROWS: Row[] = Object.entries(PROTECTED).flatMap(([type, { resource, actions }]) =>
  actions.flatMap((action) => [
    row(`Protected resources: ${type} — "The owner has full access" (no manual configuration)`, 'founder', action, resource, true),
    // A base member holds none of it without a grant.
    row(`Protected resources: ${type} — a member without a grant`, 'stager', action, resource, false),
  ]),
);

/** "Permissions can be granted for every resource of a type or for a specific resource." */
const SCOPE_ROWS: Row[] = [
  row('a member can receive access only to the staging project', 'stager', 'projects:read', STAGING, true),
  row('… without viewing production projects', 'stager', 'projects:read', PRODUCTION, false),
  row('access to logs and metrics for one project (logs)', 'dev', 'projects:read_logs', STAGING, true),
  row('access to logs and metrics for one project (metrics)', 'dev', 'projects:read_metrics', STAGING, true),
  row('access to logs and metrics for one project (not another)', 'dev', 'projects:read_logs', PRODUCTION, false),
  row('permission to update the image for all projects in an organization (staging)', 'imager', 'projects:update_image', STAGING, true),
  row('permission to update the image for all projects in an organization (production)', 'imager', 'projects:update_image', PRODUCTION, true),
  row('permission to update the image … (only that action)', 'imager', 'variables:write', PRODUCTION, false),
  row('permission to view connection data for a specific database', 'dba', 'databases:read_connection', ORDERS, true),
  row('… for a specific database (not another in the project)', 'dba', 'databases:read_connection', ANALYTICS, false),
  row('… for a specific database (not one of the same name in another project)', 'dba', 'databases:read_connection', STAGING_ORDERS, false),
  row('permission to revoke a specific global API key', 'keys', 'api_keys:revoke', CI_KEY, true),
  row('… a specific global API key (not another)', 'keys', 'api_keys:revoke', BACKUP_KEY, false),
  row('read access to billing', 'finance', 'billing:read', BILLING, true),
  row('… without permission to configure payment', 'finance', 'billing:manage_payment_methods', BILLING, false),
  row('authorization to trigger GitHub deploys', 'releaser', 'github:deploy', GITHUB, true),
  row('… without changing the integration', 'releaser', 'github:update', GITHUB, false),
];

const ROLE_ROWS: Row[] = [
  row('Technical lead: assistant, with operational access to the required projects', 'lead', 'projects:update_image', PRODUCTION, true),
  row('Technical lead: … to the required projects (only those)', 'lead', 'projects:read_logs', STAGING, false),
  row('Developer of one service: access to the specific project', 'dev', 'projects:read', STAGING, true),
  row('Developer of one service: … and deploy', 'dev', 'projects:deploy', STAGING, true),
  row('Developer with access to one project: only for the specific resource', 'dev', 'projects:deploy', PRODUCTION, false),
  row('Developer: if the person also needs to change environment variables, add that action explicitly', 'dev', 'variables:write', STAGING, false),
  row('Finance analyst: billing and transaction read access (transactions)', 'finance', 'billing:read_transactions', BILLING, true),
  row('Billing owner: allow checkout creation only when explicitly granted', 'finance', 'billing:create_checkout', BILLING, false),
  row('Support user: logs and metrics read access', 'support', 'projects:read_logs', PRODUCTION, true),
  row('Support user: logs and metrics read access (every project)', 'support', 'projects:read_metrics', STAGING, true),
  row('Support user: … without environment changes', 'support', 'variables:write', PRODUCTION, false),
  row('Database operator: status access for the specific database', 'dba', 'databases:read_status', ORDERS, true),
  row('Database operator: password rotation should remain restricted', 'dba', 'databases:rotate_password', ORDERS, false),
  row('Database operator: version updates should remain restricted', 'dba', 'databases:update_version', ORDERS, false),
  row('limit access to billing, secrets, and deploy configuration (a database operator sees no billing)', 'dba', 'billing:read', BILLING, false),
  row('Avoid making every collaborator an assistant: a member holds only what it is granted', 'releaser', 'projects:read', PRODUCTION, false),
];

let t: TestApp;
let owner: string;
beforeAll(async () => {
  t = await startCatalogueApp('zenifra.yaml', 'zenifra');
  owner = await t.token('founder@zenifra.dev');
});
afterAll(async () => {
  await t?.close();
});

describe('Zenifra (examples/zenifra.yaml)', () => {
  it(`Protected resources: the owner's full access, and a member's none (${OWNER_ROWS.length} rows)`, () => expectRows(t, owner, OWNER_ROWS));
  it(`Resource scope: every resource of a type versus one resource (${SCOPE_ROWS.length} rows)`, () => expectRows(t, owner, SCOPE_ROWS));
  it(`Recommended roles and practical examples (${ROLE_ROWS.length} rows)`, () => expectRows(t, owner, ROLE_ROWS));

  it('a type-wide grant reaches a resource of the type created later; a single-resource grant does not', async () => {
    await t.grpc(owner).admin.putResource({ path: PREVIEW, reason: 'new project' });
    await expectRows(t, owner, [
      row('permission to update the image for all projects (a project created after the grant)', 'imager', 'projects:update_image', PREVIEW, true),
      row('Support user: logs and metrics read access (a project created after the grant)', 'support', 'projects:read_logs', PREVIEW, true),
      row('access only to the staging project (not a new one)', 'stager', 'projects:read', PREVIEW, false),
      row('access to the specific project (not a new one)', 'dev', 'projects:read_logs', PREVIEW, false),
    ]);
  });
});
