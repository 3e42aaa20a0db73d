/**
 * The audit log core: validates and sequences signed events into one
 * RFC 9162 log per organization, writes them durably (store, or the local
 * spool when the store is unavailable), signs checkpoints, answers proofs,
 * timelines and verification. Ports are passed in; no adapter is imported.
 */
import { createHash, createPublicKey } from 'node:crypto';
import { createNoteVerifier, formatVerifierKey, openCheckpoint, signCheckpoint, type NoteSigner, type NoteVerifier } from './checkpoint.js';
import { ConflictError, FailedPreconditionError, InvalidArgumentError, NotFoundError, UnavailableError } from '@warden/errors';
import { canonicalEvent, contentHash, KEY_ID, parseEvent, PRODUCER, type AuditEvent } from './event.js';
import { ProducerKeyRegistry } from './key-registry.js';
import { parsePublicKey, verifyCanonicalSignatureAsync } from './keys.js';
import { chainLink, GENESIS_CHAIN, leafDataFromCanonical, logOrigin, type LogRecord, type StoredRecord } from './log-record.js';
import { CompactRange, hashLeaf, MerkleTree } from './merkle.js';
import { scopeOf } from '@warden/names';
import type { AuditStore, CheckpointRow, CheckpointWitness, Clock, KeyEventRow, Spool, StoredId } from './ports.js';
import type { Cursor, EventFilter } from './query.js';
import { verifyLog, type VerifyReport } from './verify.js';

export type RefusalReason =
  | 'malformed'
  | 'oversized'
  | 'future-dated'
  | 'unsigned'
  | 'bad-signature'
  | 'unknown-producer'
  | 'unknown-key'
  | 'revoked-key'
  | 'conflict';

export type AppendInput = { readonly event: unknown; readonly signature: Uint8Array | undefined };

export type AppendOutcome =
  | { readonly status: 'accepted' | 'duplicate'; readonly id: string; readonly seq: number }
  | { readonly status: 'refused'; readonly id: string; readonly reason: RefusalReason; readonly field: string; readonly message: string };

/** The state of one organization log, for metrics. */
export type LogStatus = {
  readonly org: string;
  /** Events in the log (stored or spooled). */
  readonly size: number;
  /** Tree size of the newest signed checkpoint (0: none yet). */
  readonly checkpointSize: number;
  /** When the newest checkpoint was signed (ISO), if any. */
  readonly checkpointAt: string | undefined;
};

export type AuditLogLogger = {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
};

export type AuditLogOptions = {
  readonly store: AuditStore;
  readonly spool: Spool;
  readonly witness: CheckpointWitness;
  readonly signer: NoteSigner;
  /** Keys whose checkpoints verify (the signer's and earlier ones after a rotation). */
  readonly verifiers: readonly NoteVerifier[];
  /** Origin lines are `<originPrefix>/<org>`. */
  readonly originPrefix: string;
  /** Producer keys from configuration, applied before the stored key events. */
  readonly seedKeys?: readonly KeyEventRow[];
  readonly clock?: Clock;
  /** @defaultValue 65536 */
  readonly maxEventBytes?: number;
  /** @defaultValue 300000 (5 minutes) */
  readonly maxFutureSkewMs?: number;
  /** @defaultValue 1000 */
  readonly maxBatch?: number;
  /** Sign a checkpoint once this many events arrived since the last one. @defaultValue 1000 */
  readonly checkpointEvery?: number;
  /**
   * Group commit: at least this long between two store inserts, so concurrent
   * Appends share one insert (one ClickHouse part) under load. @defaultValue 20
   */
  readonly minCommitIntervalMs?: number;
  /** How long (by UUIDv7 time) ids are remembered in memory for duplicate checks without the store. @defaultValue 600000 */
  readonly dedupWindowMs?: number;
  readonly logger?: AuditLogLogger;
};

type OrgState = {
  size: number;
  lastChain: Buffer;
  tree: CompactRange;
  lastCheckpointSize: number;
  latestCheckpoint: CheckpointRow | undefined;
};

type Known = StoredId & { readonly idTime: number };

const silent: AuditLogLogger = { info() {}, warn() {}, error() {} };

