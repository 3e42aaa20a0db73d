/**
 * `warden audit verify --witness-policy` (issue 16 item 3) against the audit service and
 * two `warden-witness`es, all run as separate processes (the built dists; chdb embedded in
 * the audit process). The attack of the issue: roll the log back (restore an older copy
 * of the service's data directory — ClickHouse and the local witness file alike — after
 * the witnesses cosigned a larger tree), delete the local witness file, restart. Plain
 * verify says OK (the local evidence is gone); verify with the policy fails, because a
 * witness on another machine has cosigned the larger tree. Also: a checkpoint without the
 * quorum the policy demands is refused; a healthy log passes.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path, { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createChannel, createClient } from 'nice-grpc';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditServiceDefinition } from '@warden/proto/audit/v1';
import { signedEventToProto } from '@warden/audit-events';
import { eventually, freePort, startProcess, vkeyOf, type TestProcess } from '@warden/testkit';
import { runAudit } from './support/run-audit.js';
import { createProducer } from './support/audit-service.js';

const require = createRequire(import.meta.url);
const AUDIT_MAIN = path.join(path.dirname(require.resolve('@warden/audit')), 'main.js');
const WITNESS_MAIN = fileURLToPath(new URL('../../witness/dist/main.js', import.meta.url));
const AUDIT_NAME = 'audit.test';
const flags = createProducer('flags', 'k1');
const auditKey = generateKeyPairSync('ed25519');
const AUDIT_VKEY = vkeyOf(AUDIT_NAME, 0x01, auditKey.publicKey);
const dir = mkdtempSync(join(tmpdir(), 'warden-cli-witness-'));
const dataDir = join(dir, 'audit');

type Witness = { name: string; vkey: string; url: string; process: TestProcess };

async function startWitness(name: string): Promise<Witness> {
  const keyFile = join(dir, `${name.replaceAll('/', '_')}.pem`);
  const vkey = execFileSync(process.execPath, [WITNESS_MAIN, 'keygen', '--name', name, '--key-file', keyFile], { encoding: 'utf8' }).trim();
  const port = await freePort();
  const p = startProcess(process.execPath, [WITNESS_MAIN, 'serve', '--name', name, '--key-file', keyFile, '--state-dir', join(dir, `${name.replaceAll('/', '_')}-state`), '--listen', `127.0.0.1:${port}`, '--log', `${AUDIT_NAME}/* ${AUDIT_VKEY}`], { name });
  await p.waitForOutput(/listening on/);
  return { name, vkey, url: `http://127.0.0.1:${port}`, process: p };
}

const run = runAudit;

describe('warden audit verify --witness-policy (audit and witnesses as processes)', () => {
  let w1: Witness;
  let w2: Witness;
  let audit: TestProcess | undefined;
  let address: string;

  const startAudit = async () => {
    address = `127.0.0.1:${await freePort()}`;
    audit = startProcess(process.execPath, [AUDIT_MAIN], {
      name: 'warden-audit',
      env: {
        AUDIT_DATA_DIR: dataDir,
        AUDIT_GRPC_ADDRESS: address,
        AUDIT_AUTHZ_DISABLED: 'true',
        AUDIT_PRODUCER_KEYS_FILE: join(dir, 'producers.json'),
        AUDIT_API_KEYS_FILE: join(dir, 'api-keys.json'),
        AUDIT_SIGNING_KEY_FILE: join(dir, 'audit.pem'),
        AUDIT_SIGNING_KEY_NAME: AUDIT_NAME,
        AUDIT_ORIGIN_PREFIX: AUDIT_NAME,
        AUDIT_CHECKPOINT_EVERY: '1000000',
        AUDIT_CHECKPOINT_INTERVAL_MS: '200',
        // Only w1 is configured on the service: a policy that demands w2 too is not met.
        AUDIT_WITNESSES: `${w1.url} ${w1.vkey}`,
        AUDIT_WITNESS_TIMEOUT_MS: '2000',
        AUDIT_METRICS_PORT: '0',
        AUDIT_LOG_LEVEL: 'info',
        OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      },
    });
    await audit.waitForOutput(/audit service listening/, { timeoutMs: 30_000 });
  };
  const stopAudit = async () => {
    await audit?.stop();
    audit = undefined;
  };
  const append = async (count: number) => {
    const channel = createChannel(address);
    try {
      const client = createClient(AuditServiceDefinition, channel);
      const response = await client.append({ events: Array.from({ length: count }, () => signedEventToProto(flags.event({ occurredAt: new Date().toISOString(), actor: { type: 'user', id: 'alex@acme.com' }, resource: 'org:acme/project:checkout/env:production/flag:checkout-v2' }), flags.privateKey)) });
      expect(response.results).toHaveLength(count);
    } finally {
      channel.close();
    }
  };
  /** Waits until the published checkpoint has `size` and w1's cosignature. */
  const cosigned = (size: number) =>
    eventually(
      async () => {
        const { err, out } = await run(['checkpoint', '--address', address, '--org', 'acme']);
        return err.startsWith(`tree size ${size},`) && out.includes(`\u2014 ${w1.name} `);
      },
      { timeoutMs: 20_000, what: `checkpoint ${size} cosigned by w1` },
    );
  const policy = (file: string, quorum: string) => {
    writeFileSync(
      join(dir, file),
      [`# witnesses of the acme audit log`, `log ${AUDIT_VKEY}`, `witness w1 ${w1.vkey} ${w1.url}`, `witness w2 ${w2.vkey} ${w2.url}`, quorum, ''].join('\n'),
    );
    return join(dir, file);
  };

  beforeAll(async () => {
    writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: flags.name, keyId: flags.keyId, publicKey: flags.publicKeyB64 }]));
    writeFileSync(join(dir, 'api-keys.json'), JSON.stringify([{ subject: 'user:sre@acme.com', key: 'sre-key' }]));
    writeFileSync(join(dir, 'audit.pem'), auditKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    [w1, w2] = await Promise.all([startWitness('witness.test/w1'), startWitness('witness.test/w2')]);
    await startAudit();
  });

  afterAll(async () => {
    await stopAudit();
    await Promise.all([w1?.process.stop(), w2?.process.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('a healthy log meets a 1-of-2 policy; a 2-of-2 policy is refused (w2 never cosigned)', async () => {
    await append(10);
    await cosigned(10);
    const any = await run(['verify', '--address', address, '--org', 'acme', '--witness-policy', policy('any.policy', 'group some any w1 w2\nquorum some')]);
    expect(any.out).toMatch(/^OK {2}10 events/);
    expect(any.err).toMatch(/witness quorum met \(cosigned by w1\)/);
    expect(any.code).toBe(0);
    // Fail closed: when the witnesses cannot be asked for their newest checkpoint, a rollback could hide behind them.
    const deadPort = await freePort();
    const unreachable = join(dir, 'unreachable.policy');
    writeFileSync(unreachable, readFileSync(policy('tmp.policy', 'group some any w1 w2\nquorum some'), 'utf8').replaceAll(/http:\/\/127\.0\.0\.1:\d+/g, `http://127.0.0.1:${deadPort}`));
    const closed = await run(['verify', '--address', address, '--org', 'acme', '--witness-policy', unreachable]);
    expect(closed.out).toMatch(/^FAILED {2}too few witnesses answered to meet the quorum "some"/);
    expect(closed.code).toBe(1);
    const both = await run(['verify', '--address', address, '--org', 'acme', '--witness-policy', policy('all.policy', 'group both all w1 w2\nquorum both')]);
    expect(both.out).toMatch(/^FAILED {2}the checkpoint \(size 10\) does not meet the witness policy: the witness quorum "both" is not met \(cosigned by: w1\)/);
    expect(both.code).toBe(1);
    // Offline: an export with proofs carries the cosigned checkpoint; the policy's log line stands in for --key.
    const file = join(dir, 'acme.jsonl');
    await run(['export', '--address', address, '--org', 'acme', '--with-proofs', '--out', file]);
    const offline = await run(['verify', '--file', file, '--witness-policy', join(dir, 'any.policy')]);
    expect(offline.out).toMatch(/^OK {2}10 events proven by inclusion proofs; checkpoint audit\.test\/acme size 10 verified/);
    expect(offline.code).toBe(0);
    const offlineBoth = await run(['verify', '--file', file, '--witness-policy', join(dir, 'all.policy')]);
    expect(offlineBoth.out).toMatch(/^FAILED {2}the checkpoint \(size 10\) does not meet the witness policy/);
    expect(offlineBoth.code).toBe(1);
  });

  it('a rollback with the local witness file deleted: plain verify says OK, verify with the policy fails through the witness', { timeout: 90_000 }, async () => {
    // A copy of the data directory at size 10 (service stopped), then the log grows to 12, cosigned by w1.
    await stopAudit();
    const backup = join(dir, 'backup');
    cpSync(dataDir, backup, { recursive: true });
    await startAudit();
    await append(2);
    await cosigned(12);
    await stopAudit();
    // The attack: restore the old copy, delete the local witness file, restart.
    rmSync(dataDir, { recursive: true, force: true });
    cpSync(backup, dataDir, { recursive: true });
    const localWitness = join(dataDir, 'witness', 'acme.checkpoint');
    expect(existsSync(localWitness)).toBe(true);
    rmSync(localWitness);
    await startAudit();
    const plain = await run(['verify', '--address', address, '--org', 'acme']);
    expect(plain.out).toMatch(/^OK {2}10 events/); // what the issue measured: nothing local remembers size 12
    const withPolicy = await run(['verify', '--address', address, '--org', 'acme', '--witness-policy', policy('any.policy', 'group some any w1 w2\nquorum some')]);
    expect(withPolicy.code).toBe(1);
    expect(withPolicy.out).toMatch(/^FAILED {2}witness w1 has cosigned tree size 12, larger than the log's checkpoint \(10\): the log was rolled back/);
    // The service itself noticed too: w1 refused its checkpoint of size 10 (409: it knows 12).
    await eventually(() => /a witness has cosigned a larger tree than this checkpoint/.test(audit!.log), { timeoutMs: 10_000, what: 'the rollback alarm in the service log' });
  });
});
