/**
 * `warden audit` against the real audit service (in process, chdb, gRPC on 127.0.0.1:0):
 * timeline, export, checkpoint, verify online, and offline verify of exported files.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditApp } from '@warden/audit/service';
import { runAudit } from './support/run-audit.js';
import { signBatch, signEvent } from '@warden/audit-events';
import { createProducer, startAuditService, tempDir } from './support/audit-service.js';

const flags = createProducer('flags', 'k1');
const FLAG = 'org:acme/project:checkout/env:production/flag:checkout-v2';

const run = runAudit;

describe('warden audit', () => {
  let app: AuditApp;
  let address: string;
  const dir = tempDir('warden-audit-cli');

  beforeAll(async () => {
    // Whether user:sre may read and export is the audit service's own test (authz-policy); here it may.
    app = await startAuditService({ dir, producers: [flags], apiKeys: [{ subject: 'user:sre@acme.com', key: 'sre-key' }] });
    address = app.address;
    const t = (min: number) => new Date(Date.UTC(2026, 10, 20, 14, min)).toISOString();
    const events = [
      flags.event({ occurredAt: t(2), actor: { type: 'user', id: 'alex@acme.com' }, resource: FLAG, before: { rollout: 0 }, after: { rollout: 25 } }),
      flags.event({ occurredAt: t(9), actor: { type: 'user', id: 'sarah@acme.com' }, resource: FLAG, before: { rollout: 25 }, after: { rollout: 50 } }),
      flags.event({ occurredAt: t(15), actor: { type: 'user', id: 'sarah@acme.com' }, action: 'flag.enabled', resource: FLAG, before: { enabled: false }, after: { enabled: true }, reason: 'go live' }),
      flags.event({ occurredAt: t(50), actor: { type: 'user', id: 'sam@acme.com' }, resource: 'org:acme/project:api/env:production/flag:x' }),
    ];
    const outcomes = await app.log.append(events.map((e) => ({ event: e, signature: signEvent(e, flags.privateKey) })));
    expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    await app.log.checkpointAll();
  });

  afterAll(async () => {
    await app?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('timeline prints readable lines', async () => {
    const { out, err } = await run(['timeline', '--address', address, '--org', 'acme', '--project', 'checkout', '--env', 'production', '--since', '2026-11-20T14:00:00Z', '--until', '2026-11-20T14:30:00Z', '--oldest']);
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^2026-11-20 14:02:00\.000 {2}user:alex@acme\.com +flag\.rollout_changed +org:acme\/project:checkout\/env:production\/flag:checkout-v2 {2}\{"rollout":0\} → \{"rollout":25\}$/);
    expect(lines[2]).toMatch(/user:sarah@acme\.com +flag\.enabled .* \{"enabled":false\} → \{"enabled":true\} {2}"go live"$/);
    expect(err).toBe('3 events\n');
  });

  it('export + checkpoint, then verify offline; an edited export fails at the edited seq', async () => {
    const file = join(dir, 'acme.jsonl');
    const note = join(dir, 'acme.checkpoint');
    await run(['export', '--address', address, '--org', 'acme', '--log-order', '--out', file]);
    const { err } = await run(['checkpoint', '--address', address, '--org', 'acme', '--out', note]);
    const vkey = /verifier key (\S+)/.exec(err)![1]!;
    const producers = join(dir, 'producers.json');
    writeFileSync(producers, JSON.stringify([{ producer: 'flags', keyId: 'k1', publicKey: flags.publicKeyB64 }]));
    const ok = await run(['verify', '--file', file, '--checkpoint', note, '--key', vkey, '--producer-keys', producers]);
    expect(ok.out).toBe('OK  4 events; checkpoint audit.warden.local/acme size 4 verified; producer signatures verified\n');
    expect(ok.code).toBe(0);
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual([0, 1, 2, 3]);
    const edited = lines.map((l) => (l.includes('"rollout":50') ? l.replace('"rollout":50', '"rollout":5') : l));
    const bad = join(dir, 'edited.jsonl');
    writeFileSync(bad, edited.join('\n') + '\n');
    const failed = await run(['verify', '--file', bad, '--checkpoint', note, '--key', vkey]);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/^FAILED {2}first problem at seq 1: \[edited\]/);
    const dropped = join(dir, 'dropped.jsonl');
    writeFileSync(dropped, lines.filter((_, i) => i !== 2).join('\n') + '\n');
    const missing = await run(['verify', '--file', dropped, '--checkpoint', note, '--key', vkey]);
    expect(missing.out).toMatch(/^FAILED {2}first problem at seq 2: \[missing\]/);
  });

  it('a filtered export with inclusion proofs verifies offline without the rest of the log', async () => {
    const file = join(dir, 'flag.jsonl');
    await run(['export', '--address', address, '--org', 'acme', '--resource', FLAG, '--oldest', '--with-proofs', '--out', file]);
    const { err } = await run(['checkpoint', '--address', address, '--org', 'acme']);
    const vkey = /verifier key (\S+)/.exec(err)![1]!;
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(JSON.parse(lines[0]!)).toHaveProperty('checkpoint');
    expect(lines).toHaveLength(4);
    const ok = await run(['verify', '--file', file, '--key', vkey]);
    expect(ok.out).toBe('OK  3 events proven by inclusion proofs; checkpoint audit.warden.local/acme size 4 verified (producer signatures not checked: pass --producer-keys)\n');
    const edited = join(dir, 'flag-edited.jsonl');
    writeFileSync(edited, lines.map((l) => l.replace('"go live"', '"went live"')).join('\n') + '\n');
    const failed = await run(['verify', '--file', edited, '--key', vkey]);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/^FAILED {2}first problem at seq 2: \[edited\]/);
    expect(failed.out).toMatch(/seq 2: \[root-mismatch\]/);
  });

  it('verify online', async () => {
    const { out, code } = await run(['verify', '--address', address, '--org', 'acme']);
    expect(out).toMatch(/^OK {2}4 events, 1 checkpoint roots verified, tree size 4/);
    expect(code).toBe(0);
  });
  it('a batch-signed log (org globex): verify offline, with proofs, and online accept it; a changed stored batch signature fails', async () => {
    const GLOBEX = 'org:globex/project:web/env:production/flag:search-v2';
    const events = Array.from({ length: 5 }, (_, i) =>
      flags.event({ occurredAt: new Date(Date.UTC(2026, 10, 21, 9, i)).toISOString(), actor: { type: 'user', id: 'sam@acme.com' }, resource: i === 4 ? 'org:globex/project:api/env:production/flag:x' : GLOBEX, after: { rollout: i } }),
    );
    const outcomes = await app.log.append(events.map((event) => ({ event, signature: undefined })), { batchSignature: signBatch(events, flags.privateKey) });
    expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('accepted'));
    await app.log.checkpointAll();
    const producers = join(dir, 'producers-globex.json');
    writeFileSync(producers, JSON.stringify([{ producer: 'flags', keyId: 'k1', publicKey: flags.publicKeyB64 }]));
    const file = join(dir, 'globex.jsonl');
    const note = join(dir, 'globex.checkpoint');
    await run(['export', '--address', address, '--org', 'globex', '--log-order', '--out', file]);
    const { err } = await run(['checkpoint', '--address', address, '--org', 'globex', '--out', note]);
    const vkey = /verifier key (\S+)/.exec(err)![1]!;
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    expect(lines.every((l) => (JSON.parse(l) as { signature: string }).signature.startsWith('batch-v1.'))).toBe(true);
    const ok = await run(['verify', '--file', file, '--checkpoint', note, '--key', vkey, '--producer-keys', producers]);
    expect(ok.out).toBe('OK  5 events; checkpoint audit.warden.local/globex size 5 verified; producer signatures verified\n');

    const proven = join(dir, 'globex-flag.jsonl');
    await run(['export', '--address', address, '--org', 'globex', '--resource', GLOBEX, '--oldest', '--with-proofs', '--out', proven]);
    const provenOk = await run(['verify', '--file', proven, '--key', vkey, '--producer-keys', producers]);
    expect(provenOk.out).toMatch(/^OK {2}4 events proven by inclusion proofs; checkpoint audit\.warden\.local\/globex size 5 verified/);
    expect(provenOk.code).toBe(0);

    // Another index in the stored batch form of seq 1: the producer signature no longer verifies (and the leaf no longer matches).
    const forged = join(dir, 'globex-forged.jsonl');
    writeFileSync(forged, lines.map((l, i) => (i === 1 ? l.replace('"batch-v1.1.5.', '"batch-v1.2.5.') : l)).join('\n') + '\n');
    const failed = await run(['verify', '--file', forged, '--checkpoint', note, '--key', vkey, '--producer-keys', producers]);
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/seq 1: \[bad-event-signature\]/);

    const online = await run(['verify', '--address', address, '--org', 'globex']);
    expect(online.out).toMatch(/^OK {2}5 events, 1 checkpoint roots verified, tree size 5/);
  });

  it('verifier-key prints the vkey of the signing key the service uses (what it reports, what pins it)', async () => {
    const printed = await run(['verifier-key', '--signing-key', join(dir, 'service', 'checkpoint-signing-key.pem')]);
    expect(printed.code).toBe(0);
    expect(printed.out.trim()).toBe(app.log.verifierKey);
    const other = await run(['verifier-key', '--signing-key', join(dir, 'service', 'checkpoint-signing-key.pem'), '--name', 'audit.example']);
    expect(other.out.trim()).toMatch(/^audit\.example\+[0-9a-f]{8}\+/);
    expect(other.out.trim()).not.toBe(app.log.verifierKey);
  });
});