function resumeFrom(row: CheckpointRow, signedRoot: Buffer): CompactRange | undefined {
  if (row.compactRange === '' && row.treeSize > 0) return undefined;
  try {
    const range = CompactRange.fromHashes(row.treeSize, row.compactRange === '' ? [] : row.compactRange.split(',').map((h) => Buffer.from(h, 'hex')));
    return range.root().equals(signedRoot) ? range : undefined;
  } catch {
    return undefined;
  }
}

export function uuidV7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

export function toIsoMs(date: Date): string {
  return date.toISOString();
}

export class AuditLog {
  readonly keys: ProducerKeyRegistry;
  private readonly store: AuditStore;
  private readonly spool: Spool;
  private readonly witness: CheckpointWitness;
  private readonly signer: NoteSigner;
  private readonly verifiers: readonly NoteVerifier[];
  private readonly originPrefix: string;
  private readonly clock: Clock;
  private readonly maxEventBytes: number;
  private readonly maxFutureSkewMs: number;
  readonly maxBatch: number;
  private readonly checkpointEvery: number;
  private readonly dedupWindowMs: number;
  private readonly logger: AuditLogLogger;
  private readonly seedKeys: readonly KeyEventRow[];

  private readonly orgs = new Map<string, OrgState>();
  private readonly known = new Map<string, Known>();
  /** Ids minted at or after this time are all in `known` (when logged). */
  private horizon = 0;
  private lastEviction = 0;
  private needsReload = false;
  private started = false;
  private lock: Promise<unknown> = Promise.resolve();
  private readonly queue: Pending[] = [];
  private flushing = false;
  /** Group commit stops adding batches once a group holds this many events. */
  private readonly maxGroupEvents = 5000;
  private readonly minCommitIntervalMs: number;
  private lastCommit = 0;

  constructor(options: AuditLogOptions) {
    this.store = options.store;
    this.spool = options.spool;
    this.witness = options.witness;
    this.signer = options.signer;
    this.verifiers = options.verifiers;
    this.originPrefix = options.originPrefix;
    this.clock = options.clock ?? (() => new Date());
    this.maxEventBytes = options.maxEventBytes ?? 65536;
    this.maxFutureSkewMs = options.maxFutureSkewMs ?? 300_000;
    this.maxBatch = options.maxBatch ?? 1000;
    this.checkpointEvery = options.checkpointEvery ?? 1000;
    this.dedupWindowMs = options.dedupWindowMs ?? 600_000;
    this.minCommitIntervalMs = options.minCommitIntervalMs ?? 20;
    this.logger = options.logger ?? silent;
    this.seedKeys = options.seedKeys ?? [];
    this.keys = new ProducerKeyRegistry();
  }

  /** The checkpoint verifier key, `<name>+<hex key hash>+<base64 key>`. */
  get verifierKey(): string {
    return formatVerifierKey(createNoteVerifier(this.signer.name, createPublicKey(this.signer.privateKey)));
  }

  origin(org: string): string {
    return logOrigin(this.originPrefix, org);
  }

  /** True when batches wait in the spool for the store. */
  get degraded(): boolean {
    return !this.spool.isEmpty;
  }

  /** Loads keys and log heads from the store, applies the spool, then replays it. */
  async start(): Promise<void> {
    await this.exclusive(() => this.load());
    this.started = true;
    await this.replaySpool();
  }

