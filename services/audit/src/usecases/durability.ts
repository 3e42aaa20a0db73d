/**
 * Durability: a write-ahead log in front of the store. A sequenced group is
 * acknowledged once it is fsynced into the local spool (a fraction of a millisecond);
 * the store receives the acknowledged groups behind the acknowledgement, many groups per
 * insert, at most `flushIntervalMs` later (at once when `flushMaxRows` wait, or when a
 * read asks for them). A spool segment is released once all of its batches are stored.
 *
 * Invariants:
 *  - nothing is acknowledged before it is on disk; nothing on disk is released before
 *    the store has it;
 *  - one flush cycle at a time; a cycle closes the newest segment first (under the same
 *    lock as appends), so the closed segments hold exactly the batches it writes;
 *  - when a store write fails, or an append failed after writing some bytes, the
 *    in-memory copies are dropped and the next cycle replays the closed segments from
 *    disk, inserting only the rows the store does not have (an insert may have committed
 *    and still reported failure);
 *  - `onStored` gets the heads as of the newest stored group (checkpoints sign only
 *    what the store holds); `stored()` waits until every group acknowledged before the
 *    call is in the store (reads see their writes).
 */
import { AsyncResource } from 'node:async_hooks';
import type { CompactRange, LogRecord } from '@warden/audit-events';
import { createBackoff } from '@warden/service-kit';
import { UnavailableError } from '@warden/errors';
import type { AuditStore, EncodedRows, Spool, SpoolBatch } from '../domain/ports.js';
import type { AuditLogLogger } from './logger.js';

/** A log's head: its size and the right edge of its Merkle tree at that size (not mutated afterwards). */
export type Head = { readonly size: number; readonly tree: CompactRange };

export type DurabilityOptions = {
  readonly store: AuditStore;
  readonly spool: Spool;
  readonly logger: AuditLogLogger;
  /** Longest time an acknowledged group waits in the spool before a store write starts. */
  readonly flushIntervalMs: number;
  /** Start a store write at once when this many rows wait. */
  readonly flushMaxRows: number;
  /** Rows per store insert. */
  readonly maxInsertRows: number;
  /** First wait before retrying a failed store write (then backing off to ten times it). */
  readonly retryMs: number;
  /** Called after each successful store write with the heads after each stored group, in order. */
  readonly onStored: (heads: readonly ReadonlyMap<string, Head>[]) => void;
};

type Waiter = { readonly target: number; resolve(): void };

export class Durability {
  private readonly options: DurabilityOptions;
  /**
   * Acknowledged batches not yet handed to a store write, in order: their rows as encoded
   * once for the spool and the store (bytes outside the JavaScript heap, not the records'
   * objects, which die young).
   */
  private memory: { readonly token: string; readonly rows: EncodedRows; readonly heads: ReadonlyMap<string, Head> }[] = [];
  private memoryRows = 0;
  /** The heads after the newest acknowledged group, and after the newest stored one. */
  private heads = new Map<string, Head>();
  private storedHeadsMap = new Map<string, Head>();
  /** Acknowledged batches only on disk: the next cycle replays the closed segments. */
  private onDisk: boolean;
  /** Counts the events that put batches on disk only (failed appends and failed writes). */
  private diskEpoch = 0;
  private acked = 0;
  private storedCount = 0;
  private waiters: Waiter[] = [];
  private lockTail: Promise<unknown> = Promise.resolve();
  private running: Promise<boolean> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly backoff;
  private stopped = false;
  /**
   * Store writes run in the context the log was built in, not in the context of the
   * Append or read that happened to start them (a write carries many Appends: its spans
   * are not any one caller's).
   */
  private readonly scope = new AsyncResource('warden.audit.store-write');

  constructor(options: DurabilityOptions) {
    this.options = options;
    this.onDisk = !options.spool.isEmpty;
    this.backoff = createBackoff({ initialMs: options.retryMs, maxMs: options.retryMs * 10 });
  }

  /** True while acknowledged batches wait on disk only (the store refused, or the process restarted). */
  get degraded(): boolean {
    return this.onDisk;
  }

