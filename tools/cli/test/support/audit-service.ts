/**
 * The real audit service for the CLI tests, started in process through its public entry
 * (`@warden/audit/service`, a dev dependency): chdb under a temporary folder, gRPC on
 * 127.0.0.1:0, API keys from a file, authorization by authz switched off (the service's
 * own tests cover it). Plus a producer that signs events with its own Ed25519 key.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { generateSigningKey, rawPublicKey, type AuditEvent } from '@warden/audit-events';
import { loadConfig, startAuditApp, type AuditApp } from '@warden/audit/service';

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

export type TestProducer = ReturnType<typeof createProducer>;

/** A producer with its own Ed25519 key; `event` fills in the id, the producer and a default action. */
export function createProducer(name: string, keyId: string) {
  const { privateKey, publicKey } = generateSigningKey();
  const event = (fields: Pick<AuditEvent, 'occurredAt' | 'actor' | 'resource'> & Partial<AuditEvent>): AuditEvent => ({
    id: uuidv7(),
    action: 'flag.rollout_changed',
    producer: name,
    keyId,
    ...fields,
  });
  return { name, keyId, privateKey, publicKeyB64: rawPublicKey(publicKey).toString('base64'), event };
}

export async function startAuditService(options: {
  dir: string;
  producers: readonly TestProducer[];
  apiKeys: readonly { subject: string; key: string }[];
}): Promise<AuditApp> {
  const dir = join(options.dir, 'service');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'producers.json'), JSON.stringify(options.producers.map((p) => ({ producer: p.name, keyId: p.keyId, publicKey: p.publicKeyB64 }))));
  writeFileSync(join(dir, 'api-keys.json'), JSON.stringify(options.apiKeys));
  const config = loadConfig(
    {
      AUDIT_DATA_DIR: dir,
      AUDIT_GRPC_ADDRESS: '127.0.0.1:0',
      AUDIT_AUTHZ_DISABLED: 'true',
      AUDIT_PRODUCER_KEYS_FILE: 'producers.json',
      AUDIT_API_KEYS_FILE: 'api-keys.json',
      AUDIT_CHECKPOINT_EVERY: '3',
      AUDIT_LOG_LEVEL: 'silent',
    },
    dir,
  );
  return startAuditApp(config, pino({ level: 'silent' }));
}
