/**
 * Audit: ivy (security_auditor: audit:read) reads the timeline of the organization, filters it
 * (kind, actor, resource, time), sees before → after, exports JSON Lines and CSV of exactly
 * what matches, and the page says what it cannot verify. Mia (member, no audit:read) is refused.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shot, startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack(inject('console'));
  // A change of this spec's own (no other spec touches search/development).
  const put = await stack.api(stack.adminKey, 'AdminService/PutResource', {
    path: 'org:acme/project:search/env:development',
    settings: { showValuesToReaders: true },
    reason: 'AUD-1: devs read values in development',
  });
  expect(put.status).toBe(200);
});
afterAll(async () => {
  await stack?.stop();
});

describe('console: Audit', () => {
  it('shows the timeline with filters and before → after, and exports what matches', async () => {
    const page = await stack.open(stack.tokens.ivy!, { org: 'acme', route: 'audit' });
    await expect(page.getByTestId('verify-status').textContent()).resolves.toMatch(/^Verify status: not verified in the browser/);
    // Unfiltered: the world file's seeding is there, newest first after our change.
    const timeline = page.getByTestId('timeline');
    await timeline.waitFor();
    await expect(timeline.textContent()).resolves.toContain('system:world-file');

    await page.getByLabel('Resource path').fill('org:acme/project:search/env:development');
    await page.getByLabel('Kind').selectOption('resource.');
    await page.getByLabel('Actor').fill('service:acme-admin');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await timeline.getByText('AUD-1', { exact: false }).waitFor();
    const entries = timeline.getByRole('listitem').filter({ hasText: 'revision' });
    await expect(entries.count()).resolves.toBe(1);
    const entry = entries.first();
    await expect(entry.textContent()).resolves.toMatch(/service:acme-admin resource\.updated project:search\/env:development — “AUD-1: devs read values in development”/);
    await expect(entry.locator('ul.diff li').filter({ hasText: 'show_values_to_readers' }).textContent()).resolves.toBe('show_values_to_readers: false → true');
    await shot(page, 'audit-timeline');

    // A time window before the change shows nothing.
    await page.getByLabel('Until').fill('2020-01-01T00:00');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No changes match.').waitFor();
    await page.getByLabel('Until').fill('');

    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON Lines' }).click()]);
    const lines = (await readFile((await jsonl.path())!, 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ actor: 'service:acme-admin', kind: 'resource.updated', resource: 'org:acme/project:search/env:development', reason: 'AUD-1: devs read values in development' });
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const rows = (await readFile((await csv.path())!, 'utf8')).trim().split('\r\n');
    expect(rows[0]).toBe('revision,seq,at,actor,kind,key,resource,reason,before,after');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain(',service:acme-admin,resource.updated,org:acme/project:search/env:development,org:acme/project:search/env:development,AUD-1: devs read values in development,"{');
    await page.context().close();
  });

  it('is refused by Warden for a member without audit:read', async () => {
    const page = await stack.open(stack.tokens.mia!, { org: 'acme', route: 'audit' });
    await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(/permission_denied: .*audit:read/);
    await expect(page.getByTestId('timeline').count()).resolves.toBe(0);
    await page.context().close();
  });
});
