/**
 * Issue 16 item 3, the service side: the audit app (chdb embedded, real gRPC, development API keys
 * and an access-policy double) submits its checkpoints to `warden-witness` running as a separate process, and
 * serves the log as tlog-tiles over HTTP. Everything is checked by the independent C2SP
 * client of @warden/testkit (written from the spec texts): the log's signature and the
 * witness's cosignature/v1 on the published checkpoint, every tile and entry bundle
 * against the checkpoint root. Plus: a witness down does not stop the log and the next
 * checkpoint catches it up (409 → consistency proof); a restart keeps the cosigned copy;
 * the tiles need a caller with audit:read on the org.
 */
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, freePort, parseCheckpointText, parseVkey, startProcess, verifyCosignatureV1, verifyNoteSignature, verifyTiledLog, vkeyOf, type TestProcess } from '@warden/testkit';
import { startAuditApp, type AuditApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { chdbDriver, sharedDriver } from './support/chdb.js';
import type { AccessPolicy } from '../src/domain/ports.js';
import { createProducer } from './support/producer.js';
import { tempDir } from './support/temp.js';
import { parsePrometheus, sampleValue } from './support/prometheus.js';
import { startTelemetry, type Telemetry } from '@warden/service-kit';

const WITNESS_MAIN = fileURLToPath(new URL('../../../tools/witness/dist/main.js', import.meta.url));
const AUDIT_NAME = 'audit.test';
const WITNESS_NAME = 'witness.test/w1';
const flags = createProducer('flags', 'k1');
const auditKey = generateKeyPairSync('ed25519');
const dir = tempDir('warden-audit-witness');
const witnessKeyFile = join(dir, 'witness.pem');
/** user:sre may read org:acme and below; nobody else anything (what authz would answer for this test). */
const readAcme: AccessPolicy = {
  allowed: async (caller, action, scope) => caller.subject === 'user:sre@acme.com' && action === 'audit:read' && (scope === 'org:acme' || scope.startsWith('org:acme/')),
};
const database = `witness_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;

describe('checkpoints cosigned by an external witness; the log as tlog-tiles', () => {
  let witness: TestProcess | undefined;
  let witnessUrl: string;
  let witnessVkey: string;
  let app: AuditApp;
  let telemetry: Telemetry;

  let witnessPort: number;
  const startWitness = async () => {
    const port = witnessPort;
    const logVkey = vkeyOf(AUDIT_NAME, 0x01, auditKey.publicKey);
    witness = startProcess(process.execPath, [WITNESS_MAIN, 'serve', '--name', WITNESS_NAME, '--key-file', witnessKeyFile, '--state-dir', join(dir, 'witness-state'), '--listen', `127.0.0.1:${port}`, '--log', `${AUDIT_NAME}/* ${logVkey}`], { name: 'warden-witness' });
    await witness.waitForOutput(/listening on/);
  };

  const startApp = () => {
    const config = loadConfig(
      {
        AUDIT_DATA_DIR: join(dir, 'audit'),
        AUDIT_GRPC_ADDRESS: '127.0.0.1:0',
        AUDIT_HTTP_ADDRESS: '127.0.0.1:0',
        AUDIT_CLICKHOUSE_DATABASE: database,
        // Who callers are: development API keys; what they may read: the policy below (identity is issue 16 item 1's).
        AUDIT_AUTHZ_DISABLED: 'true',
        AUDIT_PRODUCER_KEYS_FILE: join(dir, 'producers.json'),
        AUDIT_API_KEYS_FILE: join(dir, 'api-keys.json'),
        AUDIT_SIGNING_KEY_FILE: join(dir, 'audit.pem'),
        AUDIT_SIGNING_KEY_NAME: AUDIT_NAME,
        AUDIT_ORIGIN_PREFIX: AUDIT_NAME,
        AUDIT_CHECKPOINT_EVERY: '1000000',
        AUDIT_CHECKPOINT_INTERVAL_MS: '3600000',
        AUDIT_WITNESSES: `${witnessUrl} ${witnessVkey}`,
        AUDIT_WITNESS_TIMEOUT_MS: '2000',
        AUDIT_WITNESS_RETRIES: '1',
        AUDIT_LOG_LEVEL: 'silent',
      },
      dir,
    );
    return startAuditApp(config, pino({ level: 'silent' }), { driver: sharedDriver(chdbDriver()), policy: readAcme });
  };

  const append = async (count: number) => {
    for (let done = 0; done < count; done += 100) {
      const outcomes = await app.log.append(Array.from({ length: Math.min(100, count - done) }, () => flags.signed()));
      expect(outcomes.every((o) => o.status === 'accepted')).toBe(true);
    }
  };

  /** The published checkpoint, once it has `size` leaves and (if asked) the witness's cosignature. */
  const published = (size: number, cosigned: boolean) =>
    eventually(
      () => {
        const note = app.log.latestCheckpoint('acme')?.note ?? '';
        if (parseCheckpointText(note).size !== size) throw new Error(`checkpoint size is not ${size} yet`);
        if (cosigned && verifyCosignatureV1(note, WITNESS_NAME, parseVkey(witnessVkey).publicKey) === undefined) throw new Error('not cosigned yet');
        return note;
      },
      { timeoutMs: 15_000, what: `checkpoint ${size}` },
    );

  const get = (path: string, key: string | null = 'sre-key') =>
    fetch(`http://${app.tlogAddress}/tlog/${path}`, { headers: key === null ? {} : { authorization: `Bearer ${key}` } });

  beforeAll(async () => {
    writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: flags.name, keyId: flags.keyId, publicKey: flags.publicKeyB64 }]));
    writeFileSync(join(dir, 'api-keys.json'), JSON.stringify([{ subject: 'user:sre@acme.com', key: 'sre-key' }, { subject: 'user:eve@acme.com', key: 'eve-key' }]));
    writeFileSync(join(dir, 'audit.pem'), auditKey.privateKey.export({ format: 'pem', type: 'pkcs8' }));
    witnessVkey = execFileSync(process.execPath, [WITNESS_MAIN, 'keygen', '--name', WITNESS_NAME, '--key-file', witnessKeyFile], { encoding: 'utf8' }).trim();
    telemetry = await startTelemetry({ serviceName: 'warden-audit', metrics: { host: '127.0.0.1', port: 0 } });
    witnessPort = await freePort();
    witnessUrl = `http://127.0.0.1:${witnessPort}`;
    await startWitness();
    app = await startApp();
  });

  afterAll(async () => {
    await app?.close();
    await witness?.stop();
    await telemetry?.shutdown();
  });

  it('publishes the checkpoint with the log signature and the witness cosignature (verified independently)', async () => {
    await append(300);
    await app.log.checkpointAll();
    const note = await published(300, true);
    expect(verifyNoteSignature(note, AUDIT_NAME, auditKey.publicKey)).toBe(true);
    expect(note.split('\n')[0]).toBe(`${AUDIT_NAME}/acme`);
    // The log's signature line comes first; the witness's follows.
    const lines = note.split('\n').filter((l) => l.startsWith('\u2014 '));
    expect(lines.map((l) => l.split(' ')[1])).toEqual([AUDIT_NAME, WITNESS_NAME]);
  });

  it('serves the cosigned checkpoint, tiles and entry bundles that verify against it (independent verifier)', async () => {
    const response = await get('acme/checkpoint');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8');
    const note = await response.text();
    expect(note).toBe(app.log.latestCheckpoint('acme')!.note);
    const { size, root } = parseCheckpointText(note);
    const entries = await verifyTiledLog(size, root, async (path) => {
      const r = await get(`acme/${path}`);
      if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      expect(r.headers.get('content-type')).toBe('application/octet-stream');
      return Buffer.from(await r.arrayBuffer());
    });
    expect(entries).toHaveLength(300);
    const first = JSON.parse(entries[0]!.toString('utf8')) as { seq: number; org: string; event: { producer: string } };
    expect(first).toMatchObject({ seq: 0, org: 'acme', event: { producer: 'flags' } });
  });

  it('tiles: 401 without a caller, 403 without audit:read on the org, 404 for a tile the checkpoint does not determine or a bad path', async () => {
    expect((await get('acme/checkpoint', null)).status).toBe(401);
    expect((await get('acme/checkpoint', 'eve-key')).status).toBe(403);
    expect((await get('globex/checkpoint')).status).toBe(403);
    expect((await get('acme/tile/0/001.p/45')).status).toBe(404);
    expect((await get('acme/tile/0/002')).status).toBe(404);
    expect((await get('acme/tile/0/x000/001')).status).toBe(404);
    expect((await get('acme/tile/64/000')).status).toBe(404);
    expect((await get('acme/tile/0/001.p/44')).status).toBe(200);
  });

  it('a witness that is down does not stop the log; the next checkpoint catches it up with a consistency proof', async () => {
    await witness!.stop();
    await append(20);
    await app.log.checkpointAll();
    const uncosigned = await published(320, false);
    expect(verifyCosignatureV1(uncosigned, WITNESS_NAME, parseVkey(witnessVkey).publicKey)).toBeUndefined();
    // The submission gives up (AUDIT_WITNESS_RETRIES=1, backoff 200 ms) and counts as failed before
    // the witness comes back; restarting it earlier would let the retry succeed instead.
    const failedLabels = { warden_witness: witnessUrl, outcome: 'failed' };
    await eventually(async () => expect(sampleValue(parsePrometheus(await (await fetch(telemetry.metricsUrl!)).text()), 'warden_audit_witness_submissions_total', failedLabels)).toBeGreaterThanOrEqual(1), {
      timeoutMs: 15_000,
      what: 'a failed witness submission on /metrics',
    });
    await startWitness();
    await app.close();
    app = await startApp(); // new process state: the service learns the witness's size from a 409
    await append(5);
    await app.log.checkpointAll();
    const note = await published(325, true);
    expect(verifyNoteSignature(note, AUDIT_NAME, auditKey.publicKey)).toBe(true);
    // On /metrics: the size the witness holds, how far behind it is, submissions by outcome.
    const m = parsePrometheus(await (await fetch(telemetry.metricsUrl!)).text());
    const labels = { warden_org: 'acme', warden_witness: witnessUrl };
    expect(sampleValue(m, 'warden_audit_witness_size', labels)).toBe(325);
    expect(sampleValue(m, 'warden_audit_witness_behind', labels)).toBe(0);
    for (const outcome of ['cosigned', 'conflict', 'failed']) {
      expect(sampleValue(m, 'warden_audit_witness_submissions_total', { warden_witness: witnessUrl, outcome }), outcome).toBeGreaterThanOrEqual(1);
    }
  });

  it('after a restart the cosigned copy of the newest checkpoint is the one served', async () => {
    const before = app.log.latestCheckpoint('acme')!.note;
    await app.close();
    app = await startApp();
    expect(app.log.latestCheckpoint('acme')!.note).toBe(before);
    expect(verifyCosignatureV1(before, WITNESS_NAME, parseVkey(witnessVkey).publicKey)).toBeGreaterThan(0);
  });
});
