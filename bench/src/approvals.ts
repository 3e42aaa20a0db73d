/**
 * Issue 15's figure: the open → approve → apply round trip of a change request over gRPC on
 * loopback (authz in this process on a real Postgres: each step is one governed write —
 * judged, changelog, outbox, NOTIFY — in its own transaction). Production checkout of the acme
 * world requires approval; service:requester (release_manager there) opens and applies,
 * service:approver (approvals:approve) approves, each with its own API key.
 * Usage: npm run approvals -w @warden/bench [-- --rounds 200]
 * Env: BENCH_PG_URL (default WARDEN_TEST_PG_URL, else postgres://postgres@127.0.0.1:5432/postgres)
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as hdr from 'hdr-histogram-js';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { pino } from 'pino';
import { changeContentHash } from '@warden/audit-events';
import { loadConfig, migrate, startAuthzApp } from '@warden/authz';
import { Effect } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { ApprovalsServiceDefinition, RequestState } from '@warden/proto/authz/v1/approvals';
import { createDatabase, pgAdminUrl } from '@warden/testkit';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '200' } } });
const ROUNDS = Number(values.rounds);
const WORLD = fileURLToPath(new URL('../../examples/acme.yaml', import.meta.url));
const PROD = 'org:acme/project:checkout/env:production';

const db = await createDatabase({ adminUrl: process.env['BENCH_PG_URL'] ?? pgAdminUrl(), prefix: 'warden_bench_', poolMax: 2 });
const dir = await mkdtemp(path.join(tmpdir(), 'warden-bench-approvals-'));
await migrate(db.pool);
const app = await startAuthzApp(
  loadConfig({
    DATABASE_URL: db.url, AUTHZ_GRPC_PORT: '0', AUTHZ_HTTP_PORT: '0', AUTHZ_METRICS_PORT: '0', AUTHZ_WORLD_FILE: WORLD,
    AUTHZ_BOOTSTRAP_KEY_FILE: path.join(dir, 'owner.key'), AUTHZ_BOOTSTRAP_KEY_SUBJECT: 'service:acme-admin', AUTHZ_BOOTSTRAP_KEY_ORG: 'acme',
  }),
  pino({ level: 'warn' }),
);
const channel = createChannel(app.grpcAddress);
const clients = (key: string) => {
  const defaults = { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } };
  return { admin: createClient(AdminServiceDefinition, channel, defaults), approvals: createClient(ApprovalsServiceDefinition, channel, defaults) };
};
try {
  const owner = clients((await readFile(path.join(dir, 'owner.key'), 'utf8')).trim());
  await owner.admin.putResource({
    path: PROD,
    settings: { protected: true, sensitiveActions: ['flags:enable', 'flags:rollout', 'variables:write', 'secrets:reveal'], protectedRoles: ['owner', 'admin', 'release_manager'], requireApproval: true, approvalActions: [], showValuesToReaders: false },
    reason: 'bench',
  });
  await owner.admin.grantBinding({ subject: 'service:requester', role: 'release_manager', actions: [], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'bench' });
  await owner.admin.grantBinding({ subject: 'service:approver', role: '', actions: ['approvals:approve'], scope: PROD, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'bench' });
  const requester = clients((await owner.admin.createApiKey({ org: 'acme', subject: 'service:requester', description: 'bench', reason: 'bench' })).key).approvals;
  const approver = clients((await owner.admin.createApiKey({ org: 'acme', subject: 'service:approver', description: 'bench', reason: 'bench' })).key).approvals;

  const histograms = { round: hdr.build(), open: hdr.build(), approve: hdr.build(), apply: hdr.build() };
  const us = (t: bigint) => Number(process.hrtime.bigint() - t) / 1000;
  for (let i = -20; i < ROUNDS; i++) {
    const change = { action: 'flags:enable', resource: `${PROD}/flag:f${i}`, before: { enabled: false }, after: { enabled: true, n: i } };
    const t0 = process.hrtime.bigint();
    const { request } = await requester.openChangeRequest({ ...change, reason: 'bench', ticket: '', requester: '', ttlSeconds: 0 });
    const t1 = process.hrtime.bigint();
    await approver.approveRequest({ id: request!.id, reason: '' });
    const t2 = process.hrtime.bigint();
    const applied = await requester.applyRequest({ id: request!.id, contentHash: changeContentHash(change), requester: '' });
    if (applied.request!.state !== RequestState.REQUEST_STATE_APPLIED) throw new Error('not applied');
    if (i < 0) continue; // warm-up
    histograms.round.recordValue(us(t0));
    histograms.open.recordValue(Number(t1 - t0) / 1000);
    histograms.approve.recordValue(Number(t2 - t1) / 1000);
    histograms.apply.recordValue(us(t2));
  }
  const ms = (h: hdr.Histogram, p: number) => (h.getValueAtPercentile(p) / 1000).toFixed(1);
  console.log(`change request round trip over gRPC (loopback, ${ROUNDS} rounds, one at a time):`);
  console.log('| step | p50 ms | p99 ms |');
  console.log('|---|---|---|');
  for (const [name, h] of Object.entries(histograms)) console.log(`| ${name === 'round' ? 'open → approve → apply' : name} | ${ms(h, 50)} | ${ms(h, 99)} |`);
} finally {
  channel.close();
  await app.close();
  await db.drop();
  await rm(dir, { recursive: true, force: true });
}
