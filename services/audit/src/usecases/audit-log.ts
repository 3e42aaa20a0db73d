/**
 * The audit log: one RFC 9162 log per organization, composed from its use cases —
 * admission (admission.ts), sequencing and group commit (sequencer.ts), durability
 * (durability.ts), recovery (recovery.ts), checkpoints off the commit path
 * (checkpointer.ts), proofs (proofs.ts), verification (verification.ts) and producer
 * keys (producer-keys.ts). Ports are passed in; no adapter is imported.
 *
 * An Append resolves once its accepted events are durable in the write-ahead spool;
 * the store receives them behind the acknowledgement (durability.ts), reads wait for
 * them, and checkpoints sign only what the store holds, off the commit path.
 */
import { createPublicKey } from 'node:crypto';
import {
  createNoteVerifier,
  verifyCanonicalSignature,
  formatVerifierKey,
  logOrigin,
  ProducerKeyRegistry,
  type NoteSigner,
  type NoteVerifier,
  type StoredRecord,
  type VerifyReport,
} from '@warden/audit-events';
import { InvalidArgumentError, UnavailableError } from '@warden/errors';
import type { AppendInput, AppendOptions, AppendOutcome } from '../domain/append.js';
import type { AuditStore, CheckpointRow, CheckpointWitness, Clock, KeyEventRow, SignatureCheck, Spool } from '../domain/ports.js';
import type { Cursor, EventFilter } from '../domain/query.js';
import { admit, admitBatch } from './admission.js';
import { Checkpointer } from './checkpointer.js';
import { Durability, type Head } from './durability.js';
import { readAfterWrite } from './read-after-write.js';
import { silentLogger, type AuditLogLogger } from './logger.js';
import { OrgLogs } from './org-logs.js';
import { ProducerKeys } from './producer-keys.js';
import { Proofs, type ConsistencyProof, type InclusionProof } from './proofs.js';
import { RecentIds } from './recent-ids.js';
import { recover } from './recovery.js';
import { Sequencer } from './sequencer.js';
import { Serial } from './serial.js';
import { verifyOrgLog, type VerifyOptions } from './verification.js';

export type { AppendInput, AppendOutcome, RefusalReason } from '../domain/append.js';
export type { AuditLogLogger } from './logger.js';

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

export type AuditLogOptions = {
  readonly store: AuditStore;
  readonly spool: Spool;
  readonly witness: CheckpointWitness;
  readonly signer: NoteSigner;
  /** Keys whose checkpoints verify (the signer's and earlier ones after a rotation). */
  readonly verifiers: readonly NoteVerifier[];
  /** Called with each checkpoint once written (issue 16: submitted to the witnesses). */
  readonly onCheckpoint?: (row: CheckpointRow) => void;
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
   * Group commit: at least this long between two spool writes. Concurrent Appends share
   * one write anyway: those arriving while one is written go together in the next.
   * @defaultValue 0
   */
  readonly minCommitIntervalMs?: number;
  /** Longest time an acknowledged event waits in the spool before its store insert starts. @defaultValue 200 */
  readonly flushIntervalMs?: number;
  /** Start a store insert at once when this many acknowledged events wait. @defaultValue 20000 */
  readonly flushMaxRows?: number;
  /** Rows per store insert. @defaultValue 50000 */
  readonly maxInsertRows?: number;
  /** First wait before retrying a failed store write (backing off to ten times it). @defaultValue 1000 */
  readonly storeRetryMs?: number;
  /** How long (by UUIDv7 time) ids are remembered in memory for duplicate checks without the store. @defaultValue 600000 */
  readonly dedupWindowMs?: number;
  readonly logger?: AuditLogLogger;
  /** Signature verification (the service: a worker pool). @defaultValue node:crypto's async verify */
  readonly verifySignature?: SignatureCheck;
};

export class AuditLog {
  readonly keys: ProducerKeyRegistry;
  readonly maxBatch: number;
  private readonly options: AuditLogOptions;
  private readonly clock: Clock;
  private readonly limits: { readonly maxEventBytes: number; readonly maxFutureSkewMs: number };
  private readonly checkpointEvery: number;
  private readonly serial = new Serial();
  private readonly logs = new OrgLogs();
  private readonly ids: RecentIds;
  private readonly durability: Durability;
  private readonly checkpoints: Checkpointer;
  private readonly sequencer: Sequencer;
  private readonly proofs: Proofs;
  private readonly producerKeys: ProducerKeys;
  private started = false;

