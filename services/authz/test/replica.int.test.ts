/**
 * Check misses read a real Postgres streaming replica (test/support/replica.ts: a primary
 * and a hot standby made with pg_basebackup, streaming) — never a second ordinary database:
 *   (a) cache-miss fills go to the standby, nothing to the primary;
 *   (b) with replay paused on the standby, a revoke on the primary is refused at once (no
 *       stale allow from the standby's older snapshot); those fills fall back to the primary,
 *       while untouched units are still served by the paused standby;
 *   (c) after replay resumes, fills go to the standby again, revoked units included;
 *   (d) standby down → Checks answer from the primary; back → fills go to it again;
 *   and the app wiring: AUTHZ_DATABASE_READ_URL, /readyz, a URL that is not a replica refused.
 * If this machine cannot run a replica, beforeAll fails with the reason: never a skip.
 */
import { currentRevision } from '../src/adapters/postgres/pg-revision.js';
import { TRUSTED_LOCAL } from '../src/domain/caller.js';
import { pino } from 'pino';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAuthzApp } from '../src/app.js';
import { createAuthorizer, type Authorizer } from '../src/usecases/check.js';
import { loadConfig } from '../src/config.js';
import type { CheckInput, Consistency } from '../src/domain/model.js';
import { parseWorld } from '../src/domain/world.js';
import { CachedGrantSource, type CachedGrantSourceOptions } from '../src/adapters/cache/cached-grant-source.js';
import { migrate } from '../src/adapters/postgres/migrations.js';
import { PgGrantStore } from '../src/adapters/postgres/pg-grant-store.js';
import { applyWorld, deleteBinding, type WriteResult } from '../src/adapters/postgres/pg-grant-writer.js';
import { eventually } from '@warden/testkit';
import { startStreamingReplica, type StreamingReplica } from './support/replica.js';

let cluster: StreamingReplica;
let primary: pg.Pool;
let standby: pg.Pool;
let truth: Authorizer;
/** Connections checked out of each pool: every pool.query is one. */
const acquired = { primary: 0, standby: 0 };
const warnings: string[] = [];
const closers: Array<() => Promise<void>> = [];

const WRITE: CheckInput = { subject: 'user:ann', action: 'variables:write', resource: 'org:acme/project:p/env:dev/variable:X' };
const READ: CheckInput = { subject: 'user:ann', action: 'flags:read', resource: 'org:acme/project:p/env:prod/flag:f' };
const BOB: CheckInput = { subject: 'user:bob', action: 'flags:read', resource: 'org:acme/project:p/env:dev/flag:g' };
const CY: CheckInput = { subject: 'user:cy', action: 'variables:write', resource: 'org:acme/project:p/env:dev/variable:X' };
const DEE: CheckInput = { subject: 'user:dee', action: 'flags:read', resource: 'org:acme/project:p/env:dev/flag:h' };

