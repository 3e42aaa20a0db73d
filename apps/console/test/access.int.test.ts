/**
 * Access explorer: who can enable flags in production (through groups too), what a subject
 * may do, and why a decision is what it is — and Warden refusing a member who may not look up.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shot, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(inject('console'));
});
afterAll(async () => {
  await stack?.stop();
});

describe('console: Access explorer', () => {
  it('answers who, what and why for an owner', async () => {
    const page = await stack.open(stack.tokens.olivia!, { org: 'acme', route: 'access' });
    const who = page.getByRole('region', { name: 'Who can do this here?' });
    // secrets:reveal: production checkout requires approval for enabling flags (acme.yaml), and "who" lists ALLOW only.
    await who.getByLabel('Action').fill('secrets:reveal');
    await who.getByLabel('Resource').fill('org:acme/project:checkout/env:production');
    await who.getByRole('button', { name: 'Find who' }).click();
    await who.getByTestId('who-result').waitFor();
    const subjects = await who.getByTestId('who-result').getByRole('listitem').allTextContents();
    // Alex through group:release-managers; the owners; not sam (protected production, no named role).
    expect(subjects).toEqual(expect.arrayContaining(['user:alex@acme.com', 'user:olivia@acme.com', 'group:release-managers']));
    expect(subjects).not.toContain('user:sam@acme.com');

    const what = page.getByRole('region', { name: 'What can this subject do here?' });
    await what.getByLabel('Subject').fill('user:mia@acme.com');
    await what.getByLabel('Resource').fill('org:acme/project:checkout/env:staging');
    await what.getByRole('button', { name: 'List actions' }).click();
    await what.getByTestId('what-result').waitFor();
    const actions = await what.getByTestId('what-result').getByRole('listitem').allTextContents();
    expect(actions).toContain('flags:read');
    expect(actions).not.toContain('flags:write');

    const why = page.getByRole('region', { name: 'Why? (explain a decision)' });
    await why.getByLabel('Subject').fill('user:chris@acme.com');
    await why.getByLabel('Action').fill('secrets:reveal');
    await why.getByLabel('Resource').fill('org:acme/project:checkout/env:development');
    await why.getByRole('button', { name: 'Explain' }).click();
    await expect(why.getByTestId('decision').textContent()).resolves.toBe('DENY (deny_binding)');
    await expect(why.textContent()).resolves.toContain('user:chris@acme.com deny secrets:reveal');
    await shot(page, 'access-explorer');
    await page.context().close();
  });

  it('shows Warden\'s refusal when a member asks who has access', async () => {
    const page = await stack.open(stack.tokens.mia!, { org: 'acme', route: 'access' });
    const who = page.getByRole('region', { name: 'Who can do this here?' });
    await who.getByRole('button', { name: 'Find who' }).click();
    await expect(who.getByRole('alert').textContent()).resolves.toMatch(/permission_denied: .*authz:lookup/);
    await page.context().close();
  });
});
