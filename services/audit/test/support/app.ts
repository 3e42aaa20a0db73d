/** Starts the real audit app (config → chdb → gRPC on 127.0.0.1:0), its callers authenticated by `authzAddress`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { startAuditApp, type AuditApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { chdbDriver, sharedDriver } from './chdb.js';
import type { TestProducer } from './producer.js';
import { tempDir } from './temp.js';
import { AUDIT_SERVICE_CREDENTIAL } from './authz-double.js';

export async function startTestApp(options: {
  producers: readonly TestProducer[];
  authzAddress: string;
  env?: Record<string, string>;
}): Promise<AuditApp & { dir: string }> {
  const dir = tempDir('warden-audit-app');
  writeFileSync(join(dir, 'producers.json'), JSON.stringify(options.producers.map((p) => ({ producer: p.name, keyId: p.keyId, publicKey: p.publicKeyB64 }))));
  writeFileSync(join(dir, 'audit.credential'), `${AUDIT_SERVICE_CREDENTIAL}\n`, { mode: 0o600 });
  const config = loadConfig(
    {
      AUDIT_DATA_DIR: dir,
      AUDIT_GRPC_ADDRESS: '127.0.0.1:0',
      AUDIT_CLICKHOUSE_DATABASE: `app_${process.pid}_${Math.random().toString(36).slice(2, 8)}`,
      AUDIT_AUTHZ_ADDRESS: options.authzAddress,
      AUDIT_PRODUCER_KEYS_FILE: 'producers.json',
      AUDIT_AUTHZ_CREDENTIAL_FILE: 'audit.credential',
      AUDIT_CHECKPOINT_EVERY: '3',
      AUDIT_LOG_LEVEL: 'silent',
      ...options.env,
    },
    dir,
  );
  const app = await startAuditApp(config, pino({ level: 'silent' }), { driver: sharedDriver(chdbDriver()) });
  return Object.assign(app, { dir });
}
