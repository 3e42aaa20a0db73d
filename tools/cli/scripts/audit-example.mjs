#!/usr/bin/env node
/**
 * The seed example end to end: starts the audit service (@warden/audit's dist/main.js,
 * chdb in a temporary folder, trust mode, no authz), appends the signed events of the
 * seed story through gRPC, then prints the production / checkout-v2 timeline with
 * `warden audit` and verifies the log.  Run after a build:  npm run audit-example -w @warden/cli
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createChannel, createClient } from 'nice-grpc';
import { v7 as uuidv7 } from 'uuid';
import { AuditServiceDefinition } from '@warden/proto/audit/v1';

const auditMain = join(dirname(createRequire(import.meta.url).resolve('@warden/audit')), 'main.js');
const { generateSigningKey, rawPublicKey, signEvent } = await import('@warden/audit-events');
const { createAuditCommand } = await import(resolve(import.meta.dirname, '..', 'dist', 'audit.js'));

const dir = mkdtempSync(join(tmpdir(), 'warden-audit-seed-'));
const flags = generateSigningKey();
const authz = generateSigningKey();
writeFileSync(join(dir, 'producers.json'), JSON.stringify([
  { producer: 'flags', keyId: 'flags-1', publicKey: rawPublicKey(flags.publicKey).toString('base64') },
  { producer: 'authz', keyId: 'authz-1', publicKey: rawPublicKey(authz.publicKey).toString('base64') },
]));
const address = `127.0.0.1:${52000 + Math.floor(Math.random() * 3000)}`;
const service = spawn(process.execPath, [auditMain], {
  cwd: dir,
  env: { PATH: process.env.PATH, AUDIT_GRPC_ADDRESS: address, AUDIT_AUTHZ_DISABLED: 'true', AUDIT_TRUST_SUBJECT_HEADER: 'true', AUDIT_PRODUCER_KEYS_FILE: 'producers.json', AUDIT_CHECKPOINT_EVERY: '4', AUDIT_LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
const channel = createChannel(address);
const client = createClient(AuditServiceDefinition, channel);

const PROD = 'org:acme/project:checkout/env:production';
const FLAG = `${PROD}/flag:checkout-v2`;
const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
const at = (hhmm) => new Date(`${day}T${hhmm}:00.000Z`);
const story = [
  [flags, 'flags', 'flags-1', at('14:02'), 'alex@acme.com', 'flag.rollout_changed', FLAG, { rollout: 0 }, { rollout: 25 }, 'canary'],
  [flags, 'flags', 'flags-1', at('14:09'), 'sarah@acme.com', 'flag.rollout_changed', FLAG, { rollout: 25 }, { rollout: 50 }, undefined],
  [authz, 'authz', 'authz-1', at('14:12'), 'admin@acme.com', 'binding.created', PROD, null, { subject: 'user:sarah@acme.com', role: 'release_manager' }, 'release duty'],
  [flags, 'flags', 'flags-1', at('14:15'), 'sarah@acme.com', 'flag.enabled', FLAG, { enabled: false }, { enabled: true }, undefined],
];
const events = story.map(([key, producer, keyId, occurred, actor, action, resource, before, after, reason]) => {
  const event = { id: uuidv7(), occurredAt: occurred.toISOString(), actor: { type: 'user', id: actor }, action, resource, before, after, producer, keyId, ...(reason ? { reason } : {}) };
  return { event: { ...event, occurredAt: occurred }, signature: signEvent(event, key.privateKey) };
});
for (let i = 0; ; i += 1) {
  try {
    const response = await client.append({ events });
    process.stdout.write(`# appended through gRPC Append: ${response.results.map((r) => `seq ${r.seq}`).join(', ')}\n`);
    break;
  } catch (error) {
    if (i > 100) throw error;
    await sleep(100);
  }
}
const io = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stdout.write(t), env: {}, setExitCode: (c) => (process.exitCode = c) };
const run = (...args) => createAuditCommand(io).parseAsync(['node', 'warden audit', ...args, '--address', address, '--as', 'user:sre@acme.com']);
process.stdout.write(`$ warden audit timeline --org acme --project checkout --env production --since ${day}T14:00Z --until ${day}T14:30Z --oldest\n`);
await run('timeline', '--org', 'acme', '--project', 'checkout', '--env', 'production', '--since', `${day}T14:00Z`, '--until', `${day}T14:30Z`, '--oldest');
process.stdout.write('$ warden audit verify --org acme\n');
await run('verify', '--org', 'acme');
channel.close();
service.kill('SIGTERM');
