#!/usr/bin/env node
/**
 * The seed scenario's production change against the running example (`npm run example`), every
 * step made by a person signed in at the example's development identity provider (dev-issuer.ts),
 * then the audit timeline of checkout's production environment as the audit service serves it:
 *
 *   olivia (owner) lets sam ask for production releases and lets sarah approve them;
 *   sam asks to enable checkout-v2 (production requires approval: 202, a change request);
 *   sam tries to approve his own request: refused;
 *   sarah approves it; sam applies it.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClientError, createChannel, createClient, Metadata, Status } from 'nice-grpc';
import { Effect } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { ApprovalsServiceDefinition } from '@warden/proto/authz/v1/approvals';
import { AuditServiceDefinition, Order, type StoredEvent } from '@warden/proto/audit/v1';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA = path.resolve(process.env['EXAMPLE_DATA_DIR'] ?? path.join(ROOT, 'data', 'example'));
const endpoints = JSON.parse(await readFile(path.join(DATA, 'endpoints.json'), 'utf8')) as { flags: string; authz: string; audit: string; issuer: string };
const PROD = 'org:acme/project:checkout/env:production';
const FLAG = '/projects/checkout/envs/production/flags/checkout-v2';
const DEADLINE_MS = 10_000;

/** Signs a person in at the development identity provider: their own token. */
async function signIn(email: string): Promise<string> {
  const response = await fetch(`${endpoints.issuer}/sign-in`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email }), signal: AbortSignal.timeout(DEADLINE_MS) });
  if (!response.ok) throw new Error(`sign-in of ${email}: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
const olivia = await signIn('olivia@acme.com');
const sam = await signIn('sam@acme.com');
const sarah = await signIn('sarah@acme.com');
const asPerson = (token: string) => ({ '*': { metadata: Metadata({ authorization: `Bearer ${token}` }), deadline: DEADLINE_MS } });
const step = (who: string, what: string) => console.log(`${who.padEnd(16)} ${what}`);

async function flags(token: string, who: string, route: string, body: unknown): Promise<{ status: number; answer: Record<string, unknown> }> {
  const response = await fetch(`${endpoints.flags}${route}`, {
    method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body), signal: AbortSignal.timeout(DEADLINE_MS),
  });
  const answer = (await response.json()) as Record<string, unknown>;
  step(who, `POST ${route} ${JSON.stringify(body)} → ${response.status} ${JSON.stringify(answer)}`);
  return { status: response.status, answer };
}

const authz = createChannel(endpoints.authz);
let requestId = '';
try {
  // The owner, signed in as herself: sam may ask for production releases, sarah may approve them.
  const admin = createClient(AdminServiceDefinition, authz, asPerson(olivia));
  for (const grant of [
    { subject: 'user:sam@acme.com', role: 'release_requester', actions: [], reason: 'sam asks for production releases' },
    { subject: 'user:sarah@acme.com', role: '', actions: ['approvals:approve'], reason: 'sarah approves production changes from now on' },
  ]) {
    const granted = await admin.grantBinding({ ...grant, scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '' });
    step('olivia@acme.com', `grants ${grant.role || grant.actions.join(', ')} to ${grant.subject} in production → revision ${granted.revision}${granted.created ? '' : ' (already granted)'}`);
  }

  // 1. sam asks: production requires approval, so the flag service opens a change request for him.
  const asked = await flags(sam, 'sam@acme.com', `${FLAG}/enable`, { reason: 'launch checkout-v2' });
  if (asked.status !== 202) throw new Error(`expected 202 (pending approval), got ${asked.status}`);
  requestId = String(asked.answer['requestId']);

  // 2. sam may not approve his own request.
  try {
    await createClient(ApprovalsServiceDefinition, authz, asPerson(sam)).approveRequest({ id: requestId, reason: 'looks good to me' });
    throw new Error('sam approved his own request');
  } catch (error) {
    if (!(error instanceof ClientError) || error.code !== Status.PERMISSION_DENIED) throw error;
    step('sam@acme.com', `approves request ${requestId} → refused: ${Status[error.code]} ${error.details}`);
  }

  // 3. sarah approves it.
  const approved = await createClient(ApprovalsServiceDefinition, authz, asPerson(sarah)).approveRequest({ id: requestId, reason: 'canary metrics are healthy' });
  step('sarah@acme.com', `approves request ${requestId} → ${approved.request!.approvals.map((a) => a.by).join(', ')} approved (revision ${approved.revision})`);

  // 4. sam applies exactly the approved change.
  const applied = await flags(sam, 'sam@acme.com', `/requests/${requestId}/apply`, {});
  if (applied.status !== 200) throw new Error(`expected 200 (applied), got ${applied.status}`);
} finally {
  authz.close();
}

// Both reach audit behind the answers: authz's through its outbox relay, the flag service's
// from its SDK's spool (a recorded change is sent with the next batch). Wait for the last of
// each — the applied request and the change it cites — then read as olivia.
const channel = createChannel(endpoints.audit);
const audit = createClient(AuditServiceDefinition, channel, asPerson(olivia));
let events: StoredEvent[] = [];
for (const until = Date.now() + 15_000; ;) {
  events = [];
  for await (const page of audit.query({ filter: { org: 'acme', project: 'checkout', environment: 'production', actions: [] }, order: Order.ORDER_OLDEST_FIRST, pageSize: 100, limit: 0, cursor: '' })) {
    events.push(...page.events);
  }
  const applied = events.some((e) => e.signed?.event?.action === 'request.applied' && (e.signed.event.after as { id?: unknown } | undefined)?.id === requestId);
  const changed = events.some((e) => e.signed?.event?.reason?.startsWith(`change request ${requestId}`) === true);
  if ((applied && changed) || Date.now() > until) break;
  await new Promise((resolve) => setTimeout(resolve, 300));
}
channel.close();

const show = (value: unknown) => {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
};
/**
 * A request event's before and after are the request's summaries: its opened and applied events
 * carry the change itself (`after.change`, shown), the others move its state (shown).
 */
const requestStep = (before: unknown, after: unknown): string => {
  const summary = after as { state?: string; change?: { before?: unknown; after?: unknown } } | undefined;
  if (summary?.change !== undefined) return `${show(summary.change.before)} → ${show(summary.change.after)}`;
  return `${(before as { state?: string } | null)?.state ?? 'null'} → ${summary?.state ?? 'null'}`;
};
console.log('\naudit timeline — org:acme / checkout / production (oldest first):\n');
console.log(['seq', 'occurred at (UTC)', 'actor', 'action', 'resource', 'before → after', 'reason'].join(' | '));
for (const { seq, signed } of events) {
  const e = signed!.event!;
  const resource = e.resource.replace(PROD, '…/production');
  const beforeAfter = e.action.startsWith('request.') ? requestStep(e.before, e.after) : `${show(e.before)} → ${show(e.after)}`;
  // A request step a service made for its user (the flag service opening and applying for sam) names the user: `by (via service)`.
  const actor = `${e.actor?.type}:${e.actor?.id}`;
  const by = e.action.startsWith('request.') ? (e.after as { step?: { by?: unknown } } | undefined)?.step?.by : undefined;
  const who = typeof by === 'string' && by !== actor ? `${by} (via ${actor})` : actor;
  console.log([seq, e.occurredAt?.toISOString(), who, e.action, resource, beforeAfter, e.reason ?? ''].join(' | '));
}