  private async load(): Promise<void> {
    for (const row of this.seedKeys) this.keys.apply(row);
    for (const row of await this.store.keyEvents()) this.keys.apply(row);
    this.orgs.clear();
    this.known.clear();
    const now = this.clock().getTime();
    this.horizon = now - this.dedupWindowMs;
    for (const head of await this.store.heads()) {
      const checkpoints = await this.store.checkpoints(head.org);
      let latest: CheckpointRow | undefined;
      let tree: CompactRange | undefined;
      for (const row of checkpoints) {
        const opened = openCheckpoint(row.note, this.verifiers);
        if (!opened.ok || opened.checkpoint.origin !== this.origin(head.org) || (latest !== undefined && row.treeSize <= latest.treeSize)) continue;
        latest = row;
        tree = resumeFrom(row, opened.checkpoint.rootHash) ?? tree;
      }
      const witnessed = await this.witness.read(head.org);
      const seen = witnessed === undefined ? undefined : openCheckpoint(witnessed, this.verifiers);
      if (seen?.ok === true && seen.checkpoint.treeSize > head.size) {
        this.logger.error(
          { org: head.org, witnessed: seen.checkpoint.treeSize, stored: head.size },
          'the stored log is shorter than the last checkpoint this service signed: it was rolled back or events were removed; run Verify',
        );
      }
      // Resume from the newest checkpoint whose stored right edge matches its signed root; else from leaf 0.
      if (tree === undefined || tree.size > head.size) tree = new CompactRange();
      for (const hash of await this.store.leafHashes(head.org, tree.size, head.size)) tree.append(Buffer.from(hash, 'hex'));
      this.orgs.set(head.org, {
        size: head.size,
        lastChain: Buffer.from(head.lastChainHash, 'hex'),
        tree,
        lastCheckpointSize: latest?.treeSize ?? 0,
        latestCheckpoint: latest,
      });
    }
    const since = new Date(this.horizon - this.maxFutureSkewMs).toISOString();
    for (const [id, stored] of await this.store.idsLoggedSince(since)) this.known.set(id, { ...stored, idTime: uuidV7Time(id) });
    for (const batch of await this.spool.pending()) {
      for (const record of batch.records) {
        const state = this.state(record.org);
        if (record.seq < state.size) continue;
        state.tree.append(Buffer.from(record.leafHash, 'hex'));
        state.size = record.seq + 1;
        state.lastChain = Buffer.from(record.chainHash, 'hex');
        this.known.set(record.event.id, { org: record.org, seq: record.seq, contentHash: record.contentHash, idTime: uuidV7Time(record.event.id) });
      }
    }
    this.needsReload = false;
  }

  private state(org: string): OrgState {
    let state = this.orgs.get(org);
    if (state === undefined) {
      state = { size: 0, lastChain: GENESIS_CHAIN, tree: new CompactRange(), lastCheckpointSize: 0, latestCheckpoint: undefined };
      this.orgs.set(org, state);
    }
    return state;
  }

