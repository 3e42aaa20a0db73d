/**
 * Organization page: the environments with their settings; an edit is previewed (who gains or
 * loses what) before Save is possible, a change after the preview disables Save again, and
 * the saved setting is what Warden then enforces. Signed in with the development API key.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { lowContrast, unlabelledControls } from './support/a11y.js';
import { PHONE, shot, startStack, waitReady, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(inject('console'));
});
afterAll(async () => {
  await stack?.stop();
});

const PRODUCTION = 'org:acme/project:search/env:production';

describe('console: Organization', () => {
  it('refuses a wrong credential at sign-in with Warden\'s answer', async () => {
    const context = await stack.browser.newContext();
    const page = await context.newPage();
    await page.goto(`${stack.url}/console/`);
    await page.getByLabel('API key or access token').fill('wdn_nonsense');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/unauthenticated|credential|key/i);
    await context.close();
  });

  it('lists the settings and saves an edit only after its preview', async () => {
    const page = await stack.open(stack.adminKey);
    await expect(page.getByTestId('who').textContent()).resolves.toBe('service:acme-admin');
    const row = page.getByRole('row').filter({ has: page.getByText('project:search/env:production', { exact: true }) });
    await expect(row.getByRole('cell').allTextContents()).resolves.toEqual([
      'project:search/env:production', 'yes', 'flags:enable, flags:rollout, variables:write, secrets:reveal', 'owner, admin, release_manager', 'no', 'default', 'no', 'Edit settings',
    ]);
    await shot(page, 'organization-desktop');

    await row.getByRole('button', { name: 'Edit settings of project:search/env:production' }).click();
    const dialog = page.getByRole('dialog');
    const save = dialog.getByRole('button', { name: 'Save' });
    await dialog.getByLabel('Require approval').check();
    await expect(save.isDisabled()).resolves.toBe(true);
    await dialog.getByRole('button', { name: 'Preview' }).click();
    const preview = dialog.getByTestId('preview');
    // The admin (adam) may enable flags in search/production today; with approval on, he must ask first.
    await expect(preview.textContent()).resolves.toMatch(/user:adam@acme\.com on project:search\/env:production \(allowed → needs approval\): [a-z:_, ]*flags:enable/);
    await expect(preview.textContent()).resolves.toContain('You may make this change.');
    await expect(save.isEnabled()).resolves.toBe(true);
    // Any edit after the preview: Save waits for a new one.
    await dialog.getByLabel('Show values to read-only users').check();
    await expect(save.isDisabled()).resolves.toBe(true);
    await dialog.getByLabel('Show values to read-only users').uncheck();
    await dialog.getByRole('button', { name: 'Preview' }).click();
    await preview.waitFor();
    await dialog.getByLabel('Reason (recorded with the change)').fill('CAB-7: approvals in production');
    await shot(page, 'organization-preview');
    await save.click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => row.getByRole('cell').nth(4).textContent()).toBe('yes');

    // What Warden now decides, asked directly: adam's enable in production needs approval.
    const check = await stack.api(stack.adminKey, 'AuthzService/Check', { subject: 'user:adam@acme.com', action: 'flags:enable', resource: `${PRODUCTION}/flag:checkout-v2`, consistency: { fullyConsistent: true } });
    expect(check.body.decision).toBe('DECISION_REQUIRES_APPROVAL');
    await page.context().close();
  });

  it('is accessible: labels, contrast, keyboard', async () => {
    const page = await stack.open(stack.adminKey);
    for (const route of ['organization', 'members', 'access', 'audit']) {
      await page.getByRole('link', { name: { organization: 'Organization', members: 'Members', access: 'Access explorer', audit: 'Audit' }[route]! }).click();
      await waitReady(page, route);
      expect(await unlabelledControls(page), route).toEqual([]);
      expect(await lowContrast(page), route).toEqual([]);
    }
    // Keyboard only: from the navigation to a dialog and back.
    await page.getByRole('link', { name: 'Organization' }).click();
    await waitReady(page, 'organization');
    const edit = page.getByRole('button', { name: 'Edit settings of project:checkout/env:development' });
    await edit.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog');
    await dialog.waitFor();
    expect(await unlabelledControls(page)).toEqual([]);
    expect(await dialog.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await expect(edit.evaluate((e) => e === document.activeElement)).resolves.toBe(true);
    await page.context().close();
  });

  it('is usable at phone width', async () => {
    const page = await stack.open(stack.adminKey, { viewport: PHONE });
    await page.getByRole('link', { name: 'Members' }).click();
    await waitReady(page, 'members');
    await page.getByRole('link', { name: 'Organization' }).click();
    await waitReady(page, 'organization');
    const edit = page.getByRole('button', { name: 'Edit settings of project:search/env:staging' });
    await expect(edit.isVisible()).resolves.toBe(true);
    // Nothing wider than the screen but the scrollable matrix region.
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(PHONE.width);
    await shot(page, 'organization-phone');
    await page.context().close();
  });
});