  constructor(options: AuditLogOptions) {
    this.options = options;
    const logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? (() => new Date());
    this.limits = { maxEventBytes: options.maxEventBytes ?? 65536, maxFutureSkewMs: options.maxFutureSkewMs ?? 300_000 };
    this.maxBatch = options.maxBatch ?? 1000;
    this.checkpointEvery = options.checkpointEvery ?? 1000;
    this.keys = new ProducerKeyRegistry();
    this.ids = new RecentIds(options.dedupWindowMs ?? 600_000);
    this.durability = new Durability({
      store: options.store,
      spool: options.spool,
      logger,
      flushIntervalMs: options.flushIntervalMs ?? 200,
      flushMaxRows: options.flushMaxRows ?? 20_000,
      maxInsertRows: options.maxInsertRows ?? 50_000,
      retryMs: options.storeRetryMs ?? 1000,
      onStored: (heads) => this.requestCheckpoints(heads, this.checkpointEvery),
    });
    this.checkpoints = new Checkpointer({ store: options.store, witness: options.witness, signer: options.signer, origin: (org) => this.origin(org), clock: this.clock, logger, onWritten: options.onCheckpoint });
    this.sequencer = new Sequencer({
      store: options.store,
      logs: this.logs,
      ids: this.ids,
      durability: this.durability,
      serial: this.serial,
      clock: this.clock,
      minCommitIntervalMs: options.minCommitIntervalMs ?? 0,
      maxGroupEvents: 5000,
      reload: () => this.load(),
    });
    this.readStore = readAfterWrite(options.store, () => this.durability.stored());
    this.proofs = new Proofs(this.readStore, this.durability, this.logs, this.checkpoints);
    this.producerKeys = new ProducerKeys(this.keys, options.store, options.seedKeys ?? [], this.serial, this.clock);
  }

  /** The checkpoint verifier key, `<name>+<hex key hash>+<base64 key>`. */
  get verifierKey(): string {
    const { signer } = this.options;
    return formatVerifierKey(createNoteVerifier(signer.name, createPublicKey(signer.privateKey)));
  }

  origin(org: string): string {
    return logOrigin(this.options.originPrefix, org);
  }

  /** True while acknowledged batches wait on disk only (the store refused, or before the startup replay). */
  get degraded(): boolean {
    return this.durability.degraded;
  }

  /** Loads keys and log heads from the store, applies the spool, then replays it. */
  async start(): Promise<void> {
    await this.serial.run(() => this.load());
    this.started = true;
    await this.replaySpool();
  }

  private async load(): Promise<void> {
    await this.producerKeys.load();
    const o = this.options;
    await recover(
      { store: o.store, spool: o.spool, witness: o.witness, verifiers: o.verifiers, origin: (org) => this.origin(org), logs: this.logs, ids: this.ids, checkpoints: this.checkpoints, maxFutureSkewMs: this.limits.maxFutureSkewMs, logger: o.logger ?? silentLogger },
      this.clock().getTime(),
    );
    const heads = new Map<string, Head>();
    for (const org of this.logs.orgs()) {
      const log = this.logs.get(org)!;
      heads.set(org, { size: log.size, tree: log.tree.clone() });
    }
    this.durability.resetHeads(heads);
  }

  /**
   * Admits, deduplicates, sequences and durably stores a batch. One outcome per
   * input, in order. Concurrent calls are committed together (group commit), and
   * each resolves only once its events are durable. With `batchSignature`, one
   * signature covers all the events (admitBatch); an event that also carries its own
   * is an InvalidArgumentError, and nothing is stored.
   */
  async append(inputs: readonly AppendInput[], options: AppendOptions = {}): Promise<AppendOutcome[]> {
    if (!this.started) throw new UnavailableError('the audit log is starting');
    if (inputs.length > this.maxBatch) throw new InvalidArgumentError('events', `has ${inputs.length} events; at most ${this.maxBatch} per batch`);
    const now = this.clock().getTime();
    const verify = this.options.verifySignature;
    const admitted =
      options.batchSignature === undefined
        ? await Promise.all(inputs.map((input) => admit(input, now, this.keys, this.limits, verify)))
        : // One signature per Append: checked on this thread, not sent to the pool and back (the
          // round trip was a third of a lone Append's time here; one Ed25519 check is ~70 µs).
          await admitBatch(inputs, options.batchSignature, now, this.keys, this.limits, async (text, signature, key) => verifyCanonicalSignature(text, signature, key));
    return this.sequencer.submit(admitted);
  }