  /** Heads as of the newest stored group. */
  get storedHeads(): ReadonlyMap<string, Head> {
    return this.storedHeadsMap;
  }

  /** After recovery: the heads of every log (stored or spooled). */
  resetHeads(heads: ReadonlyMap<string, Head>): void {
    this.heads = new Map(heads);
    if (!this.onDisk) this.storedHeadsMap = new Map(heads);
  }

  /**
   * Appends the group to the spool; resolves once it is on disk. Throws UnavailableError
   * when the spool cannot take it (nothing acknowledged; the bytes may be on disk, so the
   * caller re-reads its state and the next cycle replays from disk).
   */
  async persist(records: readonly LogRecord[], heads: ReadonlyMap<string, Head>): Promise<void> {
    const token = tokenOf(records);
    const rows = this.options.store.encodeRows(records);
    await this.locked(async () => {
      try {
        await this.options.spool.append({ token, rows });
      } catch (error) {
        this.onDisk = true;
        this.diskEpoch += 1;
        throw new UnavailableError('the write-ahead spool could not take the batch', { cause: error });
      }
      this.memory.push({ token, rows, heads });
      this.memoryRows += rows.count;
      for (const [org, head] of heads) this.heads.set(org, head);
      this.acked += 1;
    });
    this.schedule();
  }

  /**
   * Writes every batch acknowledged before this call to the store (replaying from disk
   * when needed) and releases their segments. True when they are all stored.
   */
  async flush(): Promise<boolean> {
    const target = this.acked;
    while (this.storedCount < target || this.onDisk) {
      if (!(await this.cycle())) return false;
    }
    return true;
  }

  /**
   * Resolves once every batch acknowledged before the call is in the store, or at once
   * while degraded (reads then see what the store has).
   */
  stored(): Promise<void> {
    if (this.storedCount >= this.acked || this.onDisk) return Promise.resolve();
    const target = this.acked;
    return new Promise<void>((resolve) => {
      this.waiters.push({ target, resolve });
      this.kick(0);
    });
  }

  /**
   * Resolves once every batch acknowledged before the call is in the store; rejects with
   * UnavailableError while degraded (the store cannot then vouch for what it lacks).
   */
  async storedOrFail(): Promise<void> {
    await this.stored();
    if (this.onDisk) throw new UnavailableError('acknowledged events wait in the spool for the store');
  }

  /** Stops the timers (the owner flushes first). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.memoryRows >= this.options.flushMaxRows || this.waiters.length > 0) this.kick(0);
    else this.kick(this.options.flushIntervalMs);
  }

  /** Starts a cycle after `ms` (sooner if one is already due sooner). */
  private kick(ms: number): void {
    if (this.stopped || this.running !== undefined) return;
    if (this.timer !== undefined) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = this.scope.runInAsyncScope(() =>
      setTimeout(() => {
        this.timer = undefined;
        void this.cycle();
      }, ms),
    );
    this.timer.unref();
  }

  /** One store write of everything acknowledged so far; one at a time. */
  private cycle(): Promise<boolean> {
    if (this.running !== undefined) return this.running.then(() => this.cycle());
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.scope.runInAsyncScope(() => this.write()).finally(() => {
      this.running = undefined;
      this.next();
    });
    return this.running;
  }

  private next(): void {
    if (this.stopped) return;
    if (this.onDisk) {
      if (this.timer === undefined) this.kick(this.backoff.next());
      return;
    }
    if (this.memory.length > 0) this.schedule();
  }

