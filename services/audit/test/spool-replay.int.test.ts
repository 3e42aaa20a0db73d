/**
 * The app's spool replay loop (app.ts), on chdb with a store that can be cut: while
 * ClickHouse fails, the spool is retried from AUDIT_SPOOL_RETRY_MS, backing off (the one
 * backoff of @warden/service-kit) instead of hammering it; once it is back, the loop
 * replays the spool by itself and the service leaves degraded mode.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { AuditStore } from '../src/domain/ports.js';
import { chdbDriver, sharedDriver } from './support/chdb.js';
import { faulty, type FaultyStore } from './support/faulty-store.js';
import { createProducer } from './support/producer.js';
import { tempDir } from './support/temp.js';

const flags = createProducer('flags', 'k1');
let app: AuditApp;
let store: FaultyStore;
/** Calls of findIds: each spool replay attempt starts with one. */
let replayAttempts = 0;

beforeAll(async () => {
  const dir = tempDir('warden-audit-spool-replay');
  writeFileSync(join(dir, 'producers.json'), JSON.stringify([{ producer: flags.name, keyId: flags.keyId, publicKey: flags.publicKeyB64 }]));
  const config = loadConfig(
    {
      AUDIT_DATA_DIR: dir,
      AUDIT_GRPC_ADDRESS: '127.0.0.1:0',
      AUDIT_CLICKHOUSE_DATABASE: `replay_${process.pid}_${Math.random().toString(36).slice(2, 8)}`,
      AUDIT_AUTHZ_DISABLED: 'true',
      AUDIT_PRODUCER_KEYS_FILE: 'producers.json',
      AUDIT_SPOOL_RETRY_MS: '50',
      AUDIT_CHECKPOINT_INTERVAL_MS: '86400000',
      AUDIT_LOG_LEVEL: 'silent',
    },
    dir,
  );
  const { startAuditApp } = await import('../src/app.js');
  app = await startAuditApp(config, pino({ level: 'silent' }), {
    driver: sharedDriver(chdbDriver()),
    wrapStore: (inner): AuditStore => {
      store = faulty(inner);
      const counted = Object.create(store) as AuditStore;
      counted.findIds = (ids, options) => {
        replayAttempts += 1;
        return store.findIds(ids, options);
      };
      return counted;
    },
  });
});
afterAll(async () => app?.close());

describe('spool replay loop', () => {
  it('backs off while the store fails, then replays by itself once it is back', async () => {
    store.down = true;
    const outcomes = await app.log.append(Array.from({ length: 3 }, () => flags.signed()));
    expect(outcomes.map((o) => o.status)).toEqual(['accepted', 'accepted', 'accepted']);
    // Acknowledged from the write-ahead spool; the store write behind it fails within AUDIT_FLUSH_INTERVAL_MS.
    for (let i = 0; i < 100 && !app.log.degraded; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(app.log.degraded).toBe(true);

    replayAttempts = 0;
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // Every 50 ms would be ~30 attempts; 50, 100, 200, 400, 500… is about five.
    expect(replayAttempts).toBeGreaterThanOrEqual(2);
    expect(replayAttempts).toBeLessThanOrEqual(10);
    expect(app.log.degraded).toBe(true);

    store.down = false;
    for (let i = 0; i < 100 && app.log.degraded; i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(app.log.degraded).toBe(false);
    const ids = outcomes.map((o) => o.id).sort();
    expect([...(await store.findIds(ids)).keys()].sort()).toEqual(ids);
  });
});
