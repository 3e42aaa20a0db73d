/**
 * WatchService over real gRPC: history then live changes, resuming from a revision,
 * and a watcher that cannot keep up is cut off with RESOURCE_EXHAUSTED and told where
 * to resume, while another watcher carries on.
 */
import { ClientError, createChannel, createClient, Status, type Channel } from 'nice-grpc';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WatchServiceDefinition, type WatchResponse, type WatchServiceClient } from '@warden/proto/authz/v1/watch';
import { startAuthzApp, type AuthzApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { parseWorld } from '../src/domain/world.js';
import { PgChangeFeed, WatcherTooSlowError } from '../src/adapters/postgres/pg-change-feed.js';
import { applyWorld, deleteBinding } from '../src/adapters/postgres/pg-grant-writer.js';
import { createTestDatabase, type TestDatabase } from '@warden/testkit/vitest';

let db: TestDatabase;
let app: AuthzApp;
let channel: Channel;
let client: WatchServiceClient;

const world = (bindings: Array<{ subject: string; role: string; scope?: string }>) => parseWorld({ orgs: [{ id: 'acme', projects: [{ id: 'p', environments: [{ id: 'dev' }] }], bindings }] });

beforeAll(async () => {
  db = await createTestDatabase();
  await applyWorld(db.pool, world([{ subject: 'user:ann', role: 'env_writer', scope: 'project:p/env:dev' }]), { actor: 'system:test' });
  app = await startAuthzApp(
    loadConfig({ DATABASE_URL: db.url, AUTHZ_GRPC_PORT: '0', AUTHZ_HTTP_PORT: '0', AUTHZ_TRUST_LOOPBACK: 'true', AUTHZ_WATCH_MAX_BUFFERED: '5', AUTHZ_SHUTDOWN_GRACE_MS: '1000' }),
    pino({ level: 'silent' }),
  );
  channel = createChannel(app.grpcAddress);
  client = createClient(WatchServiceDefinition, channel);
});
afterAll(async () => {
  channel?.close();
  await app?.close();
  await db?.drop();
});

async function take(stream: AsyncIterator<WatchResponse>, n: number): Promise<WatchResponse[]> {
  const out: WatchResponse[] = [];
  while (out.length < n) {
    const next = await stream.next();
    if (next.done === true) break;
    out.push(next.value);
  }
  return out;
}

describe('WatchService', () => {
  it('sends history, a caught-up marker, then live changes; resumes from a revision', async () => {
    const abort = new AbortController();
    const stream = client.watch({ afterRevision: 0, fromNow: false }, { signal: abort.signal })[Symbol.asyncIterator]();
    const [history, marker] = await take(stream, 2);
    expect(history!.revision).toBe(1);
    expect(history!.changes.map((c) => c.kind)).toContain('binding.created');
    const created = history!.changes.find((c) => c.kind === 'binding.created')!;
    expect(created.after).toMatchObject({ subject: 'user:ann', role: 'env_writer' });
    expect(created.actor).toBe('system:test');
    expect(marker).toMatchObject({ caughtUp: true, revision: 1, changes: [] });

    const revoked = await deleteBinding(db.pool, created.key, { actor: 'user:admin', reason: 'offboarding' });
    const [live] = await take(stream, 1);
    expect(live).toMatchObject({ revision: revoked.revision, caughtUp: false });
    expect(live!.changes).toEqual([expect.objectContaining({ kind: 'binding.deleted', key: created.key, actor: 'user:admin', reason: 'offboarding', after: undefined })]);
    abort.abort();

    // Resume after revision 1: only the revoke, then the marker.
    const resumed = client.watch({ afterRevision: 1, fromNow: false })[Symbol.asyncIterator]();
    const [again, caughtUp] = await take(resumed, 2);
    expect(again!.revision).toBe(revoked.revision);
    expect(caughtUp).toMatchObject({ caughtUp: true, revision: revoked.revision });
    await resumed.return?.();
  });

  it('cuts off a watcher that falls too far behind with RESOURCE_EXHAUSTED and a resume revision', async () => {
    const stream = client.watch({ afterRevision: 0, fromNow: true })[Symbol.asyncIterator]();
    const [marker] = await take(stream, 1);
    expect(marker!.caughtUp).toBe(true);
    // One write of more changes than a watcher may have queued (AUTHZ_WATCH_MAX_BUFFERED=5).
    const subjects = Array.from({ length: 8 }, (_, i) => ({ subject: `user:u${i}`, role: 'env_reader', scope: 'project:p' }));
    await applyWorld(db.pool, world(subjects), { actor: 'system:test' });
    const error = await stream.next().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ClientError);
    expect((error as ClientError).code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((error as ClientError).details).toMatch(new RegExp(`resume with after_revision ${marker!.revision}$`));

    // A new watcher resuming from there gets the big write from the backlog (paged, not buffered).
    const resumed = client.watch({ afterRevision: marker!.revision, fromNow: false })[Symbol.asyncIterator]();
    const [big, caughtUp] = await take(resumed, 2);
    expect(big!.changes.filter((c) => c.kind === 'binding.created')).toHaveLength(8);
    expect(caughtUp!.caughtUp).toBe(true);
    await resumed.return?.();
  });

  it('a watcher that stops reading is cut off after maxBuffered changes; one that reads carries on', async () => {
    const feed = new PgChangeFeed({ pool: db.pool, notifier: app.grantCache, maxBuffered: 3 });
    const slowAbort = new AbortController();
    const fastAbort = new AbortController();
    const slow = feed.watch(0, true, slowAbort.signal);
    const fast = feed.watch(0, true, fastAbort.signal);
    try {
      expect((await slow.next()).value).toMatchObject({ caughtUp: true });
      expect((await fast.next()).value).toMatchObject({ caughtUp: true });
      let last = 0;
      for (let i = 0; i < 5; i++) {
        const written = await applyWorld(db.pool, world([{ subject: `user:slow${i}`, role: 'env_reader', scope: 'project:p' }]), { actor: 'system:test' });
        last = written.revision;
        // The fast watcher reads each revision as it comes.
        const next = await fast.next();
        expect(next.value).toMatchObject({ revision: last });
      }
      expect(await app.grantCache.waitForRevision(last, 2000)).toBe(true);
      const error = await slow.next().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(WatcherTooSlowError);
      expect((error as WatcherTooSlowError).message).toMatch(/more than 3 changes .* resume with after_revision \d+$/);
      expect(feed.watchers).toBe(1);
    } finally {
      slowAbort.abort();
      fastAbort.abort();
      await fast.return();
      feed.close();
    }
  });
});