  private exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.lock.then(work, work);
    this.lock = run.catch(() => undefined);
    return run;
  }

  /**
   * Validates, deduplicates, sequences and durably stores a batch. One outcome
   * per input, in order. Concurrent calls are committed together (group commit:
   * one store insert for every batch waiting), and each resolves only once its
   * events are durable.
   */
  async append(inputs: readonly AppendInput[]): Promise<AppendOutcome[]> {
    if (!this.started) throw new UnavailableError('the audit log is starting');
    if (inputs.length > this.maxBatch) throw new InvalidArgumentError('events', `has ${inputs.length} events; at most ${this.maxBatch} per batch`);
    const now = this.clock().getTime();
    const checked = await Promise.all(inputs.map((input) => this.check(input, now)));
    return new Promise<AppendOutcome[]>((resolve, reject) => {
      this.queue.push({ checked, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = true;
    void this.exclusive(() => this.flushQueue()).finally(() => {
      this.flushing = false;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async flushQueue(): Promise<void> {
    while (this.queue.length > 0) {
      const wait = this.lastCommit + this.minCommitIntervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      this.lastCommit = Date.now();
      const group: Pending[] = [];
      let events = 0;
      while (this.queue.length > 0 && (group.length === 0 || events + this.queue[0]!.checked.length <= this.maxGroupEvents)) {
        const next = this.queue.shift()!;
        events += next.checked.length;
        group.push(next);
      }
      try {
        const outcomes = await this.commitGroup(group.map((p) => p.checked));
        group.forEach((p, i) => p.resolve(outcomes[i]!));
      } catch (error) {
        for (const p of group) p.reject(error);
      }
    }
  }

  private async commitGroup(batches: readonly Checked[][]): Promise<AppendOutcome[][]> {
    if (this.needsReload) await this.load();
    const now = this.clock();
    const candidates = batches.flat().filter((c): c is Valid => c.ok);
    const unknownOld = candidates.map((c) => c.event.id).filter((id) => !this.known.has(id) && uuidV7Time(id) < this.horizon);
    let fromStore = new Map<string, StoredId>();
    if (unknownOld.length > 0) {
      try {
        fromStore = await this.store.findIds([...new Set(unknownOld)]);
      } catch (error) {
        throw new UnavailableError('cannot rule out duplicates of older event ids while the store is unavailable; retry', { cause: error });
      }
    }
    const loggedAt = toIsoMs(now);
    const records: LogRecord[] = [];
    const tentative = new Map<string, { size: number; lastChain: Buffer; tree: CompactRange }>();
    const inGroup = new Map<string, StoredId>();
    const outcomes = batches.map((checked) =>
      checked.map((c): AppendOutcome => {
        if (!c.ok) return c.outcome;
        const id = c.event.id;
        const known = this.known.get(id) ?? inGroup.get(id) ?? fromStore.get(id);
        if (known !== undefined) {
          if (known.contentHash === c.contentHash) return { status: 'duplicate', id, seq: known.seq };
          return { status: 'refused', id, reason: 'conflict', field: 'event.id', message: `event ${id} is already logged with different content` };
        }
        const scope = scopeOf(c.event.resource);
        const org = scope.org;
        let t = tentative.get(org);
        if (t === undefined) {
          const state = this.state(org);
          t = { size: state.size, lastChain: state.lastChain, tree: state.tree.clone() };
          tentative.set(org, t);
        }
        const base = { org, seq: t.size, loggedAt, event: c.event, signature: c.signature };
        const leaf = hashLeaf(leafDataFromCanonical(c.canonical, base));
        const chain = chainLink(t.lastChain, leaf);
        records.push({ ...base, project: scope.project, environment: scope.environment, contentHash: c.contentHash, leafHash: leaf.toString('hex'), chainHash: chain.toString('hex') });
        t.tree.append(leaf);
        t.size += 1;
        t.lastChain = chain;
        inGroup.set(id, { org, seq: base.seq, contentHash: c.contentHash });
        return { status: 'accepted', id, seq: base.seq };
      }),
    );
    if (records.length === 0) return outcomes;
    await this.persist(records);
    for (const [org, t] of tentative) {
      const state = this.state(org);
      state.size = t.size;
      state.lastChain = t.lastChain;
      state.tree = t.tree;
    }
    for (const [id, stored] of inGroup) this.known.set(id, { ...stored, idTime: uuidV7Time(id) });
    this.evict(now.getTime());
    for (const org of tentative.keys()) {
      const state = this.state(org);
      if (state.size - state.lastCheckpointSize >= this.checkpointEvery) await this.checkpointLocked(org);
    }
    return outcomes;
  }

  private async check(input: AppendInput, now: number): Promise<Checked> {
    const rawId = typeof input.event === 'object' && input.event !== null && typeof (input.event as { id?: unknown }).id === 'string' ? (input.event as { id: string }).id : '';
    const refuse = (reason: RefusalReason, field: string, message: string) => ({ ok: false as const, outcome: { status: 'refused' as const, id: rawId, reason, field, message } });
    const parsed = parseEvent(input.event);
    if (!parsed.ok) return refuse('malformed', parsed.problem.field, parsed.problem.message);
    const event = parsed.event;
    let canonical: string;
    try {
      canonical = canonicalEvent(event);
    } catch (error) {
      return refuse('malformed', 'event', `cannot be canonicalized (RFC 8785): ${(error as Error).message}`);
    }
    const size = Buffer.byteLength(canonical, 'utf8');
    if (size > this.maxEventBytes) return refuse('oversized', 'event', `canonical event is ${size} bytes; at most ${this.maxEventBytes}`);
    if (Date.parse(event.occurredAt) > now + this.maxFutureSkewMs) {
      return refuse('future-dated', 'event.occurred_at', `${event.occurredAt} is more than ${this.maxFutureSkewMs / 1000}s in the future`);
    }
    if (uuidV7Time(event.id) > now + this.maxFutureSkewMs) {
      return refuse('future-dated', 'event.id', `the UUIDv7 timestamp of ${event.id} is more than ${this.maxFutureSkewMs / 1000}s in the future`);
    }
    if (input.signature === undefined || input.signature.length === 0) return refuse('unsigned', 'signature', 'the event is not signed');
    const lookup = this.keys.lookup(event.producer, event.keyId);
    if (lookup.status === 'unknown-producer') return refuse('unknown-producer', 'event.producer', `producer "${event.producer}" is not registered`);
    if (lookup.status === 'unknown-key') return refuse('unknown-key', 'event.key_id', `key "${event.keyId}" is not registered for producer "${event.producer}"`);
    if (lookup.revokedAt !== undefined && Date.parse(lookup.revokedAt) <= now) {
      return refuse('revoked-key', 'event.key_id', `key "${event.keyId}" of producer "${event.producer}" was revoked at ${lookup.revokedAt}`);
    }
    if (!(await verifyCanonicalSignatureAsync(canonical, input.signature, lookup.key))) {
      return refuse('bad-signature', 'signature', `the signature does not verify with key "${event.keyId}" of producer "${event.producer}"`);
    }
    return {
      ok: true,
      event,
      signature: Buffer.from(input.signature).toString('base64'),
      canonical,
      contentHash: createHash('sha256').update(canonical).digest('hex'),
    };
  }

  private async persist(records: readonly LogRecord[]): Promise<void> {
    const token = createHash('sha256').update(records.map((r) => `${r.org}:${r.seq}:${r.leafHash}`).join('\n')).digest('hex');
    if (this.spool.isEmpty) {
      try {
        await this.store.insertRecords(records, token);
        return;
      } catch (error) {
        this.logger.warn({ err: error }, 'store insert failed; spooling');
      }
    }
    try {
      await this.spool.append({ token, records });
    } catch (error) {
      // The store may have taken the rows before failing: re-read state before the next batch.
      this.needsReload = true;
      throw new UnavailableError('neither the store nor the spool could take the batch', { cause: error });
    }
  }

  private evict(now: number): void {
    if (now - this.lastEviction < 10_000) return;
    this.lastEviction = now;
    const cutoff = now - this.dedupWindowMs;
    if (cutoff <= this.horizon) return;
    for (const [id, known] of this.known) if (known.idTime < cutoff) this.known.delete(id);
    this.horizon = cutoff;
  }

  /** Writes spooled batches to the store, in order; true when the spool is empty afterwards. */
  async replaySpool(): Promise<boolean> {
    if (this.spool.isEmpty) return true;
    return this.exclusive(async () => {
      const batches = await this.spool.pending();
      try {
        for (const batch of batches) {
          const present = await this.store.findIds(batch.records.map((r) => r.event.id));
          const missing = batch.records.filter((r) => !present.has(r.event.id));
          if (missing.length === 0) continue;
          const token = missing.length === batch.records.length ? batch.token : `${batch.token}:${missing.length}`;
          await this.store.insertRecords(missing, token);
        }
      } catch (error) {
        this.logger.warn({ err: error, batches: batches.length }, 'spool replay failed; will retry');
        return false;
      }
      await this.spool.clear();
      this.logger.info({ batches: batches.length }, 'spool replayed');
      for (const org of this.orgs.keys()) await this.checkpointLocked(org);
      return true;
    });
  }

  /** Signs a checkpoint for every org whose log grew since its last one. */
  async checkpointAll(): Promise<void> {
    await this.exclusive(async () => {
      for (const org of this.orgs.keys()) await this.checkpointLocked(org);
    });
  }

  private async checkpointLocked(org: string): Promise<void> {
    const state = this.orgs.get(org);
    if (state === undefined || state.size <= state.lastCheckpointSize || !this.spool.isEmpty) return;
    const root = state.tree.root();
    const note = signCheckpoint({ origin: this.origin(org), treeSize: state.size, rootHash: root }, this.signer);
    const row: CheckpointRow = {
      org,
      treeSize: state.size,
      rootHash: root.toString('hex'),
      note,
      createdAt: toIsoMs(this.clock()),
      compactRange: state.tree.hashes().map((h) => h.toString('hex')).join(','),
    };
    try {
      await this.store.insertCheckpoint(row);
      await this.witness.write(org, note);
    } catch (error) {
      this.logger.warn({ err: error, org }, 'checkpoint not written; will retry');
      return;
    }
    state.lastCheckpointSize = state.size;
    state.latestCheckpoint = row;
  }

  latestCheckpoint(org: string): CheckpointRow | undefined {
    return this.orgs.get(org)?.latestCheckpoint;
  }

  size(org: string): number {
    return this.orgs.get(org)?.size ?? 0;
  }

  /** Every organization log this process knows, with its newest checkpoint. */
  *logStatus(): IterableIterator<LogStatus> {
    for (const [org, state] of this.orgs) {
      yield { org, size: state.size, checkpointSize: state.lastCheckpointSize, checkpointAt: state.latestCheckpoint?.createdAt };
    }
  }

  private async treeFor(org: string, treeSize: number): Promise<MerkleTree> {
    if (!this.spool.isEmpty) throw new UnavailableError('events are waiting in the spool; proofs are available once they are stored');
    const hashes = await this.store.leafHashes(org, 0, treeSize);
    if (hashes.length !== treeSize) throw new FailedPreconditionError(`the stored log of ${org} has ${hashes.length} leaves, not ${treeSize}: run Verify`);
    return new MerkleTree(hashes.map((h) => Buffer.from(h, 'hex')));
  }

  private proofSize(org: string, requested: number, field: string): number {
    const latest = this.latestCheckpoint(org);
    if (requested === 0) {
      if (latest === undefined) throw new FailedPreconditionError(`the log of ${org} has no checkpoint yet`);
      return latest.treeSize;
    }
    if (requested > this.size(org)) throw new InvalidArgumentError(field, `${requested} is larger than the log of ${org} (${this.size(org)})`);
    return requested;
  }

  async inclusionProof(org: string, eventId: string, treeSize: number, signal?: AbortSignal) {
    const record = await this.store.findEvent(org, eventId, { signal });
    if (record === undefined) throw new NotFoundError(`event ${eventId} is not in the log of ${org}`);
    const size = this.proofSize(org, treeSize, 'tree_size');
    if (record.seq >= size) throw new FailedPreconditionError(`event ${eventId} (seq ${record.seq}) is not covered by a tree of size ${size} yet`);
    const tree = await this.treeFor(org, size);
    return { seq: record.seq, treeSize: size, leafHash: record.leafHash, path: tree.inclusionProof(record.seq, size), root: tree.root(size) };
  }

  async consistencyProof(org: string, fromSize: number, toSize: number) {
    const to = this.proofSize(org, toSize, 'to_size');
    if (fromSize > to) throw new InvalidArgumentError('from_size', `${fromSize} is larger than to_size ${to}`);
    const tree = await this.treeFor(org, to);
    return { fromSize, toSize: to, proof: tree.consistencyProof(fromSize, to), fromRoot: tree.root(fromSize), toRoot: tree.root(to) };
  }

  async query(filter: EventFilter, cursor: Cursor | undefined, limit: number, signal?: AbortSignal): Promise<StoredRecord[]> {
    return this.store.query(filter, cursor, limit, { signal });
  }

  /** The latest checkpoint and the tree it signs, to attach inclusion proofs to an export. */
  async proofContext(org: string): Promise<{ checkpoint: CheckpointRow; tree: MerkleTree }> {
    const checkpoint = this.latestCheckpoint(org);
    if (checkpoint === undefined) throw new FailedPreconditionError(`the log of ${org} has no checkpoint yet`);
    return { checkpoint, tree: await this.treeFor(org, checkpoint.treeSize) };
  }

  /** Every stored record of the org's log in seq order (a whole-log export). */
  scanLog(org: string, signal?: AbortSignal): AsyncIterable<StoredRecord> {
    return this.store.scan(org, 0, Number.MAX_SAFE_INTEGER, { signal });
  }

  /** Recomputes the org's log against its checkpoints, the witness and an optional trusted checkpoint. */
  async verify(org: string, options: { from?: number; to?: number | undefined; trustedCheckpoint?: string | undefined; signal?: AbortSignal } = {}): Promise<VerifyReport> {
    const trusted: { note: string; source: string }[] = [];
    if (options.trustedCheckpoint !== undefined) {
      const opened = openCheckpoint(options.trustedCheckpoint, this.verifiers);
      if (!opened.ok) throw new InvalidArgumentError('trusted_checkpoint', opened.reason);
      if (opened.checkpoint.origin !== this.origin(org)) throw new InvalidArgumentError('trusted_checkpoint', `is for "${opened.checkpoint.origin}", not "${this.origin(org)}"`);
      trusted.push({ note: options.trustedCheckpoint, source: 'the trusted' });
    }
    const witnessed = await this.witness.read(org);
    if (witnessed !== undefined) trusted.push({ note: witnessed, source: 'the witness' });
    const inMemory = this.latestCheckpoint(org);
    if (inMemory !== undefined) trusted.push({ note: inMemory.note, source: 'the service' });
    const checkpoints = await this.store.checkpoints(org, { signal: options.signal });
    return verifyLog({
      org,
      origin: this.origin(org),
      records: this.store.scan(org, 0, options.to ?? Number.MAX_SAFE_INTEGER, { signal: options.signal }),
      checkpoints,
      trusted,
      verifiers: this.verifiers,
      producerKey: (producer, keyId) => this.keys.verificationKey(producer, keyId),
      from: options.from ?? 0,
      to: options.to,
    });
  }

  /** Registers a producer key (idempotent for the same key). */
  async addProducerKey(producer: string, keyId: string, publicKey: string): Promise<void> {
    if (!PRODUCER.test(producer)) throw new InvalidArgumentError('producer', `"${producer}" is not a producer name like authz or flags`);
    if (!KEY_ID.test(keyId)) throw new InvalidArgumentError('key_id', 'must be 1-64 characters of A-Z a-z 0-9 . _ -');
    try {
      parsePublicKey(publicKey);
    } catch {
      throw new InvalidArgumentError('public_key', 'is not a 32-byte Ed25519 public key');
    }
    const existing = this.keys.list().find((k) => k.producer === producer && k.keyId === keyId);
    if (existing !== undefined && existing.publicKey !== publicKey) throw new ConflictError(`key ${producer}/${keyId} is already registered with another public key`);
    const row: KeyEventRow = { producer, keyId, publicKey, kind: 'added', at: toIsoMs(this.clock()) };
    await this.exclusive(async () => {
      if (this.keys.has(producer, keyId)) {
        this.keys.apply(row);
        return;
      }
      await this.store.insertKeyEvent(row);
      this.keys.apply(row);
    });
  }

  /** Revokes a key: events it signs from now on are refused; its earlier events stay verifiable. Returns when it took effect. */
  async revokeProducerKey(producer: string, keyId: string): Promise<string> {
    if (!this.keys.has(producer, keyId)) throw new NotFoundError(`key ${producer}/${keyId} is not registered`);
    const row: KeyEventRow = { producer, keyId, publicKey: '', kind: 'revoked', at: toIsoMs(this.clock()) };
    return this.exclusive(async () => {
      const current = this.keys.list().find((k) => k.producer === producer && k.keyId === keyId)?.revokedAt;
      if (current !== undefined) return current;
      await this.store.insertKeyEvent(row);
      this.keys.apply(row);
      return row.at;
    });
  }

  /** Rotation: registers the new key, then revokes the old one. */
  async rotateProducerKey(producer: string, oldKeyId: string, newKeyId: string, newPublicKey: string): Promise<void> {
    await this.addProducerKey(producer, newKeyId, newPublicKey);
    await this.revokeProducerKey(producer, oldKeyId);
  }

  /** Waits for running work; the store and spool are closed by their owner. */
  async drain(): Promise<void> {
    await this.exclusive(async () => undefined);
  }
}

type Valid = { ok: true; event: AuditEvent; signature: string; canonical: string; contentHash: string };
type Checked = Valid | { ok: false; outcome: AppendOutcome };
type Pending = { checked: Checked[]; resolve: (outcomes: AppendOutcome[]) => void; reject: (error: unknown) => void };

export { contentHash };
