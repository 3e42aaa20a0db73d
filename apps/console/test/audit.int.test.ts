/**
 * Audit: ivy (security_auditor: audit:read) reads the timeline of the organization, filters it
 * (kind, actor, resource, time), sees before → after, exports JSON Lines and CSV of exactly
 * what matches, and each row's verify status: checked by authz against the real audit service's
 * signed checkpoint (✓ in log seq N, in checkpoint of size M), and "could not verify" — never ✓ —
 * while the audit service does not answer. Mia (member, no audit:read) is refused.
 */
import { text } from 'node:stream/consumers';
import type { Download } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shot, startStack, type Stack } from './support/stack.js';

let stack: Stack;

/** A download's content (the browser runs in the run's browser server: read it as a stream). */
async function downloaded(download: Download): Promise<string> {
  return text(await download.createReadStream());
}
beforeAll(async () => {
  stack = await startStack(inject('console'));
  // A change of this spec's own (no other spec touches search/development).
  const put = await stack.api(stack.adminKey, 'AdminService/PutResource', {
    path: 'org:acme/project:search/env:development',
    settings: { showValuesToReaders: true },
    reason: 'AUD-1: devs read values in development',
  });
  expect(put.status).toBe(200);
  const formula = await stack.api(stack.adminKey, 'AdminService/PutResource', {
    path: 'org:acme/project:search/env:staging',
    settings: { showValuesToReaders: true },
    reason: '=HYPERLINK("https://evil.example","AUD-3")',
  });
  expect(formula.status).toBe(200);
  const markup = await stack.api(stack.adminKey, 'AdminService/PutResource', {
    path: 'org:acme/project:checkout/env:staging',
    settings: {},
    reason: '<img src=x onerror="document.body.dataset.pwned=1">AUD-4',
  });
  expect(markup.status).toBe(200);
  // 60 memberships of a group of this spec's own (named to sort after the seed's groups, which
  // the Members spec reads on the first page): more than one page of the timeline.
  for (let i = 0; i < 60; i += 10) {
    const added = await Promise.all(
      Array.from({ length: 10 }, (_, j) =>
        stack.api(stack.adminKey, 'AdminService/AddGroupMember', { org: 'acme', group: 'group:zz-audit-spec', member: `user:temp${i + j}@acme.com`, reason: 'AUD-2' }),
      ),
    );
    expect(added.map((a) => a.status)).toEqual(Array(10).fill(200));
  }
});
afterAll(async () => {
  await stack?.stop();
});

