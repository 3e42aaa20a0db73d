/**
 * A viewer (victor) sees the organization and the team but no write control anywhere; and
 * what the UI hides, Warden refuses: the same write sent by hand with his token is 403.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PHONE, shot, startStack, waitReady, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(inject('console'));
});
afterAll(async () => {
  await stack?.stop();
});

const WRITE_CONTROLS = /Edit settings|Manage access|Add member|Create key|Revoke|Remove|Save/;

describe('console: a viewer', () => {
  it('sees no write controls on any page', async () => {
    const page = await stack.open(stack.tokens.victor!, { org: 'acme' });
    await expect(page.getByRole('table', { name: 'Environments' }).getByRole('row').count()).resolves.toBeGreaterThan(1);
    await expect(page.getByRole('button', { name: WRITE_CONTROLS }).count()).resolves.toBe(0);
    await shot(page, 'viewer-organization');
    await page.getByRole('link', { name: 'Members' }).click();
    await waitReady(page, 'members');
    await expect(page.getByRole('table', { name: /Team/ }).getByRole('row').count()).resolves.toBeGreaterThan(10);
    await expect(page.getByRole('button', { name: WRITE_CONTROLS }).count()).resolves.toBe(0);
    await expect(page.locator('form').count()).resolves.toBe(0);
    await page.setViewportSize(PHONE);
    await shot(page, 'viewer-members-phone');

    // What the page does not offer, Warden refuses anyway.
    const forged = await page.evaluate(async (token) => {
      const response = await fetch('/warden.authz.v1.AdminService/PutResource', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ path: 'org:acme/project:checkout/env:production', settings: { protected: false } }),
      });
      return { status: response.status, body: await response.text() };
    }, stack.tokens.victor!);
    expect(forged.status).toBe(403);
    expect(forged.body).toContain('environments:manage');
    await page.context().close();
  });
});