  private async write(): Promise<boolean> {
    const { spool, logger } = this.options;
    let taken;
    try {
      taken = await this.locked(async () => {
        const segment = await spool.rotate();
        const batches = this.memory;
        this.memory = [];
        this.memoryRows = 0;
        return { segment, batches, acked: this.acked, heads: new Map(this.heads), fromDisk: this.onDisk, epoch: this.diskEpoch };
      });
    } catch (error) {
      // The newest segment could not be closed: everything acknowledged is on disk, replay it from there.
      logger.warn({ err: error }, 'could not close the spool segment; will replay the spool');
      this.onDisk = true;
      this.diskEpoch += 1;
      this.settleWaiters(Number.MAX_SAFE_INTEGER);
      return false;
    }
    try {
      if (taken.fromDisk) await this.replay(taken.segment);
      else await this.insert(taken.batches);
    } catch (error) {
      if (!this.onDisk) logger.warn({ err: error }, 'store write failed; acknowledged events wait in the spool');
      this.onDisk = true;
      this.diskEpoch += 1;
      this.settleWaiters(Number.MAX_SAFE_INTEGER);
      return false;
    }
    try {
      await spool.release(taken.segment);
    } catch (error) {
      // Stored but not released: a later replay skips the rows the store has.
      logger.warn({ err: error }, 'could not release spool segments');
    }
    if (taken.fromDisk) {
      logger.info({ segment: taken.segment }, 'spool replayed');
      this.backoff.reset();
    }
    // An append that failed while this cycle ran left bytes only the disk knows: replay again.
    if (taken.fromDisk && this.diskEpoch === taken.epoch) this.onDisk = false;
    this.storedCount = Math.max(this.storedCount, taken.acked);
    for (const [org, head] of taken.heads) this.storedHeadsMap.set(org, head);
    this.settleWaiters(this.storedCount);
    // From disk the groups' own heads are unknown: the heads after the newest one stand for them.
    const heads = taken.fromDisk ? [taken.heads] : taken.batches.map((b) => b.heads);
    if (heads.some((h) => h.size > 0)) this.options.onStored(heads);
    return true;
  }

  /**
   * Inserts the batches, whole batches per insert, up to `maxInsertRows` rows each (a
   * larger batch alone). The token names the first batch (each batch is first in one
   * insert at most) and the row count.
   */
  private async insert(batches: readonly { readonly token: string; readonly rows: EncodedRows }[]): Promise<void> {
    const max = this.options.maxInsertRows;
    for (let i = 0; i < batches.length; ) {
      const first = batches[i]!.token;
      const chunks: Buffer[] = [];
      let count = 0;
      do {
        chunks.push(batches[i]!.rows.bytes);
        count += batches[i]!.rows.count;
        i += 1;
      } while (i < batches.length && count + batches[i]!.rows.count <= max);
      const bytes = (chunks.length === 1 ? chunks[0] : undefined) ?? Buffer.concat(chunks);
      await this.options.store.insertRows({ bytes, count }, `${first}+${count}`);
    }
  }

  /** Writes the batches of the closed segments to the store, skipping rows it already has. */
  private async replay(upTo: number): Promise<void> {
    const { spool, store } = this.options;
    for (const batch of await spool.pending(upTo)) {
      const records = spooledRecords(store, batch);
      const present = await store.findIds(records.map((r) => r.event.id));
      const missing = records.filter((r) => !present.has(r.event.id));
      if (missing.length === 0) continue;
      if (missing.length === records.length && 'rows' in batch) await store.insertRows(batch.rows, batch.token);
      else await store.insertRows(store.encodeRows(missing), missing.length === records.length ? batch.token : `${batch.token}:${missing.length}`);
    }
  }

  private settleWaiters(upTo: number): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) (w.target <= upTo ? w.resolve() : still.push(w));
    this.waiters = still;
  }

  private locked<T>(work: () => Promise<T>): Promise<T> {
    const result = this.lockTail.then(work, work);
    this.lockTail = result.catch(() => undefined);
    return result;
  }
}

/**
 * The deduplication token of a store insert. Every acknowledged event is written once
 * outside replays, so two inserts never share their first record: its position and leaf
 * hash, with the row count, name the insert (a replay of part of a batch adds its own
 * suffix). Computed per insert, not per event.
 */
function tokenOf(records: readonly LogRecord[]): string {
  const first = records[0];
  return first === undefined ? 'empty' : `${first.org}:${first.seq}:${first.leafHash}:${records.length}`;
}

/** The records of a spooled batch (encoded rows, or the records of the older format). */
export function spooledRecords(store: AuditStore, batch: SpoolBatch): readonly LogRecord[] {
  return 'rows' in batch ? store.decodeRows(batch.rows) : batch.records;
}
