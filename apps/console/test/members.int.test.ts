/**
 * Members page, and the seed scenario through the UI: olivia (owner, signed in with an OIDC
 * token) opens Manage access for sarah, picks release_manager in checkout/production, reads
 * the preview (sarah gains flags:enable there), saves with a reason; Warden then allows it,
 * and the Audit timeline shows the step. Groups, the role × action matrix and API keys too.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shot, startStack, waitReady, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(inject('console'));
});
afterAll(async () => {
  await stack?.stop();
});

const PRODUCTION = 'org:acme/project:checkout/env:production';

describe('console: Members', () => {
  it('grants sarah release_manager in production after its preview; the timeline shows it', async () => {
    const before = await stack.api(stack.adminKey, 'AuthzService/Check', { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: PRODUCTION, consistency: { fullyConsistent: true } });
    expect(before.body.decision).toBe('DECISION_DENY');

    const page = await stack.open(stack.tokens.olivia!, { org: 'acme', route: 'members' });
    await expect(page.getByTestId('who').textContent()).resolves.toBe('user:olivia@acme.com');
    await shot(page, 'members-desktop');
    await page.getByRole('button', { name: 'Manage access of user:sarah@acme.com' }).click();
    const dialog = page.getByRole('dialog', { name: 'Manage access: user:sarah@acme.com' });
    const production = dialog.getByLabel('Access of user:sarah@acme.com in project:checkout/env:production');
    // Sarah writes all of checkout (inherited), with nothing of her own in production yet.
    await expect(production.inputValue()).resolves.toBe('');
    await production.selectOption('release_manager');
    await expect(dialog.getByLabel('Access of user:sarah@acme.com in project:checkout/env:staging').isDisabled()).resolves.toBe(true);
    await dialog.getByRole('button', { name: 'Preview' }).click();
    const preview = dialog.getByTestId('preview');
    // Production checkout requires approval (acme.yaml): the grant lets her enable there with approval.
    await expect(preview.textContent()).resolves.toMatch(/user:sarah@acme\.com on project:checkout\/env:production \(denied → needs approval\): [a-z:_, ]*flags:enable/);
    await expect(preview.textContent()).resolves.toContain('You may make this change.');
    await dialog.getByLabel('Reason (recorded with the change)').fill('release duty for 2026-12');
    await shot(page, 'members-manage-access-preview');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    await expect(production.inputValue()).resolves.toBe('release_manager');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    const after = await stack.api(stack.adminKey, 'AuthzService/Check', { subject: 'user:sarah@acme.com', action: 'flags:enable', resource: PRODUCTION, consistency: { fullyConsistent: true } });
    expect(after.body.decision).toBe('DECISION_REQUIRES_APPROVAL');

    await page.getByRole('link', { name: 'Audit' }).click();
    await waitReady(page, 'audit');
    await page.getByLabel('Environment').selectOption(PRODUCTION);
    await page.getByLabel('Actor').fill('user:olivia@acme.com');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const first = page.getByTestId('timeline').getByRole('listitem').first();
    await first.waitFor();
    await expect(first.textContent()).resolves.toMatch(/user:olivia@acme\.com binding\.created project:checkout\/env:production — “release duty for 2026-12”/);
    await expect(first.textContent()).resolves.toContain('"release_manager"');
    await shot(page, 'members-scenario-timeline');
    await page.context().close();
  });

  it('replaces an access (grant, then revoke, both previewed): mia goes from read & write to read only', async () => {
    const page = await stack.open(stack.adminKey, { route: 'members' });
    await page.getByRole('button', { name: 'Manage access of user:mia@acme.com' }).click();
    const dialog = page.getByRole('dialog', { name: 'Manage access: user:mia@acme.com' });
    const development = dialog.getByLabel('Access of user:mia@acme.com in project:checkout/env:development');
    await expect(development.inputValue()).resolves.toBe('env_writer');
    await development.selectOption('env_reader');
    await expect(dialog.getByRole('heading', { name: /grant env_reader, then revoke env_writer/ }).isVisible()).resolves.toBe(true);
    await dialog.getByRole('button', { name: 'Preview' }).click();
    const preview = dialog.getByTestId('preview');
    await expect(preview.textContent()).resolves.toMatch(/Losses.*user:mia@acme\.com on project:checkout\/env:development \(allowed → denied\): [a-z:_, ]*flags:write/);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
    await expect(development.inputValue()).resolves.toBe('env_reader');
    const write = await stack.api(stack.adminKey, 'AuthzService/Check', { subject: 'user:mia@acme.com', action: 'flags:write', resource: 'org:acme/project:checkout/env:development', consistency: { fullyConsistent: true } });
    const read = await stack.api(stack.adminKey, 'AuthzService/Check', { subject: 'user:mia@acme.com', action: 'flags:read', resource: 'org:acme/project:checkout/env:development', consistency: { fullyConsistent: true } });
    expect([write.body.decision, read.body.decision]).toEqual(['DECISION_DENY', 'DECISION_ALLOW']);
    await page.context().close();
  });

  it('shows groups, the role × action matrix and API keys, a bounded page at a time', async () => {
    // Every list call the page makes asks for a bounded page (never "everything").
    const lists: Array<{ method: string; limit: unknown }> = [];
    const page = await stack.open(stack.adminKey, {
      route: 'members',
      onRequest: (method, body) => {
        if (/^(List|Lookup)/.test(method)) lists.push({ method, limit: (body as { page?: { limit?: unknown } } | null)?.page?.limit });
      },
    });
    const groups = page.getByRole('table', { name: 'Group members' });
    await expect(groups.getByRole('row').filter({ hasText: 'group:release-managers' }).getByRole('cell').first().textContent()).resolves.toBe('group:release-managers');
    const matrix = page.getByRole('table', { name: /Role × action/ });
    const columns = await matrix.getByRole('columnheader').allTextContents();
    const release = columns.indexOf('release_manager (custom)');
    const viewer = columns.indexOf('viewer');
    expect(release).toBeGreaterThan(0);
    const enable = matrix.getByRole('row').filter({ has: page.getByRole('rowheader', { name: 'flags:enable', exact: true }) });
    const cells = await enable.locator('td').allTextContents();
    // td cells start after the row header (column 0).
    expect(cells[release - 1]).toBe('✓granted');
    expect(cells[viewer - 1]).toBe('');
    const keys = page.getByRole('table', { name: /API keys/ });
    await expect(keys.textContent()).resolves.toContain('service:acme-admin');
    await expect(keys.textContent()).resolves.not.toMatch(/wdn_[A-Za-z0-9_-]{20,}/);
    await shot(page, 'members-groups-roles-keys');
    const paged = lists.filter((l) => l.method !== 'ListRoles');
    expect(paged.map((l) => l.method)).toEqual(expect.arrayContaining(['ListBindings', 'ListGroupMembers', 'ListApiKeys']));
    for (const call of paged) expect(call.limit, call.method).toBe(50);
    await page.context().close();
  });
});