beforeAll(async () => {
  cluster = await startStreamingReplica();
  const admin = new pg.Client({ connectionString: cluster.primary.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE warden');
  await admin.query('CREATE DATABASE warden_app');
  await admin.end();
  primary = new pg.Pool({ connectionString: cluster.primary.url('warden'), max: 5 });
  standby = new pg.Pool({ connectionString: cluster.standby.url('warden'), max: 5, connectionTimeoutMillis: 2_000 });
  // The standby is stopped in (d): its idle connections end with an error event.
  primary.on('error', () => undefined);
  standby.on('error', () => undefined);
  primary.on('acquire', () => acquired.primary++);
  standby.on('acquire', () => acquired.standby++);
  await migrate(primary);
  await applyWorld(
    primary,
    parseWorld({
      orgs: [
        {
          id: 'acme',
          groups: [{ id: 'eng', members: ['user:ann'] }],
          projects: [{ id: 'p', environments: [{ id: 'dev' }, { id: 'prod', protected: true }] }],
          bindings: [
            { subject: 'user:ann', role: 'env_writer', scope: 'project:p/env:dev' },
            { subject: 'group:eng', role: 'env_reader', scope: 'project:p' },
            { subject: 'user:bob', role: 'viewer' },
            { subject: 'user:dee', role: 'viewer' },
          ],
        },
      ],
    }),
    { actor: 'system:test' },
  );
  await cluster.waitForReplay();
  truth = createAuthorizer({ source: new PgGrantStore(primary) });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await primary?.end().catch(() => undefined);
  await standby?.end().catch(() => undefined);
  await cluster?.stop();
});

/** An authz process: its own cache, fills on the standby, everything else on the primary. */
async function authzProcess(options: Partial<CachedGrantSourceOptions> = {}): Promise<{ source: CachedGrantSource; authorizer: Authorizer }> {
  const source = new CachedGrantSource({
    pool: primary,
    readPool: standby,
    databaseUrl: cluster.primary.url('warden'),
    heartbeatMs: 100,
    maxStalenessMs: 5_000,
    onWarning: (message) => warnings.push(message),
    ...options,
  });
  await source.start();
  closers.push(() => source.close());
  return { source, authorizer: createAuthorizer({ source }) };
}

async function expectTruth(authorizer: Authorizer, input: CheckInput, consistency?: Consistency): Promise<string> {
  const [got, want] = await Promise.all([authorizer.check(TRUSTED_LOCAL, input, { consistency: consistency }), truth.check(TRUSTED_LOCAL, input, { consistency: { kind: 'fully_consistent' } })]);
  expect(got.decision, `${input.subject} ${input.action} ${input.resource}`).toBe(want.decision);
  return got.decision;
}

async function grantCy(): Promise<WriteResult> {
  return applyWorld(primary, parseWorld({ orgs: [{ id: 'acme', bindings: [{ subject: 'user:cy', role: 'env_writer', scope: 'project:p/env:dev' }] }] }), { actor: 'system:test' });
}

async function revokeCy(granted: WriteResult): Promise<WriteResult> {
  const created = granted.changes.find((c) => c.kind === 'binding.created');
  if (created === undefined) throw new Error('the grant created no binding');
  return deleteBinding(primary, created.key, { actor: 'user:admin', reason: 'offboarding' });
}

function standbyRevision(): Promise<number> {
  return currentRevision(standby);
}

/** Fills that read the primary (all fills minus those the standby answered). */
const primaryFills = (source: CachedGrantSource) => source.stats().pgFills - source.stats().readReplicaFills;

// The processes live across the steps: (b) and (c) continue what the previous step left.
let writer: Awaited<ReturnType<typeof authzProcess>>;
let other: Awaited<ReturnType<typeof authzProcess>>;
let granted: WriteResult;

describe('Check misses on a Postgres streaming replica', () => {
  it('the standby is a real streaming replica (in recovery, streaming, read-only)', async () => {
    const { rows } = await standby.query<{ recovery: boolean; status: string }>(
      'SELECT pg_is_in_recovery() AS recovery, (SELECT status FROM pg_stat_wal_receiver) AS status',
    );
    expect(rows[0]).toEqual({ recovery: true, status: 'streaming' });
    const senders = await primary.query<{ state: string }>('SELECT state FROM pg_stat_replication');
    expect(senders.rows.map((r) => r.state)).toEqual(['streaming']);
    await expect(standby.query('UPDATE warden_revision SET revision = revision')).rejects.toThrow(/read-only transaction/);
    expect(await standbyRevision()).toBeGreaterThan(0);
  });

  it('(a) cache-miss fills go to the standby; nothing reads the primary', async () => {
    writer = await authzProcess();
    const before = { ...acquired };
    for (const input of [WRITE, READ, BOB]) expect(await writer.authorizer.check(TRUSTED_LOCAL, input).then((r) => r.decision)).toBe('ALLOW');
    const stats = writer.source.stats();
    expect(stats.pgFills).toBeGreaterThan(0);
    expect(stats.readReplicaFills).toBe(stats.pgFills);
    expect(stats.readReplicaLagged).toBe(0);
    expect(stats.readReplicaErrors).toBe(0);
    expect(stats.readReplicaRevision).toBe(writer.source.appliedRevision);
    expect(acquired.standby - before.standby).toBe(stats.readReplicaFills);
    expect(acquired.primary - before.primary).toBe(0);
    // Now cached: no read anywhere.
    const fills = stats.pgFills;
    for (const input of [WRITE, READ, BOB]) await expectTruth(writer.authorizer, input);
    expect(writer.source.stats().pgFills).toBe(fills);
  });

  it('(b) replay paused: a revoke on the primary is refused at once; those fills read the primary', async () => {
    other = await authzProcess();
    granted = await grantCy();
    writer.source.noteWrite(granted);
    await cluster.waitForReplay();
    expect(await other.source.waitForRevision(granted.revision, 2_000)).toBe(true);
    const fills0 = [writer.source.stats().readReplicaFills, other.source.stats().readReplicaFills];
    expect((await writer.authorizer.check(TRUSTED_LOCAL, CY)).decision).toBe('ALLOW');
    expect((await other.authorizer.check(TRUSTED_LOCAL, CY)).decision).toBe('ALLOW');
    expect([writer.source.stats().readReplicaFills, other.source.stats().readReplicaFills]).toEqual(fills0.map((n) => n + 1));

    await cluster.pauseReplay();
    const revoked = await revokeCy(granted);
    writer.source.noteWrite(revoked);
    // The standby is stale: it still holds the binding, at an older revision.
    const still = await standby.query<{ n: number }>('SELECT count(*)::int AS n FROM bindings WHERE subject = $1', ['user:cy']);
    expect(still.rows[0]!.n).toBe(1);
    const paused = await standbyRevision();
    expect(paused).toBeLessThan(revoked.revision);

    // The writing process: DENY on its next Check. One read on the standby (refused: older
    // than the revoke), then the primary — not a loop.
    const w0 = writer.source.stats();
    const p0 = acquired.primary;
    expect((await writer.authorizer.check(TRUSTED_LOCAL, CY)).decision).toBe('DENY');
    const w1 = writer.source.stats();
    expect(w1.readReplicaLagged).toBe(w0.readReplicaLagged + 1);
    expect(w1.readReplicaFills).toBe(w0.readReplicaFills + 1);
    expect(primaryFills(writer.source)).toBe(w0.pgFills - w0.readReplicaFills + 1);
    expect(acquired.primary).toBeGreaterThan(p0);

    // Another process, with the revoke's revision: DENY at once (catch-up and fill on the primary).
    expect((await other.authorizer.check(TRUSTED_LOCAL, CY, { consistency: { kind: 'at_least_revision', revision: revoked.revision } })).decision).toBe('DENY');
    // … and with no revision asked, once the revoke is applied there: never the standby's stale ALLOW.
    expect(await other.source.waitForRevision(revoked.revision, 2_000)).toBe(true);
    for (let i = 0; i < 5; i++) expect((await other.authorizer.check(TRUSTED_LOCAL, CY)).decision).toBe('DENY');
    expect((await other.authorizer.check(TRUSTED_LOCAL, CY, { consistency: { kind: 'fully_consistent' } })).decision).toBe('DENY');

    // A process started now (its floor is the revoke): the paused standby cannot prove anything
    // current, so one refused read there, then the primary; later fills skip the standby.
    const fresh = await authzProcess();
    expect((await fresh.authorizer.check(TRUSTED_LOCAL, CY)).decision).toBe('DENY');
    expect(fresh.source.stats().readReplicaLagged).toBe(1);
    expect(fresh.source.stats().readReplicaRevision).toBe(paused);
    const freshReplicaFills = fresh.source.stats().readReplicaFills;
    await expectTruth(fresh.authorizer, DEE);
    expect(fresh.source.stats().readReplicaFills).toBe(freshReplicaFills);
    expect(fresh.source.stats().readReplicaLagged).toBe(1);

    // Units the revoke did not touch are still served by the paused standby (proven current).
    const before = writer.source.stats();
    expect(await expectTruth(writer.authorizer, DEE)).toBe('ALLOW');
    const after = writer.source.stats();
    expect(after.readReplicaFills).toBe(before.readReplicaFills + 1);
    expect(after.readReplicaLagged).toBe(before.readReplicaLagged);
    expect(after.pgFills).toBe(before.pgFills + 1);
    granted = revoked;
  });

  it('(c) replay resumed: fills go to the standby again, revoked units included', async () => {
    await cluster.resumeReplay();
    await cluster.waitForReplay();
    const regranted = await grantCy();
    writer.source.noteWrite(regranted);
    await cluster.waitForReplay();
    await new Promise((r) => setTimeout(r, 150)); // past one heartbeat: a probe of the standby is due
    // The standby was last seen behind: this fill reads the primary and probes the standby.
    expect((await writer.authorizer.check(TRUSTED_LOCAL, CY)).decision).toBe('ALLOW');
    await eventually(() => writer.source.stats().readReplicaRevision >= regranted.revision, { what: 'the probe sees the standby caught up', timeoutMs: 3_000 });

    // Revoke again: with replay running, the refill of the revoked unit is the standby's.
    const revoked = await revokeCy(regranted);
    writer.source.noteWrite(revoked);
    await cluster.waitForReplay();
    const before = writer.source.stats();
    expect((await writer.authorizer.check(TRUSTED_LOCAL, CY)).decision).toBe('DENY');
    const after = writer.source.stats();
    expect(after.readReplicaFills).toBe(before.readReplicaFills + 1);
    expect(after.pgFills).toBe(before.pgFills + 1);
    expect(after.readReplicaLagged).toBe(before.readReplicaLagged);

    // A new process reads everything from the standby, no refusal.
    const fresh = await authzProcess();
    for (const input of [WRITE, READ, BOB, CY, DEE]) await expectTruth(fresh.authorizer, input);
    const stats = fresh.source.stats();
    expect(stats.readReplicaFills).toBe(stats.pgFills);
    expect(stats.readReplicaLagged).toBe(0);
  });

  it('(d) standby down: Checks answer from the primary; back up: fills read it again', async () => {
    const warm = writer;
    await cluster.stopStandby();
    const cold = await authzProcess();
    const started = performance.now();
    for (const input of [WRITE, READ, BOB, CY, DEE]) await expectTruth(cold.authorizer, input);
    expect(performance.now() - started).toBeLessThan(3_000);
    const stats = cold.source.stats();
    expect(stats.readReplicaErrors).toBeGreaterThanOrEqual(1);
    // One failed read on the standby; after it, misses go straight to the primary (probes aside).
    expect(stats.readReplicaFills).toBe(1);
    expect(stats.pgFills - stats.readReplicaFills).toBeGreaterThan(0);
    expect(warnings.some((w) => w.includes('read replica could not be read'))).toBe(true);

    // A warm process: a write invalidates, the refill cannot use the standby, the primary answers.
    const regranted = await grantCy();
    warm.source.noteWrite(regranted);
    expect(await expectTruth(warm.authorizer, CY)).toBe('ALLOW');
    expect(await expectTruth(warm.authorizer, CY, { kind: 'at_least_revision', revision: regranted.revision })).toBe('ALLOW');
    expect(await expectTruth(warm.authorizer, CY, { kind: 'fully_consistent' })).toBe('ALLOW');

    await cluster.startStandby();
    await cluster.waitForReplay();
    await new Promise((r) => setTimeout(r, 150));
    // Misses route to the primary and probe the standby; once the probe saw it, misses read it.
    const revoked = await revokeCy(regranted);
    warm.source.noteWrite(revoked);
    await cluster.waitForReplay();
    let probe = 0;
    await eventually(
      async () => {
        const before = warm.source.stats().readReplicaFills;
        const input: CheckInput = { ...DEE, resource: `org:acme/project:p/env:dev/flag:probe-${++probe}` };
        await expectTruth(warm.authorizer, input);
        return warm.source.stats().readReplicaFills > before;
      },
      { what: 'fills read the standby again', timeoutMs: 3_000 },
    );
    expect(await expectTruth(warm.authorizer, CY)).toBe('DENY');
  });

  it('(e) random grants and revokes while replay pauses and resumes: every answer equals the primary', async () => {
    // A process that is never told of the writes: it learns by NOTIFY or by at_least_revision.
    const reader = await authzProcess();
    let seed = 20261123;
    const next = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const subjects = ['user:r0', 'user:r1', 'user:r2'];
    const live: string[] = [];
    let paused = false;
    let compared = 0;
    for (let i = 0; i < 60; i++) {
      if (next() < 0.2) {
        if (paused) await cluster.resumeReplay();
        else await cluster.pauseReplay();
        paused = !paused;
      }
      let written: WriteResult;
      if (live.length > 0 && next() < 0.45) {
        const [id] = live.splice(Math.floor(next() * live.length), 1);
        written = await deleteBinding(primary, id!, { actor: 'user:admin' });
      } else {
        const scope = pick([undefined, 'project:p', 'project:p/env:dev', 'project:p/env:prod']);
        const binding = { subject: pick(subjects), role: pick(['env_writer', 'env_reader', 'viewer']), ...(scope === undefined ? {} : { scope }) };
        written = await applyWorld(primary, parseWorld({ orgs: [{ id: 'acme', bindings: [binding] }] }), { actor: 'system:test' });
        const created = written.changes.find((c) => c.kind === 'binding.created');
        if (created !== undefined) live.push(created.key);
      }
      const atLeast = next() < 0.5;
      if (!atLeast) expect(await reader.source.waitForRevision(written.revision, 2_000)).toBe(true);
      for (const subject of subjects) {
        for (const input of [
          { subject, action: 'variables:write', resource: 'org:acme/project:p/env:dev/variable:X' },
          { subject, action: 'flags:read', resource: 'org:acme/project:p/env:prod/flag:f' },
        ]) {
          await expectTruth(reader.authorizer, input, atLeast ? { kind: 'at_least_revision', revision: written.revision } : undefined);
          compared++;
        }
      }
    }
    if (paused) await cluster.resumeReplay();
    const stats = reader.source.stats();
    console.log(
      `random writes with replay paused/resumed: ${compared} answers equal the primary; fills ${stats.pgFills} (standby ${stats.readReplicaFills}, refused as lagging ${stats.readReplicaLagged})`,
    );
    expect(stats.readReplicaFills).toBeGreaterThan(0);
    expect(stats.readReplicaLagged).toBeGreaterThan(0);
    expect(stats.pgFills).toBeGreaterThan(stats.readReplicaFills);
  });

  it('the app: AUTHZ_DATABASE_READ_URL wires the standby; /readyz stays ready without it; a non-replica URL is refused', async () => {
    const env = {
      DATABASE_URL: cluster.primary.url('warden_app'),
      AUTHZ_DATABASE_READ_URL: cluster.standby.url('warden_app'),
      AUTHZ_PG_READ_POOL_MAX: '2',
      AUTHZ_GRPC_PORT: '0',
      AUTHZ_HTTP_PORT: '0',
      AUTHZ_SHUTDOWN_GRACE_MS: '1000',
    };
    // Another database on the same cluster is not a replica of this one.
    await expect(startAuthzApp(loadConfig({ ...env, AUTHZ_DATABASE_READ_URL: cluster.standby.url('warden') }), pino({ level: 'silent' }))).rejects.toThrow(
      /AUTHZ_DATABASE_READ_URL: not a replica of DATABASE_URL \(database "warden", not "warden_app"\)/,
    );

    const app = await startAuthzApp(loadConfig(env), pino({ level: 'silent' }));
    closers.push(() => app.close());
    expect(app.readPool).toBeDefined();
    const written = await applyWorld(app.pool, parseWorld({ orgs: [{ id: 'acme', projects: [{ id: 'p', environments: [{ id: 'dev' }] }], bindings: [{ subject: 'user:bob', role: 'viewer' }] }] }), { actor: 'system:test' });
    app.grantCache.noteWrite(written);
    await cluster.waitForReplay();
    expect((await app.authorizer.check(TRUSTED_LOCAL, BOB)).decision).toBe('ALLOW');
    expect(app.grantCache.stats().readReplicaFills).toBeGreaterThan(0);
    expect((await fetch(`${app.httpUrl}/readyz`)).status).toBe(200);

    await cluster.stopStandby();
    expect((await fetch(`${app.httpUrl}/readyz`)).status).toBe(200);
    expect((await app.authorizer.check(TRUSTED_LOCAL, DEE)).decision).toBe('DENY'); // no binding in this database; answered from the primary
    expect(app.grantCache.stats().readReplicaErrors).toBeGreaterThan(0);
  });
});