  /** Hands stored heads to the checkpointer when `every` events are unsigned (checkpoints sign only stored events). */
  private requestCheckpoints(groups: readonly ReadonlyMap<string, Head>[], every: number): void {
    if (this.durability.degraded) return;
    for (const heads of groups) {
      for (const [org, head] of heads) {
        if (this.checkpoints.unrequested(org, head.size) >= every) this.checkpoints.request(org, head.size, head.tree);
      }
    }
  }

  /**
   * Writes every acknowledged batch to the store (replaying the spool from disk when the
   * store had failed); true when they are all stored. After a replay, signs a checkpoint
   * for every log and resolves once they are written. Appends go on meanwhile.
   */
  async replaySpool(): Promise<boolean> {
    const wasDegraded = this.durability.degraded;
    const stored = await this.durability.flush();
    if (stored && wasDegraded) {
      this.requestCheckpoints([this.durability.storedHeads], 1);
      await this.checkpoints.flush();
    }
    return stored;
  }

  /** Stores what was acknowledged, then signs a checkpoint for every org whose log grew since its last one; resolves once they are written. */
  async checkpointAll(): Promise<void> {
    await this.durability.flush();
    this.requestCheckpoints([this.durability.storedHeads], 1);
    await this.checkpoints.flush();
  }

  /** Resolves once every event acknowledged before the call is in the store (reads see their writes). */
  stored(): Promise<void> {
    return this.durability.stored();
  }

  /** The store for reads that must see every acknowledged event (timelines, exports, tiles). */
  readonly readStore: AuditStore;

  /** Stores what was acknowledged, then resolves once every checkpoint that asked for is written (or failed and logged). */
  async checkpointsSettled(): Promise<void> {
    await this.durability.flush();
    await this.checkpoints.flush();
  }

  latestCheckpoint(org: string): CheckpointRow | undefined {
    return this.checkpoints.latest(org);
  }

  /** Stores a cosigned copy of a checkpoint (same size and root, more signature lines) and serves it. */
  async publishCosigned(row: CheckpointRow): Promise<void> {
    await this.options.store.insertCheckpoint(row);
    this.checkpoints.cosigned(row);
  }

  size(org: string): number {
    return this.logs.size(org);
  }

  /** Every organization log this process knows, with its newest checkpoint. */
  *logStatus(): IterableIterator<LogStatus> {
    for (const org of this.logs.orgs()) {
      yield { org, size: this.logs.size(org), checkpointSize: this.checkpoints.signedSize(org), checkpointAt: this.checkpoints.latest(org)?.createdAt };
    }
  }

  inclusionProof(org: string, eventId: string, treeSize: number, signal?: AbortSignal): Promise<InclusionProof> {
    return this.proofs.inclusion(org, eventId, treeSize, signal);
  }

  consistencyProof(org: string, fromSize: number, toSize: number): Promise<ConsistencyProof> {
    return this.proofs.consistency(org, fromSize, toSize);
  }

  /** The latest checkpoint and the tree it signs, to attach inclusion proofs to an export. */
  proofContext(org: string) {
    return this.proofs.context(org);
  }

  async query(filter: EventFilter, cursor: Cursor | undefined, limit: number, signal?: AbortSignal): Promise<StoredRecord[]> {
    return this.readStore.query(filter, cursor, limit, { signal });
  }

  /** Recomputes the org's log against its checkpoints, the witness and an optional trusted checkpoint. */
  async verify(org: string, options: VerifyOptions = {}): Promise<VerifyReport> {
    const o = this.options;
    return verifyOrgLog({ store: this.readStore, witness: o.witness, verifiers: o.verifiers, origin: (name) => this.origin(name), checkpoints: this.checkpoints, keys: this.keys }, org, options);
  }

  /** Registers a producer key (idempotent for the same key). */
  addProducerKey(producer: string, keyId: string, publicKey: string): Promise<void> {
    return this.producerKeys.add(producer, keyId, publicKey);
  }

  /** Revokes a key: events it signs from now on are refused; its earlier events stay verifiable. Returns when it took effect. */
  revokeProducerKey(producer: string, keyId: string): Promise<string> {
    return this.producerKeys.revoke(producer, keyId);
  }

  /** Rotation: registers the new key, then revokes the old one. */
  rotateProducerKey(producer: string, oldKeyId: string, newKeyId: string, newPublicKey: string): Promise<void> {
    return this.producerKeys.rotate(producer, oldKeyId, newKeyId, newPublicKey);
  }

  /** Waits for running work, checkpoints included; the store and spool are closed by their owner. */
  async drain(): Promise<void> {
    await this.serial.run(async () => undefined);
    await this.durability.flush();
    this.durability.stop();
    await this.checkpoints.flush();
  }
}
