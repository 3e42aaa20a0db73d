/**
 * Witnessing (issue 16 item 3): every checkpoint the checkpointer writes is submitted to
 * the configured witnesses (c2sp.org/tlog-witness@v1.0.0 add-checkpoint) and, once at
 * least one cosignature verifies, published again with the cosignature lines appended
 * (the log's own signature stays first), so Checkpoint and the tiles' `checkpoint` serve
 * the cosigned note.
 *
 * Per witness and org the size it last cosigned is remembered (0 at start: a 409 teaches
 * it, as the spec suggests); the consistency proof goes from that size. A witness that
 * holds a LARGER tree than the checkpoint means this log was rolled back (or forked): it
 * is logged as an error and never papered over. Network errors and 5xx are retried with
 * the one backoff, each attempt under its own deadline; 4xx are final for that checkpoint.
 * At most one round per org runs, and at most `maxRounds` in all (thousands of org logs do
 * not flood a witness); a newer checkpoint waiting replaces an older one.
 * Off the commit path: nothing here delays an Append.
 */
import { addSignatureLines, checkCosignature, parseSignedNote } from '@warden/audit-events';
import { createBackoff, deadline, delay } from '@warden/service-kit';
import type { CheckpointRow } from '../domain/ports.js';
import { WitnessRefusal, type WitnessClient } from '../domain/witness-ports.js';
import type { AuditLogLogger } from './logger.js';

export type WitnessingOptions = {
  readonly witnesses: readonly WitnessClient[];
  /** RFC 9162 consistency proof of the org's log from `from` to `to`. */
  readonly consistencyProof: (org: string, from: number, to: number) => Promise<Buffer[]>;
  /** Stores and serves the cosigned checkpoint. */
  readonly publish: (row: CheckpointRow) => Promise<void>;
  /** Each request's deadline. */
  readonly timeoutMs: number;
  /** Retries after a network error or 5xx. */
  readonly retries: number;
  /** @defaultValue 200 */
  readonly retryInitialMs?: number;
  readonly logger: AuditLogLogger;
  /** Rounds (one org's checkpoint to every witness) at once, over all orgs. @defaultValue 8 */
  readonly maxRounds?: number;
  /** Each submission's outcome, for metrics. */
  readonly onOutcome?: (witness: string, outcome: WitnessOutcome) => void;
};

/** cosigned; conflict (a 409, then retried); refused (4xx, or no valid cosignature); failed (network, 5xx, after retries); rollback (the witness holds a larger tree). */
export type WitnessOutcome = 'cosigned' | 'conflict' | 'refused' | 'failed' | 'rollback';

const EM_DASH = '\u2014';
const MAX_CONFLICTS = 3;

export class Witnessing {
  /** `<witness index> <org>` → the size that witness last cosigned. */
  private readonly known = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly waiting = new Map<string, CheckpointRow>();
  private readonly stop = new AbortController();

  constructor(private readonly options: WitnessingOptions) {}

  /** The size each witness holds for each org, as last learned (200 or 409). */
  *witnessedSizes(): IterableIterator<{ readonly org: string; readonly witness: string; readonly size: number }> {
    for (const [key, size] of this.known) {
      const space = key.indexOf(' ');
      const witness = this.options.witnesses[Number(key.slice(0, space))];
      if (witness !== undefined) yield { org: key.slice(space + 1), witness: witness.url, size };
    }
  }

  /** Hands over a checkpoint just written; returns at once. */
  submit(row: CheckpointRow): void {
    if (this.stop.signal.aborted) return;
    const waiting = this.waiting.get(row.org);
    if (waiting === undefined || waiting.treeSize < row.treeSize) this.waiting.set(row.org, row);
    this.pump();
  }

  /** Starts waiting rounds: one per org at a time, at most `maxRounds` in all. */
  private pump(): void {
    for (const [org, row] of this.waiting) {
      if (this.running.size >= (this.options.maxRounds ?? 8)) return;
      if (this.running.has(org)) continue;
      this.waiting.delete(org);
      const run = this.round(row)
        .catch((error: unknown) => this.options.logger.warn({ err: error, org }, 'witnessing failed'))
        .finally(() => {
          this.running.delete(org);
          if (!this.stop.signal.aborted) this.pump();
        });
      this.running.set(org, run);
    }
  }

