/**
 * AuditService over a real gRPC connection: the real server (chdb store) and
 * the real client; reads authorized by a real authz gRPC test double.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, createClient, Metadata, Status, type Channel, type Server } from 'nice-grpc';
import {
  AppendStatus,
  AuditServiceDefinition,
  ExportFormat,
  Order,
  ProblemKind,
  RefusalReason,
  type AuditServiceClient,
  type SignedEvent,
} from '@warden/proto/audit/v1';
import {
  type AuditEvent,
  batchSignedAppendRequest,
  canonicalEvent,
  parseBatchSignature,
  parseEvent,
  eventFromProto,
  signBatch,
  signEvent,
  parseCheckpointNote,
  parseVerifierKey,
  verifyNote,
  verifyConsistency,
  verifyInclusion,
  verifyRecordSignature,
} from '@warden/audit-events';
import type { AuditApp } from '../src/app.js';
import { startAuthzDouble } from './support/authz-double.js';
import { startTestApp } from './support/app.js';
import { createProducer } from './support/producer.js';
import { chdbDriver } from './support/chdb.js';
import type { ClickHouseAuditStore } from '../src/adapters/stores/clickhouse-audit-store.js';

const flags = createProducer('flags', 'k1');
const authzProducer = createProducer('authz', 'a1');
const PROD = 'org:acme/project:checkout/env:production';
const FLAG = `${PROD}/flag:checkout-v2`;

function toProto(event: AuditEvent, signature: Uint8Array): SignedEvent {
  return {
    event: {
      id: event.id,
      occurredAt: new Date(event.occurredAt),
      actor: { type: event.actor.type, id: event.actor.id, ...(event.actor.onBehalfOf !== undefined ? { onBehalfOf: event.actor.onBehalfOf } : {}) },
      action: event.action,
      resource: event.resource,
      before: event.before,
      after: event.after,
      ...(event.reason !== undefined ? { reason: event.reason } : {}),
      request: event.request ?? {},
      producer: event.producer,
      keyId: event.keyId,
    },
    signature: Buffer.from(signature),
  };
}

function signed(producer = flags, overrides: Partial<AuditEvent> = {}): SignedEvent {
  const event = producer.event(overrides);
  return toProto(event, signEvent(event, producer.privateKey));
}

const as = (key: string) => ({ metadata: Metadata({ authorization: `Bearer ${key}` }) });

describe('AuditService over gRPC', () => {
  let authz: { address: string; server: Server; checks: string[] };
  let app: AuditApp;
  let channel: Channel;
  let client: AuditServiceClient;
  const seed: SignedEvent[] = [];

  beforeAll(async () => {
    authz = await startAuthzDouble([
      { subject: 'user:sre@acme.com', action: 'audit:read', scope: 'org:acme' },
      { subject: 'user:sre@acme.com', action: 'audit:export', scope: 'org:acme' },
      { subject: 'user:auditor@acme.com', action: 'audit:read', scope: 'org:acme/project:checkout/env:staging' },
      { subject: 'user:sre@acme.com', action: 'audit:manage_keys', scope: 'org:warden' },
      { subject: 'user:sre@acme.com', action: 'audit:read', scope: 'org:warden' },
      { subject: 'user:sre@acme.com', action: 'audit:read', scope: 'org:globex' },
    ], [
      { subject: 'user:sre@acme.com', key: 'sre-key' },
      { subject: 'user:auditor@acme.com', key: 'auditor-key' },
    ]);
    app = await startTestApp({
      producers: [flags, authzProducer],
      authzAddress: authz.address,
      env: { AUDIT_KEY_ADMIN_SCOPE: 'org:warden' },
    });
    channel = createChannel(app.address);
    client = createClient(AuditServiceDefinition, channel);
    // The seed example: production / checkout-v2.
    const t = (min: number) => new Date(Date.UTC(2026, 10, 20, 14, min)).toISOString();
    seed.push(
      signed(flags, { occurredAt: t(2), actor: { type: 'user', id: 'alex@acme.com' }, action: 'flag.rollout_changed', resource: FLAG, before: { rollout: 0 }, after: { rollout: 25 }, reason: 'start canary' }),
      signed(flags, { occurredAt: t(9), actor: { type: 'user', id: 'sarah@acme.com' }, action: 'flag.rollout_changed', resource: FLAG, before: { rollout: 25 }, after: { rollout: 50 } }),
      signed(authzProducer, {
        occurredAt: t(12),
        actor: { type: 'user', id: 'admin@acme.com' },
        action: 'binding.created',
        resource: PROD,
        before: null,
        after: { subject: 'user:sarah@acme.com', role: 'release_manager', scope: PROD },
        reason: 'release duty',
      }),
      signed(flags, { occurredAt: t(15), actor: { type: 'user', id: 'sarah@acme.com' }, action: 'flag.enabled', resource: FLAG, before: { enabled: false }, after: { enabled: true } }),
      signed(flags, { occurredAt: t(20), actor: { type: 'user', id: 'sam@acme.com' }, action: 'flag.enabled', resource: 'org:acme/project:checkout/env:staging/flag:checkout-v2', before: { enabled: false }, after: { enabled: true } }),
    );
    const response = await client.append({ events: seed });
    expect(response.results.map((r) => r.status)).toEqual(Array(5).fill(AppendStatus.APPEND_STATUS_ACCEPTED));
  });

  afterAll(async () => {
    channel?.close();
    await app?.close();
    await authz?.server.shutdown();
  });

  it('Append answers each event: accepted, duplicate, refused with a precise code and field', async () => {
    const fresh = signed();
    const future = signed(flags, { occurredAt: new Date(Date.now() + 3_600_000).toISOString() });
    const unsigned = { ...signed(), signature: Buffer.alloc(0) };
    const bad = { ...signed(), signature: Buffer.alloc(64, 1) };
    const malformed = signed();
    malformed.event!.resource = 'org:acme/project';
    const response = await client.append({ events: [fresh, seed[0]!, future, unsigned, bad, malformed] });
    const [ok, dup, fut, uns, bsig, mal] = response.results;
    expect(ok).toMatchObject({ status: AppendStatus.APPEND_STATUS_ACCEPTED, seq: 5 });
    expect(dup).toMatchObject({ status: AppendStatus.APPEND_STATUS_DUPLICATE, seq: 0 });
    expect(fut).toMatchObject({ status: AppendStatus.APPEND_STATUS_REFUSED, error: { code: Status.INVALID_ARGUMENT, reason: RefusalReason.REFUSAL_REASON_FUTURE_DATED, field: 'events[2].event.occurred_at' } });
    expect(uns).toMatchObject({ status: AppendStatus.APPEND_STATUS_REFUSED, error: { code: Status.UNAUTHENTICATED, reason: RefusalReason.REFUSAL_REASON_UNSIGNED, field: 'events[3].signature' } });
    expect(bsig).toMatchObject({ status: AppendStatus.APPEND_STATUS_REFUSED, error: { code: Status.UNAUTHENTICATED, reason: RefusalReason.REFUSAL_REASON_BAD_SIGNATURE } });
    expect(mal).toMatchObject({ status: AppendStatus.APPEND_STATUS_REFUSED, error: { code: Status.INVALID_ARGUMENT, reason: RefusalReason.REFUSAL_REASON_MALFORMED, field: 'events[5].event.resource' } });
    expect(mal!.error!.message).toMatch(/segment 2 \("project"\) is not of the form type:id/);
    await expect(client.append({ events: [] })).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: 'events: is empty' });
  });

  it('Query returns the seed timeline of production / checkout-v2, oldest first, with before/after', async () => {
    const pages = [];
    for await (const page of client.query({ filter: { org: 'acme', project: 'checkout', environment: 'production' }, order: Order.ORDER_OLDEST_FIRST }, as('sre-key'))) pages.push(page);
    const events = pages.flatMap((p) => p.events);
    const rows = events.map((e) => [e.signed!.event!.actor!.id, e.signed!.event!.action, JSON.stringify(e.signed!.event!.before), JSON.stringify(e.signed!.event!.after)]);
    expect(rows.slice(0, 4)).toEqual([
      ['alex@acme.com', 'flag.rollout_changed', '{"rollout":0}', '{"rollout":25}'],
      ['sarah@acme.com', 'flag.rollout_changed', '{"rollout":25}', '{"rollout":50}'],
      ['admin@acme.com', 'binding.created', 'null', JSON.stringify({ subject: 'user:sarah@acme.com', role: 'release_manager', scope: PROD })],
      ['sarah@acme.com', 'flag.enabled', '{"enabled":false}', '{"enabled":true}'],
    ]);
    expect(events[0]).toMatchObject({ org: 'acme', seq: 0, project: 'checkout', environment: 'production', payloadExpired: false });
    expect(events[0]!.signed!.signature).toEqual(seed[0]!.signature);
  });

  it('Query pages with cursors', async () => {
    const pages = [];
    for await (const page of client.query({ filter: { org: 'acme', resourcePrefix: PROD }, pageSize: 2, limit: 3 }, as('sre-key'))) pages.push(page);
    expect(pages.map((p) => p.events.length)).toEqual([2, 1]);
    const rest = [];
    for await (const page of client.query({ filter: { org: 'acme', resourcePrefix: PROD }, pageSize: 2, cursor: pages[1]!.nextCursor }, as('sre-key'))) rest.push(...page.events);
    const all = [...pages.flatMap((p) => p.events), ...rest].map((e) => e.seq);
    expect(new Set(all).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(5);
  });

  it('reads are authorized by authz on the scope asked for', async () => {
    const drain = async (iterable: AsyncIterable<unknown>) => {
      for await (const _ of iterable) void _;
    };
    await expect(drain(client.query({ filter: { org: 'acme', project: 'checkout', environment: 'production' } }, as('auditor-key')))).rejects.toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: 'user:auditor@acme.com may not audit:read on org:acme/project:checkout/env:production',
    });
    const staging = [];
    for await (const page of client.query({ filter: { org: 'acme', project: 'checkout', environment: 'staging' } }, as('auditor-key'))) staging.push(...page.events);
    expect(staging.map((e) => e.environment)).toEqual(['staging']);
    await expect(drain(client.query({ filter: { org: 'acme' } }))).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(drain(client.query({ filter: { org: 'acme' } }, as('wrong-key')))).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(drain(client.query({ filter: { org: 'acme' } }, { metadata: Metadata({ 'x-warden-subject': 'user:sre@acme.com' }) }))).rejects.toMatchObject({
      code: Status.UNAUTHENTICATED,
      details: expect.stringMatching(/x-warden-subject is not accepted/),
    });
    await expect(drain(client.export({ filter: { org: 'acme', project: 'checkout', environment: 'staging' } }, as('auditor-key')))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    await expect(client.verify({ org: 'acme' }, as('auditor-key'))).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
    expect(authz.checks).toContain('user:auditor@acme.com audit:read org:acme/project:checkout/env:production');
  });

  it('malformed filters are INVALID_ARGUMENT naming the field', async () => {
    const drain = async (iterable: AsyncIterable<unknown>) => {
      for await (const _ of iterable) void _;
    };
    await expect(drain(client.query({ filter: { org: '' } }, as('sre-key')))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: 'filter.org: is required' });
    await expect(drain(client.query({ filter: { org: 'acme', environment: 'production' } }, as('sre-key')))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: 'filter.environment: requires project' });
    await expect(drain(client.query({ filter: { org: 'acme', resource: 'org:globex/project:x' } }, as('sre-key')))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^filter\.resource: /) });
    await expect(drain(client.query({ filter: { org: 'acme' }, cursor: 'garbage' }, as('sre-key')))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^cursor: /) });
    await expect(drain(client.query({ filter: { org: 'acme' }, pageSize: 5000 }, as('sre-key')))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^page_size: /) });
    await expect(client.inclusionProof({ org: 'acme', eventId: 'nope' }, as('sre-key'))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^event_id: /) });
  });

  it('Export streams JSON Lines and CSV', async () => {
    let jsonl = '';
    for await (const chunk of client.export({ filter: { org: 'acme', resource: FLAG, until: new Date(Date.UTC(2026, 10, 21)) }, format: ExportFormat.EXPORT_FORMAT_JSONL, order: Order.ORDER_OLDEST_FIRST }, as('sre-key'))) jsonl += chunk.data.toString('utf8');
    const lines = jsonl.trim().split('\n').map((l) => JSON.parse(l) as { seq: number; event: AuditEvent });
    expect(lines.map((l) => l.event.action)).toEqual(['flag.rollout_changed', 'flag.rollout_changed', 'flag.enabled']);
    let csv = '';
    for await (const chunk of client.export({ filter: { org: 'acme', resource: FLAG, until: new Date(Date.UTC(2026, 10, 21)) }, format: ExportFormat.EXPORT_FORMAT_CSV, order: Order.ORDER_OLDEST_FIRST }, as('sre-key'))) csv += chunk.data.toString('utf8');
    const rows = csv.trim().split('\r\n');
    expect(rows[0]!.startsWith('seq,occurred_at,logged_at,actor,')).toBe(true);
    expect(rows[1]).toContain('user:alex@acme.com,,flag.rollout_changed,org:acme/project:checkout/env:production/flag:checkout-v2,checkout,production,"{""rollout"":0}","{""rollout"":25}",start canary');
    expect(rows).toHaveLength(4);
    let log = '';
    for await (const chunk of client.export({ filter: { org: 'acme' }, format: ExportFormat.EXPORT_FORMAT_JSONL, order: Order.ORDER_LOG }, as('sre-key'))) log += chunk.data.toString('utf8');
    const seqs = log.trim().split('\n').map((l) => (JSON.parse(l) as { seq: number }).seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const drain = async (iterable: AsyncIterable<unknown>) => {
      for await (const _ of iterable) void _;
    };
    await expect(drain(client.export({ filter: { org: 'acme', project: 'checkout' }, order: Order.ORDER_LOG }, as('sre-key')))).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^order: /),
    });
    await expect(drain(client.query({ filter: { org: 'acme' }, order: Order.ORDER_LOG }, as('sre-key')))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^order: /) });
  });

  it('Checkpoint, Verify, InclusionProof and ConsistencyProof agree with each other', async () => {
    await app.log.checkpointAll();
    const { checkpoint, verifierKey } = await client.checkpoint({ org: 'acme' }, as('sre-key'));
    const verifier = parseVerifierKey(verifierKey);
    const note = parseCheckpointNote(checkpoint!.note);
    expect(verifyNote(note, verifier)).toBe(true);
    expect(note.checkpoint.treeSize).toBe(checkpoint!.treeSize);
    const size = checkpoint!.treeSize;
    const report = await client.verify({ org: 'acme' }, as('sre-key'));
    expect(report).toMatchObject({ ok: true, eventsChecked: size, treeSize: size, problems: [] });
    const proof = await client.inclusionProof({ org: 'acme', eventId: seed[2]!.event!.id }, as('sre-key'));
    expect(proof.seq).toBe(2);
    expect(verifyInclusion(2, size, Buffer.from(proof.leafHash, 'hex'), proof.path.map((h) => Buffer.from(h, 'hex')), note.checkpoint.rootHash)).toBe(true);
    const consistency = await client.consistencyProof({ org: 'acme', fromSize: 3 }, as('sre-key'));
    expect(consistency.toSize).toBe(size);
    expect(
      verifyConsistency(3, size, Buffer.from(consistency.fromRoot, 'hex'), note.checkpoint.rootHash, consistency.proof.map((h) => Buffer.from(h, 'hex'))),
    ).toBe(true);
    await expect(client.inclusionProof({ org: 'acme', eventId: '01890a5d-ac96-774b-bcce-b302099a8057' }, as('sre-key'))).rejects.toMatchObject({ code: Status.NOT_FOUND });
    await expect(client.consistencyProof({ org: 'acme', fromSize: 3, toSize: 999 }, as('sre-key'))).rejects.toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^to_size: /) });
  });

  it('producer keys: add, use, revoke (new events refused), list; authorized with audit:manage_keys', async () => {
    const deployer = createProducer('deployer', 'd1');
    await expect(client.addProducerKey({ producer: 'deployer', keyId: 'd1', publicKey: deployer.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32) }, as('auditor-key'))).rejects.toMatchObject({
      code: Status.PERMISSION_DENIED,
    });
    await expect(client.addProducerKey({ producer: 'deployer', keyId: 'd1', publicKey: Buffer.alloc(5) }, as('sre-key'))).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^public_key: /),
    });
    const before = signed(deployer, { resource: 'org:acme/project:api/env:production/database:main', action: 'database.migrated' });
    expect((await client.append({ events: [before] })).results[0]).toMatchObject({ status: AppendStatus.APPEND_STATUS_REFUSED, error: { reason: RefusalReason.REFUSAL_REASON_UNKNOWN_PRODUCER } });
    await client.addProducerKey({ producer: 'deployer', keyId: 'd1', publicKey: Buffer.from(deployer.publicKeyB64, 'base64') }, as('sre-key'));
    expect((await client.append({ events: [before] })).results[0]).toMatchObject({ status: AppendStatus.APPEND_STATUS_ACCEPTED });
    const { revokedAt } = await client.revokeProducerKey({ producer: 'deployer', keyId: 'd1' }, as('sre-key'));
    expect(revokedAt).toBeInstanceOf(Date);
    const after = signed(deployer, { resource: 'org:acme/project:api/env:production/database:main', action: 'database.migrated' });
    expect((await client.append({ events: [after] })).results[0]).toMatchObject({
      status: AppendStatus.APPEND_STATUS_REFUSED,
      error: { code: Status.PERMISSION_DENIED, reason: RefusalReason.REFUSAL_REASON_REVOKED_KEY, field: 'events[0].event.key_id' },
    });
    const { keys } = await client.listProducerKeys({}, as('sre-key'));
    expect(keys.map((k) => [k.producer, k.keyId, k.revokedAt !== undefined])).toEqual([
      ['authz', 'a1', false],
      ['deployer', 'd1', true],
      ['flags', 'k1', false],
    ]);
    await expect(client.revokeProducerKey({ producer: 'deployer', keyId: 'nope' }, as('sre-key'))).rejects.toMatchObject({ code: Status.NOT_FOUND });
  });

  it('Verify over gRPC names the broken place (after an edit made directly in ClickHouse)', async () => {
    const bad = await client.verify({ org: 'acme', trustedCheckpoint: 'not a note' }, as('sre-key')).catch((e: unknown) => e);
    expect(bad).toMatchObject({ code: Status.INVALID_ARGUMENT, details: expect.stringMatching(/^trusted_checkpoint: /) });
    const range = await client.verify({ org: 'acme', fromSeq: 1, toSeq: 3 }, as('sre-key'));
    expect(range).toMatchObject({ ok: true, eventsChecked: 2 });
    const database = (app.store as ClickHouseAuditStore).database;
    await chdbDriver().unsafeRaw("ALTER TABLE {db:Identifier}.events UPDATE after = '{\"rollout\":5}' WHERE seq = 1 SETTINGS mutations_sync = 2", { db: database });
    const report = await client.verify({ org: 'acme' }, as('sre-key'));
    expect(report.ok).toBe(false);
    expect(report.firstProblem).toMatchObject({ kind: ProblemKind.PROBLEM_KIND_EDITED, seq: 1, eventId: seed[1]!.event!.id });
  });
  describe('batch-signed Appends (org globex: its own log)', () => {
    const GLOBEX = 'org:globex/project:web/env:production/flag:search-v2';
    const globexEvent = (i: number) => flags.event({ resource: GLOBEX, before: { rollout: i }, after: { rollout: i + 1 } });
    const stored = async () => {
      const events = [];
      for await (const page of client.query({ filter: { org: 'globex' }, order: Order.ORDER_OLDEST_FIRST }, as('sre-key'))) events.push(...page.events);
      return events;
    };
    const canonicalOf = (signedEvent: SignedEvent | undefined): string => {
      const parsed = parseEvent(eventFromProto(signedEvent?.event));
      if (!parsed.ok) throw new Error(parsed.problem.message);
      return canonicalEvent(parsed.event);
    };

    it('is accepted and stored with each event\'s batch form; Query, Verify and the checkpoint agree; a tampered row is reported', async () => {
      const events = Array.from({ length: 6 }, (_, i) => globexEvent(i));
      const response = await client.append(batchSignedAppendRequest(events, flags.privateKey));
      expect(response.results.map((r) => [r.status, r.seq])).toEqual(events.map((_, i) => [AppendStatus.APPEND_STATUS_ACCEPTED, i]));
      const rows = await stored();
      expect(rows.map((r) => r.signed!.event!.id)).toEqual(events.map((e) => e.id));
      rows.forEach((row, i) => {
        const text = Buffer.from(row.signed!.signature).toString('utf8');
        expect(parseBatchSignature(text)).toMatchObject({ index: i, size: 6 });
        expect(verifyRecordSignature(canonicalOf(row.signed), text, flags.publicKey)).toBe(true);
      });
      await app.log.checkpointAll();
      expect(await client.verify({ org: 'globex' }, as('sre-key'))).toMatchObject({ ok: true, eventsChecked: 6, treeSize: 6, checkpointsVerified: 1, problems: [] });

      const database = (app.store as ClickHouseAuditStore).database;
      await chdbDriver().unsafeRaw("ALTER TABLE {db:Identifier}.events UPDATE after = '{\"rollout\":99}' WHERE org = 'globex' AND seq = 2 SETTINGS mutations_sync = 2", { db: database });
      const report = await client.verify({ org: 'globex' }, as('sre-key'));
      expect(report.ok).toBe(false);
      expect(report.firstProblem).toMatchObject({ kind: ProblemKind.PROBLEM_KIND_EDITED, seq: 2, eventId: events[2]!.id });
      expect(report.problems.map((p) => [p.kind, p.seq])).toEqual(expect.arrayContaining([[ProblemKind.PROBLEM_KIND_BAD_EVENT_SIGNATURE, 2]]));
      expect(report.problems.filter((p) => p.kind === ProblemKind.PROBLEM_KIND_BAD_EVENT_SIGNATURE).map((p) => p.seq)).toEqual([2]);
    });

    it('attack: a batch signature with one event swapped for another event of the same producer is refused, nothing stored', async () => {
      const before = app.log.size('globex');
      const events = [globexEvent(10), globexEvent(11), globexEvent(12)];
      const request = batchSignedAppendRequest(events, flags.privateKey);
      const other = batchSignedAppendRequest([globexEvent(13)], flags.privateKey).events[0]!;
      const response = await client.append({ ...request, events: [request.events[0]!, other, request.events[2]!] });
      expect(response.results.map((r) => [r.status, r.error?.reason, r.error?.field])).toEqual(
        Array(3).fill([AppendStatus.APPEND_STATUS_REFUSED, RefusalReason.REFUSAL_REASON_BAD_SIGNATURE, expect.stringMatching(/^events\[\d\]\.batch_signature$/)]),
      );
      expect(response.results[1]!.error!.message).toMatch(/the batch signature does not verify with key "k1" of producer "flags" over these 3 events in this order/);
      expect(app.log.size('globex')).toBe(before);
    });

    it('attack: a stored batch-form signature replayed as a per-event signature, or its batch signature over the event alone, is refused', async () => {
      const [row] = await stored();
      const text = Buffer.from(row!.signed!.signature).toString('utf8');
      const { signature: batchSig } = parseBatchSignature(text)!;
      const replays: { events: SignedEvent[]; batchSignature?: Buffer }[] = [
        { events: [{ event: row!.signed!.event, signature: Buffer.from(text, 'utf8') }] },
        { events: [{ event: row!.signed!.event, signature: Buffer.from(text.slice('batch-v1.'.length), 'base64') }] },
        { events: [{ event: row!.signed!.event, signature: batchSig }] },
        { events: [{ event: row!.signed!.event, signature: Buffer.alloc(0) }], batchSignature: batchSig },
      ];
      for (const replay of replays) {
        const response = await client.append(replay);
        expect(response.results[0]).toMatchObject({ status: AppendStatus.APPEND_STATUS_REFUSED, error: { reason: RefusalReason.REFUSAL_REASON_BAD_SIGNATURE } });
      }
    });

    it('a batch signature together with a per-event signature is INVALID_ARGUMENT and stores nothing', async () => {
      const before = app.log.size('globex');
      const events = [globexEvent(20), globexEvent(21)];
      const request = batchSignedAppendRequest(events, flags.privateKey);
      request.events[1]!.signature = signEvent(events[1]!, flags.privateKey);
      await expect(client.append(request)).rejects.toMatchObject({
        code: Status.INVALID_ARGUMENT,
        details: 'events[1].signature: must be empty when batch_signature is set: a batch-signed Append carries no per-event signature',
      });
      expect(app.log.size('globex')).toBe(before);
      // The same events, correctly batch-signed, are then accepted.
      const ok = await client.append({ events: request.events.map((e) => ({ ...e, signature: Buffer.alloc(0) })), batchSignature: signBatch(events, flags.privateKey) });
      expect(ok.results.map((r) => r.status)).toEqual([AppendStatus.APPEND_STATUS_ACCEPTED, AppendStatus.APPEND_STATUS_ACCEPTED]);
    });
  });
});
