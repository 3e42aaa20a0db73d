#!/usr/bin/env node
/**
 * The seed scenario against the running example (`npm run example`), then the audit
 * timeline of checkout's production environment as the audit service serves it:
 *   alex rolls checkout-v2 out 0% → 25%, sarah 25% → 50%, sarah enables it,
 *   and the admin account grants sarah a permission in production.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { Effect } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { AuditServiceDefinition, Order, type StoredEvent } from '@warden/proto/audit/v1';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DATA = path.resolve(process.env['EXAMPLE_DATA_DIR'] ?? path.join(ROOT, 'data', 'example'));
const endpoints = JSON.parse(await readFile(path.join(DATA, 'endpoints.json'), 'utf8')) as { flags: string; authz: string; audit: string };
const FLAGS = endpoints.flags;
const FLAG = '/projects/checkout/envs/production/flags/checkout-v2';

async function as(user: string, route: string, body: unknown): Promise<unknown> {
  const response = await fetch(`${FLAGS}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-user': user }, body: JSON.stringify(body) });
  const answer: unknown = await response.json();
  console.log(`${user.padEnd(18)} POST ${route} ${JSON.stringify(body)} → ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

await as('alex@acme.com', `${FLAG}/rollout`, { percent: 25, reason: 'canary' });
await as('sarah@acme.com', `${FLAG}/rollout`, { percent: 50, reason: 'canary looks healthy' });
await as('sarah@acme.com', `${FLAG}/enable`, { reason: 'launch' });
await as('sam@acme.com', `${FLAG}/enable`, { reason: 'sam is not a release manager: refused, not recorded' });

const authz = createChannel(endpoints.authz);
const admin = createClient(AdminServiceDefinition, authz, { '*': { metadata: Metadata({ authorization: `Bearer ${(await readFile(path.join(DATA, 'admin.key'), 'utf8')).trim()}` }) } });
const grant = await admin.grantBinding({
  subject: 'user:sarah@acme.com', role: '', actions: ['approvals:approve'], scope: 'org:acme/project:checkout/env:production',
  effect: Effect.EFFECT_ALLOW, condition: '', reason: 'sarah approves production changes from now on',
});
console.log(`service:acme-admin  grants approvals:approve to sarah in production → revision ${grant.revision}${grant.created ? '' : ' (already granted)'}`);
authz.close();

// The relay ships the grant within a moment; the flag service's events are already there.
await new Promise((resolve) => setTimeout(resolve, 1500));
const channel = createChannel(endpoints.audit);
// The audit service takes authz's credentials: the same admin key (an owner of acme may read its log).
const audit = createClient(AuditServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${(await readFile(path.join(DATA, 'admin.key'), 'utf8')).trim()}` }) } });
const events: StoredEvent[] = [];
for await (const page of audit.query({ filter: { org: 'acme', project: 'checkout', environment: 'production', actions: [] }, order: Order.ORDER_OLDEST_FIRST, pageSize: 100, limit: 0, cursor: '' })) {
  events.push(...page.events);
}
channel.close();

const show = (value: unknown) => {
  if (value === undefined) return '';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
};
console.log('\naudit timeline — org:acme / checkout / production (oldest first):\n');
console.log(['seq', 'occurred at (UTC)', 'actor', 'action', 'resource', 'before → after', 'reason'].join(' | '));
for (const { seq, signed } of events) {
  const e = signed!.event!;
  const resource = e.resource.replace('org:acme/project:checkout/env:production', '…/production');
  console.log([seq, e.occurredAt?.toISOString(), `${e.actor?.type}:${e.actor?.id}`, e.action, resource, `${show(e.before)} → ${show(e.after)}`, e.reason ?? ''].join(' | '));
}