describe('console: Audit', () => {
  it('shows the timeline with filters and before → after, and exports what matches', async () => {
    const page = await stack.open(stack.tokens.ivy!, { org: 'acme', route: 'audit' });
    // Unfiltered, newest first: this spec's own last changes lead.
    const timeline = page.getByTestId('timeline');
    await timeline.waitFor();
    await expect(timeline.locator(':scope > li').first().textContent()).resolves.toContain('“AUD-2”');
    // The world file's seeding, by its actor.
    await page.getByLabel('Actor').fill('system:world-file');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => timeline.locator(':scope > li').first().textContent()).toContain('system:world-file');

    await page.getByLabel('Resource path').fill('org:acme/project:search/env:development');
    await page.getByLabel('Kind').selectOption('resource.');
    await page.getByLabel('Actor').fill('service:acme-admin');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await timeline.getByText('AUD-1', { exact: false }).waitFor();
    const entries = timeline.locator(':scope > li');
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
    const lines = (await downloaded(jsonl)).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ actor: 'service:acme-admin', kind: 'resource.updated', resource: 'org:acme/project:search/env:development', reason: 'AUD-1: devs read values in development' });
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const rows = (await downloaded(csv)).trim().split('\r\n');
    expect(rows[0]).toBe('revision,seq,at,actor,kind,key,resource,reason,before,after');
    expect(rows).toHaveLength(2);
    expect(rows[1]).toContain(',service:acme-admin,resource.updated,org:acme/project:search/env:development,org:acme/project:search/env:development,AUD-1: devs read values in development,"{');
    await page.context().close();
  });

  it('exports a reason a spreadsheet would run as a formula as text in CSV, unchanged in JSON Lines', async () => {
    const page = await stack.open(stack.tokens.ivy!, { org: 'acme', route: 'audit' });
    await page.getByLabel('Resource path').fill('org:acme/project:search/env:staging');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByTestId('timeline').getByText('AUD-3', { exact: false }).waitFor();
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const rows = (await downloaded(csv)).trim().split('\r\n');
    expect(rows[1]).toContain(`,"'=HYPERLINK(""https://evil.example"",""AUD-3"")",`);
    const [jsonl] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON Lines' }).click()]);
    const line = JSON.parse((await downloaded(jsonl)).trim().split('\n')[0]!) as { reason: string };
    expect(line.reason).toBe('=HYPERLINK("https://evil.example","AUD-3")');
    await page.context().close();
  });

  it('shows recorded text as text, never as markup', async () => {
    const page = await stack.open(stack.tokens.ivy!, { org: 'acme', route: 'audit' });
    await page.getByLabel('Resource path').fill('org:acme/project:checkout/env:staging');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByTestId('timeline').getByText('<img src=x onerror="document.body.dataset.pwned=1">AUD-4', { exact: false }).waitFor();
    await expect(page.locator('img').count()).resolves.toBe(0);
    await expect(page.evaluate(() => document.body.dataset.pwned)).resolves.toBeUndefined();
    await page.context().close();
  });

  it('pages through the timeline, 50 at a time', async () => {
    const page = await stack.open(stack.tokens.ivy!, { org: 'acme', route: 'audit' });
    await page.getByLabel('Kind').selectOption('group_member.');
    await page.getByLabel('Actor').fill('service:acme-admin');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const timeline = page.getByTestId('timeline');
    const entries = timeline.locator(':scope > li');
    await expect.poll(() => entries.count()).toBe(50);
    const newest = await entries.first().textContent();
    await page.getByRole('button', { name: 'Next page' }).click();
    await expect.poll(() => entries.count()).toBe(10);
    await expect(page.getByRole('button', { name: 'Next page' }).isDisabled()).resolves.toBe(true);
    await expect(page.getByText('Page 2')).toBeDefined();
    await page.getByRole('button', { name: 'Previous page' }).click();
    await expect.poll(() => entries.count()).toBe(50);
    await expect(entries.first().textContent()).resolves.toBe(newest);
    await page.context().close();
  });

  it('shows each row verified in the audit log: its seq, in the signed checkpoint (checked by authz)', async () => {
    const page = await stack.open(stack.tokens.ivy!, { org: 'acme', route: 'audit' });
    await page.getByLabel('Resource path').fill('org:acme/project:search/env:development');
    await page.getByLabel('Kind').selectOption('resource.');
    const row = page.getByTestId('timeline').locator(':scope > li').filter({ hasText: 'AUD-1' }).getByTestId('row-verify');
    // The relay ships within ~100 ms and the audit service signs a checkpoint every 200 ms: reload until it is in.
    await expect
      .poll(async () => {
        await page.getByRole('button', { name: 'Apply filters' }).click();
        await expect.poll(() => row.textContent()).not.toMatch(/checking/);
        return row.textContent();
      }, { timeout: 20_000 })
      .toMatch(/^✓ in log seq \d+, in checkpoint of size \d+$/);
    const [, seq, size] = /seq (\d+), in checkpoint of size (\d+)/.exec((await row.textContent())!)!.map(Number);
    expect(seq).toBeLessThan(size!);
    await expect(row.getAttribute('aria-label')).resolves.toBe(`Audit log: verified, sequence ${seq}, included in the signed checkpoint of size ${size}, not cosigned by a witness`);
    // Every row shown (the world file's creation and AUD-1) is verified, against one checkpoint.
    await expect.poll(() => page.getByTestId('verify-status').textContent()).toMatch(/^Verify status: (\d+) of \1 shown verified in the audit log \(signed checkpoint of size \d+, no witness cosignature\)\.$/);
    // What the page shows is what authz answers for this row's event id, and that event is in the audit log.
    const changes = await stack.api(stack.tokens.ivy!, 'DirectoryService/ListChanges', { scope: 'org:acme/project:search/env:development', kind: 'resource.' });
    const eventId = (changes.body.changes as Array<{ eventId: string; reason: string }>).find((c) => c.reason.startsWith('AUD-1'))!.eventId;
    expect(eventId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/);
    const status = await stack.api(stack.tokens.ivy!, 'AuditStatusService/GetAuditStatus', { org: 'org:acme', eventIds: [eventId] });
    expect(status.body).toMatchObject({ checkpointVerified: true, events: [{ eventId, state: 'AUDIT_EVENT_STATE_VERIFIED', seq: seq }] });
    await shot(page, 'audit-verified');
    await page.context().close();
  });

  it('shows "could not verify" (never ✓) while the audit service does not answer', async () => {
    const page = await stack.open(stack.tokens.ivy!, { org: 'acme', route: 'audit' });
    await page.getByLabel('Resource path').fill('org:acme/project:search/env:development');
    await page.getByLabel('Kind').selectOption('resource.');
    const { auditPid } = inject('console');
    process.kill(auditPid, 'SIGSTOP');
    try {
      await page.getByRole('button', { name: 'Apply filters' }).click();
      const row = page.getByTestId('timeline').locator(':scope > li').filter({ hasText: 'AUD-1' }).getByTestId('row-verify');
      await expect.poll(() => row.textContent(), { timeout: 15_000 }).toMatch(/^\? could not verify: the audit service did not give a checkpoint/);
      await expect(row.getAttribute('aria-label')).resolves.toMatch(/^Audit log: could not verify \(/);
      await expect.poll(() => page.getByTestId('verify-status').textContent()).toMatch(/^Verify status: 0 of (\d+) shown verified in the audit log; \1 could not be verified: the audit service did not give a checkpoint/);
      await expect(page.getByText('✓').count()).resolves.toBe(0);
    } finally {
      process.kill(auditPid, 'SIGCONT');
    }
    await page.context().close();
  });

  it('answers the audit status only to a caller with audit:read, and only for well-formed event ids', async () => {
    const id = '0190a6c0-0000-7000-8000-000000000000';
    const mia = await stack.api(stack.tokens.mia!, 'AuditStatusService/GetAuditStatus', { org: 'org:acme', eventIds: [id] });
    expect(mia.status).toBe(403);
    const bad = await stack.api(stack.tokens.ivy!, 'AuditStatusService/GetAuditStatus', { org: 'org:acme', eventIds: ['not-an-id'] });
    expect([bad.status, bad.body.message]).toEqual([400, expect.stringContaining('event_ids[0]')]);
    // An id the audit log does not have is "not in the log", not verified.
    const absent = await stack.api(stack.tokens.ivy!, 'AuditStatusService/GetAuditStatus', { org: 'org:acme', eventIds: [id] });
    expect(absent.body).toMatchObject({ checkpointVerified: true, events: [{ eventId: id, state: 'AUDIT_EVENT_STATE_NOT_IN_LOG' }] });
  });

  it('is refused by Warden for a member without audit:read', async () => {
    const page = await stack.open(stack.tokens.mia!, { org: 'acme', route: 'audit' });
    await expect(page.getByRole('alert').first().textContent()).resolves.toMatch(/permission_denied: .*audit:read/);
    await expect(page.getByTestId('timeline').count()).resolves.toBe(0);
    await page.context().close();
  });
});