  /** Resolves once every round handed over so far has ended. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  /** Aborts requests in flight and waits for the rounds to end. */
  async close(): Promise<void> {
    this.stop.abort();
    this.waiting.clear();
    await this.settled();
  }

  private async round(row: CheckpointRow): Promise<void> {
    const lines = await Promise.all(this.options.witnesses.map((w, i) => this.ask(w, i, row)));
    const cosignatures = lines.filter((l): l is string => l !== undefined).join('');
    if (cosignatures === '' || this.stop.signal.aborted) return;
    await this.options.publish({ ...row, note: addSignatureLines(row.note, cosignatures) });
  }

  /** The witness's verified cosignature line(s) for `row`, or undefined. */
  private async ask(witness: WitnessClient, index: number, row: CheckpointRow): Promise<string | undefined> {
    const { logger } = this.options;
    const outcome = (o: WitnessOutcome) => this.options.onOutcome?.(witness.url, o);
    const key = `${index} ${row.org}`;
    // Already cosigned by this witness (a checkpoint offered again after a restart): asked once
    // anyway, so a witness that has seen a larger tree (a rollback) is noticed, but not re-cosigned.
    const already = checkCosignature(parseSignedNote(row.note), witness.verifier).status === 'valid';
    if (already && this.known.get(key) === row.treeSize) return undefined;
    const backoff = createBackoff({ initialMs: this.options.retryInitialMs ?? 200, maxMs: Math.max(this.options.retryInitialMs ?? 200, 10_000) });
    let conflicts = 0;
    let failures = 0;
    while (!this.stop.signal.aborted) {
      const old = this.known.get(key) ?? 0;
      if (old > row.treeSize) {
        logger.error(
          { org: row.org, witness: witness.url, witnessed: old, treeSize: row.treeSize },
          'a witness has cosigned a larger tree than this checkpoint: the log was rolled back or forked; run Verify',
        );
        outcome('rollback');
        return undefined;
      }
      try {
        const proof = old === 0 || old === row.treeSize ? [] : await this.options.consistencyProof(row.org, old, row.treeSize);
        const signal = deadline(this.options.timeoutMs, this.stop.signal);
        const reply = await witness.addCheckpoint({ oldSize: old, proof, note: row.note }, signal);
        if (reply.kind === 'conflict') {
          outcome('conflict');
          conflicts += 1;
          this.known.set(key, reply.size);
          if (conflicts > MAX_CONFLICTS) throw new WitnessRefusal(409, `${witness.url}: the witness's size keeps changing`);
          continue;
        }
        const own = reply.lines
          .split('\n')
          .filter((line) => line.startsWith(`${EM_DASH} ${witness.verifier.name} `))
          .map((line) => `${line}\n`)
          .join('');
        const check = own === '' ? { status: 'absent' as const } : checkCosignature(parseSignedNote(addSignatureLines(row.note, own)), witness.verifier);
        if (check.status !== 'valid') {
          logger.error({ org: row.org, witness: witness.url, check: check.status }, 'the witness answered without a valid cosignature by its configured key; ignored');
          outcome('refused');
          return undefined;
        }
        this.known.set(key, row.treeSize);
        outcome('cosigned');
        return already ? undefined : own;
      } catch (error) {
        if (this.stop.signal.aborted) return undefined;
        if (error instanceof WitnessRefusal && error.permanent) {
          logger.error({ org: row.org, witness: witness.url, status: error.status, err: error.message }, 'the witness refused the checkpoint');
          outcome('refused');
          return undefined;
        }
        failures += 1;
        if (failures > this.options.retries) {
          logger.warn({ org: row.org, witness: witness.url, err: error }, 'the witness did not answer; the next checkpoint tries again');
          outcome('failed');
          return undefined;
        }
        await delay(backoff.next(), this.stop.signal);
      }
    }
    return undefined;
  }
}
