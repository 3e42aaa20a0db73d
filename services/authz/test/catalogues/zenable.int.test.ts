/**
 * examples/zenable.yaml against Zenable's RBAC page (shared/seeds): the Role Permission Matrix,
 * every one of its 37 × 6 = 222 cells, through the real app (gRPC Check, cache, Postgres);
 * the security auditor's column again for a member of an identity-provider group bound to the
 * role; and "Audit logs cannot be deleted by users regardless of role".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Decision, Effect } from '@warden/proto/authz/v1';
import type { TestApp } from '../support/app.js';
import { expectRows, startCatalogueApp, type Row } from '../support/catalogue.js';

/** The seed's Role Permission Matrix, as it is printed there. */
const MATRIX = `
| Permission | Viewer | Contributor | Admin | Owner | Billing Admin | Security Auditor |
|---|
| requirements:read | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
| requirements:write | | ✓ | ✓ | ✓ | | |
| requirements:delete | | | ✓ | ✓ | | |
| requirements:export | | ✓ | ✓ | ✓ | | |
| context:read | ✓ | ✓ | ✓ | ✓ | ✓ | |
| context:write | | ✓ | ✓ | ✓ | | |
| scopes:read | ✓ | ✓ | ✓ | ✓ | ✓ | |
| scopes:write | | ✓ | ✓ | ✓ | | |
| guardrails:read | ✓ | ✓ | ✓ | ✓ | ✓ | ✓ |
| guardrails:write | | ✓ | ✓ | ✓ | | |
| findings:read | ✓ | ✓ | ✓ | ✓ | | |
| findings:manage | | ✓ | ✓ | ✓ | | |
| users:read | ✓ | ✓ | ✓ | ✓ | ✓ | |
| users:invite | | | ✓ | ✓ | | |
| users:remove | | | ✓ | ✓ | | |
| users:manage_roles | | | ✓ | ✓ | | |
| billing:read | ✓ | ✓ | ✓ | ✓ | ✓ | |
| billing:manage | | | | ✓ | ✓ | |
| billing:view_invoices | | | | ✓ | ✓ | |
| audit:read | | | ✓ | ✓ | | ✓ |
| audit:export | | | ✓ | ✓ | | ✓ |
| governance:read | ✓ | ✓ | ✓ | ✓ | | ✓ |
| governance:manage | | | ✓ | ✓ | | |
| governance:delete | | | ✓ | ✓ | | |
| integrations:read | ✓ | ✓ | ✓ | ✓ | ✓ | |
| integrations:manage | | | ✓ | ✓ | | |
| settings:read | ✓ | ✓ | ✓ | ✓ | ✓ | |
| settings:manage | | | ✓ | ✓ | | |
| feature_flags:read | | | ✓ | ✓ | | |
| feature_flags:manage | | | ✓ | ✓ | | |
| marketplace:publish | | | | | | |
| requirements:approve | | ✓ | ✓ | ✓ | | |
| guardrails:approve | | ✓ | ✓ | ✓ | | |
| approvals:read | ✓ | ✓ | ✓ | ✓ | | |
| approvals:feedback | | ✓ | ✓ | ✓ | | |
| approvals:manage | | | ✓ | ✓ | | |
| company:manage | | | | ✓ | | |
`;

const ORG = 'org:zenable';
const HOLDERS: Record<string, string> = {
  Viewer: 'user:vic@zenable.io',
  Contributor: 'user:connor@zenable.io',
  Admin: 'user:adele@zenable.io',
  Owner: 'user:olga@zenable.io',
  'Billing Admin': 'user:bea@zenable.io',
  'Security Auditor': 'user:sara@zenable.io',
};

function parseMatrix(text: string): { roles: string[]; cells: Array<{ permission: string; role: string; granted: boolean }> } {
  const lines = text.trim().split('\n');
  const roles = lines[0]!.split('|').map((c) => c.trim()).filter((c) => c !== '').slice(1);
  const cells = lines.slice(2).flatMap((line) => {
    const [permission, ...marks] = line.split('|').slice(1, -1).map((c) => c.trim());
    expect(marks, line).toHaveLength(roles.length);
    return marks.map((mark, i) => ({ permission: permission!, role: roles[i]!, granted: mark === '✓' }));
  });
  return { roles, cells };
}

const { roles, cells } = parseMatrix(MATRIX);
const MATRIX_ROWS: Row[] = cells.map(({ permission, role, granted }) => ({
  seed: `Role Permission Matrix: ${permission} × ${role} ${granted ? '✓' : '(blank)'}`,
  subject: HOLDERS[role]!,
  action: permission,
  resource: ORG,
  allow: granted,
}));
/** "Users are assigned roles directly or via identity provider groups": Sid holds Security Auditor through group:security. */
const GROUP_ROWS: Row[] = cells
  .filter((c) => c.role === 'Security Auditor')
  .map(({ permission, granted }) => ({ seed: `Role Permission Matrix: ${permission} × Security Auditor, through an IdP group`, subject: 'user:sid@zenable.io', action: permission, resource: ORG, allow: granted }));
const AUDIT_ROWS: Row[] = Object.entries(HOLDERS).map(([role, subject]) => ({
  seed: `Audit logs cannot be deleted by users regardless of role (${role})`,
  subject,
  action: 'audit:delete',
  resource: ORG,
  allow: false,
  code: 'NOT_GRANTABLE',
}));

let t: TestApp;
let owner: string;
beforeAll(async () => {
  t = await startCatalogueApp('zenable.yaml', 'zenable');
  owner = await t.token('olga@zenable.io');
});
afterAll(async () => {
  await t?.close();
});

describe('Zenable (examples/zenable.yaml)', () => {
  it('reads the whole matrix: 37 permissions × 6 roles', () => {
    expect(roles).toEqual(Object.keys(HOLDERS));
    expect(new Set(cells.map((c) => c.permission)).size).toBe(37);
    expect(MATRIX_ROWS).toHaveLength(222);
  });

  it('Role Permission Matrix: all 222 cells', () => expectRows(t, owner, MATRIX_ROWS));

  it('roles assigned via identity provider groups: the Security Auditor column for a group member', () => expectRows(t, owner, GROUP_ROWS));

  it('audit logs cannot be deleted by users regardless of role', () => expectRows(t, owner, AUDIT_ROWS));

  it('audit logs cannot be deleted even by an owner who grants itself audit:delete outright', async () => {
    const granted = await t.grpc(owner).admin.grantBinding({ subject: 'user:olga@zenable.io', role: '', actions: ['audit:delete'], scope: ORG, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'test' });
    expect(granted.binding?.actions).toEqual(['audit:delete']);
    await expectRows(t, owner, [{ seed: 'Audit logs cannot be deleted by users regardless of role (explicit grant)', subject: 'user:olga@zenable.io', action: 'audit:delete', resource: ORG, allow: false, code: 'NOT_GRANTABLE' }]);
    const r = await t.grpc(owner).authz.check({ subject: 'user:olga@zenable.io', action: 'audit:delete', resource: `${ORG}/audit:log`, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
    expect(r.decision).toBe(Decision.DECISION_DENY);
  });
});
