/**
 * Approvals inbox, and the seed scenario through the UI: the admin turns on Require approval
 * for payments/production on the Organization page (preview, then save); sam (a release
 * manager there, allowed flags:enable) is now REQUIRES_APPROVAL and opens a change request
 * through the API, as the SDK / flag service does for him (the console has no requester flow:
 * the flag's before and after are the flag service's to state, not the console's); sarah (an
 * eligible approver: approvals:approve there) sees it in her inbox and approves it with a
 * reason; sam applies it (API); the Audit timeline shows requested by / approved by / applied by.
 * Also: a requester who could approve (adam, admin) is refused by Warden on his own request and
 * the page shows it; a member sees requests but no decision buttons; a viewer (no
 * approvals:read) is refused; an owner closes a break-glass review.
 *
 * This spec's own environment (payments/production, created here) keeps it apart from the
 * other specs' checkout and search environments.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { lowContrast, unlabelledControls } from './support/a11y.js';
import { PHONE, shot, startStack, waitReady, type Stack } from './support/stack.js';

let stack: Stack;
const PROJECT = 'org:acme/project:payments';
const PRODUCTION = `${PROJECT}/env:production`;
const FLAG = `${PRODUCTION}/flag:payments-v2`;
const PROD_SETTINGS = {
  protected: true,
  sensitiveActions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'],
  protectedRoles: ['owner', 'admin', 'release_manager'],
  requireApproval: false,
  showValuesToReaders: false,
};

async function ok(call: Promise<{ status: number; body: Record<string, unknown> }>): Promise<Record<string, unknown>> {
  const result = await call;
  expect(result.status, JSON.stringify(result.body)).toBe(200);
  return result.body;
}

beforeAll(async () => {
  stack = await startStack(inject('console'));
  await ok(stack.api(stack.adminKey, 'AdminService/PutResource', { path: PROJECT, settings: {}, reason: 'APR-0: payments' }));
  await ok(stack.api(stack.adminKey, 'AdminService/PutResource', { path: PRODUCTION, settings: PROD_SETTINGS, reason: 'APR-0: payments production' }));
  await ok(stack.api(stack.adminKey, 'AdminService/GrantBinding', { subject: 'user:sam@acme.com', role: 'release_manager', scope: PRODUCTION, reason: 'APR-0: sam ships payments' }));
  await ok(stack.api(stack.adminKey, 'AdminService/GrantBinding', { subject: 'user:sarah@acme.com', actions: ['approvals:approve'], scope: PRODUCTION, reason: 'APR-0: sarah approves payments changes' }));
});
afterAll(async () => {
  await stack?.stop();
});

const check = (subject: string, resource = FLAG) =>
  ok(stack.api(stack.adminKey, 'AuthzService/Check', { subject, action: 'flags:enable', resource, consistency: { fullyConsistent: true } })).then((b) => b.decision);

describe('console: Approvals', () => {
  it('runs the seed scenario: require approval (previewed), sam requests, sarah approves in the inbox, sam applies, the timeline shows every step', async () => {
    await expect(check('user:sam@acme.com')).resolves.toBe('DECISION_ALLOW');
    const admin = await stack.open(stack.adminKey);
    const row = admin.getByRole('row').filter({ has: admin.getByText('project:payments/env:production', { exact: true }) });
    await row.getByRole('button', { name: 'Edit settings of project:payments/env:production' }).click();
    const dialog = admin.getByRole('dialog');
    await dialog.getByLabel('Require approval').check();
    await dialog.getByRole('button', { name: 'Preview' }).click();
    await expect(dialog.getByTestId('preview').textContent()).resolves.toMatch(/user:sam@acme\.com on project:payments\/env:production \(allowed → needs approval\): [a-z:_, ]*flags:enable/);
    await dialog.getByLabel('Reason (recorded with the change)').fill('CAB-9: approvals in payments production');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => row.getByRole('cell').nth(4).textContent()).toBe('yes');
    await expect(check('user:sam@acme.com')).resolves.toBe('DECISION_REQUIRES_APPROVAL');

    // Sam's enable needs approval: he opens a change request (what the SDK's warden.change does).
    const opened = (await ok(stack.api(stack.tokens.sam!, 'ApprovalsService/OpenChangeRequest', {
      action: 'flags:enable', resource: FLAG, before: { enabled: false }, after: { enabled: true }, reason: 'launch payments-v2', ticket: 'REL-42',
    }))).request as { id: string; contentHash: string };
    expect(opened.contentHash).toMatch(/^sha256:[0-9a-f]{64}$/);

    // Sarah's inbox.
    const sarah = await stack.open(stack.tokens.sarah!, { org: 'acme', route: 'approvals' });
    const request = sarah.getByTestId('request').filter({ hasText: 'flags:enable on project:payments/env:production/flag:payments-v2' });
    await expect(request.count()).resolves.toBe(1);
    const text = await request.textContent();
    expect(text).toContain('Requested byuser:sam@acme.com');
    expect(text).toContain('“launch payments-v2”');
    expect(text).toContain('REL-42');
    expect(text).toContain('Approvals0 of 1');
    expect(text).toContain(opened.contentHash);
    await expect(request.locator('ul.diff li').textContent()).resolves.toBe('enabled: false → true');
    await shot(sarah, 'approvals-inbox');
    await request.getByRole('button', { name: 'Approve request flags:enable on project:payments/env:production/flag:payments-v2' }).click();
    const approve = sarah.getByRole('dialog');
    expect(await approve.evaluate((d) => d.contains(document.activeElement))).toBe(true);
    await approve.getByLabel('Reason (recorded)').fill('checked the rollout plan');
    await shot(sarah, 'approvals-approve-dialog');
    await approve.getByRole('button', { name: 'Approve' }).click();
    await approve.waitFor({ state: 'detached' });
    // Gone from Pending; Warden says approved, by sarah.
    await expect.poll(() => request.count()).toBe(0);
    const got = (await ok(stack.api(stack.adminKey, 'ApprovalsService/GetRequest', { id: opened.id }))).request as { state: string; approvals: Array<{ by: string; reason: string }> };
    expect(got.state).toBe('REQUEST_STATE_APPROVED');
    expect(got.approvals).toMatchObject([{ by: 'user:sarah@acme.com', reason: 'checked the rollout plan' }]);
    await sarah.context().close();

    // Sam applies the approved change (the flag service's POST /requests/:id/apply).
    const applied = (await ok(stack.api(stack.tokens.sam!, 'ApprovalsService/ApplyRequest', { id: opened.id, contentHash: opened.contentHash }))).request as { state: string };
    expect(applied.state).toBe('REQUEST_STATE_APPLIED');

    // The timeline, newest first: applied by sam, approved by sarah, requested by sam.
    await admin.getByRole('link', { name: 'Audit' }).click();
    await waitReady(admin, 'audit');
    await admin.getByLabel('Resource path').fill(PRODUCTION);
    await admin.getByLabel('Kind').selectOption('request.');
    await admin.getByRole('button', { name: 'Apply filters' }).click();
    const steps = admin.getByTestId('approval-step');
    await expect.poll(() => steps.count()).toBe(3);
    const lines = await steps.allTextContents();
    expect(lines[0]).toMatch(/^Applied by user:sam@acme\.com · change request .* \(applied\).*approvals 1 of 1: user:sarah@acme\.com · content hash sha256:[0-9a-f]{64}enabled: false → true$/);
    expect(lines[1]).toMatch(/^Approved by user:sarah@acme\.com · change request .* \(approved\)/);
    expect(lines[2]).toMatch(/^Requested by user:sam@acme\.com · change request .* \(pending\).*approvals 0 of 1/);
    for (const line of lines) expect(line).toContain(opened.contentHash);
    await expect(admin.getByTestId('timeline').locator(':scope > li').nth(1).textContent()).resolves.toContain('“checked the rollout plan”');
    await shot(admin, 'approvals-timeline');
    await admin.context().close();
  });

  it('shows Warden\'s refusal when a requester approves its own request; a member sees no decision buttons; a viewer is refused', async () => {
    // Adam (admin) holds approvals:approve, so his page offers Approve; Warden refuses self-approval.
    const opened = (await ok(stack.api(stack.tokens.adam!, 'ApprovalsService/OpenChangeRequest', {
      action: 'flags:enable', resource: `${PRODUCTION}/flag:refunds`, before: { enabled: false }, after: { enabled: true }, reason: 'refunds on',
    }))).request as { id: string };
    const adam = await stack.open(stack.tokens.adam!, { org: 'acme', route: 'approvals' });
    await adam.getByLabel('Scope').selectOption(PRODUCTION);
    await adam.getByRole('button', { name: 'Show' }).click();
    const own = adam.getByTestId('request').filter({ hasText: 'flag:refunds' });
    await expect(own.textContent()).resolves.toContain('user:adam@acme.com (you)');
    await own.getByRole('button', { name: /^Approve / }).click();
    const dialog = adam.getByRole('dialog');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await expect(dialog.getByRole('alert').textContent()).resolves.toMatch(/^permission_denied: .*user:adam@acme\.com may not approve its own request/);
    await shot(adam, 'approvals-self-approval-refused');
    await adam.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await adam.context().close();
    const still = (await ok(stack.api(stack.adminKey, 'ApprovalsService/GetRequest', { id: opened.id }))).request as { state: string; approvals?: unknown[] };
    expect([still.state, still.approvals ?? []]).toEqual(['REQUEST_STATE_PENDING', []]);

    // Mia (member: approvals:read, not approvals:approve) sees it, with no buttons; at phone width.
    const mia = await stack.open(stack.tokens.mia!, { org: 'acme', route: 'approvals', viewport: PHONE });
    await expect(mia.getByTestId('request').filter({ hasText: 'flag:refunds' }).count()).resolves.toBe(1);
    await expect(mia.getByRole('button', { name: /Approve|Reject|Close review/ }).count()).resolves.toBe(0);
    expect(await mia.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(PHONE.width);
    expect(await unlabelledControls(mia)).toEqual([]);
    expect(await lowContrast(mia)).toEqual([]);
    await shot(mia, 'approvals-member-phone');
    await mia.context().close();

    // Victor (viewer: no approvals:read) is refused by Warden, and offered nothing.
    const victor = await stack.open(stack.tokens.victor!, { org: 'acme', route: 'approvals' });
    await expect(victor.getByRole('alert').first().textContent()).resolves.toMatch(/^permission_denied: .*approvals:read/);
    await expect(victor.getByTestId('request').count()).resolves.toBe(0);
    await expect(victor.getByRole('button', { name: /Approve|Reject|Close review/ }).count()).resolves.toBe(0);
    await victor.context().close();
  });

  it('approves an access request where the approver could grant it (an owner), not where it could not (sarah)', async () => {
    const asked = (await ok(stack.api(stack.tokens.mia!, 'ApprovalsService/RequestAccess', {
      grant: { role: 'env_reader', scope: PRODUCTION, durationSeconds: 7200 }, reason: 'INC-80: read payments production',
    }))).request as { id: string };
    const read = () => ok(stack.api(stack.adminKey, 'AuthzService/Check', { subject: 'user:mia@acme.com', action: 'flags:read', resource: FLAG, consistency: { fullyConsistent: true } })).then((b) => b.decision);
    await expect(read()).resolves.toBe('DECISION_DENY');
    // Sarah approves changes there (approvals:approve), but could not grant access (no users:manage_roles): no buttons.
    const sarah = await stack.open(stack.tokens.sarah!, { org: 'acme', route: 'approvals' });
    const hers = sarah.getByTestId('request').filter({ hasText: 'Access request by user:mia@acme.com' });
    await expect(hers.textContent()).resolves.toContain('Access for user:mia@acme.com: role env_reader at project:payments/env:production for 2 h');
    await expect(hers.getByRole('button').count()).resolves.toBe(0);
    await sarah.context().close();

    const olivia = await stack.open(stack.tokens.olivia!, { org: 'acme', route: 'approvals' });
    const request = olivia.getByTestId('request').filter({ hasText: 'Access request by user:mia@acme.com' });
    await request.getByRole('button', { name: 'Approve access request by user:mia@acme.com' }).click();
    const dialog = olivia.getByRole('dialog');
    await dialog.getByLabel('Reason (recorded)').fill('INC-80: two hours');
    await dialog.getByRole('button', { name: 'Approve' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => request.count()).toBe(0);
    await olivia.context().close();
    const got = (await ok(stack.api(stack.adminKey, 'ApprovalsService/GetRequest', { id: asked.id }))).request as { state: string; bindingId: string };
    expect(got.state).toBe('REQUEST_STATE_APPLIED');
    expect(got.bindingId).not.toBe('');
    await expect(read()).resolves.toBe('DECISION_ALLOW');
  });

  it('lets an owner close a break-glass review, with a reason', async () => {
    const taken = (await ok(stack.api(stack.adminKey, 'ApprovalsService/BreakGlass', {
      action: 'flags:disable', resource: `${PRODUCTION}/flag:payments-v2`, before: { enabled: true }, after: { enabled: false }, reason: 'INC-77: payments failing',
    }))).request as { id: string; state: string };
    expect(taken.state).toBe('REQUEST_STATE_APPROVED');
    const olivia = await stack.open(stack.tokens.olivia!, { org: 'acme', route: 'approvals' });
    await olivia.getByLabel('State').selectOption('REQUEST_STATE_APPROVED');
    await olivia.getByRole('button', { name: 'Show' }).click();
    const request = olivia.getByTestId('request').filter({ hasText: 'flags:disable' });
    await expect(request.getByRole('heading').textContent()).resolves.toContain('break-glass · review open');
    await request.getByRole('button', { name: /^Close review of/ }).click();
    const dialog = olivia.getByRole('dialog');
    await dialog.getByLabel('Reason (required, recorded)').fill('INC-77 reviewed: disable was right');
    await dialog.getByRole('button', { name: 'Close review' }).click();
    await dialog.waitFor({ state: 'detached' });
    await expect.poll(() => request.getByRole('heading').textContent()).toContain('break-glass · review closed by user:olivia@acme.com');
    await expect(request.getByRole('button', { name: /^Close review of/ }).count()).resolves.toBe(0);
    await shot(olivia, 'approvals-break-glass-closed');
    await olivia.context().close();
  });
});
