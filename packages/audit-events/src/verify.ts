/**
 * Verification of an organization's log: used by the service (over the
 * store) and by the CLI (over an exported JSON Lines file, offline). Walks the
 * records in seq order, recomputes every leaf hash from the stored fields,
 * checks producer signatures (per-event or batch, batch-signature.ts) and chain links, recomputes the RFC 9162 root at
 * every checkpoint size and compares it with the signed checkpoint. Pure.
 */
import type { KeyObject } from 'node:crypto';
import { openCheckpoint, type Checkpoint, type NoteVerifier } from './checkpoint.js';
import { BatchSignatureCache, verifyRecordSignature } from './batch-signature.js';
import { canonicalEvent } from './event.js';
import { chainLink, computeLeafHash, GENESIS_CHAIN, type StoredRecord } from './log-record.js';
import { CompactRange, verifyInclusion } from './merkle.js';

export type ProblemKind =
  | 'edited'
  | 'missing'
  | 'extra'
  | 'bad-event-signature'
  | 'chain'
  | 'root-mismatch'
  | 'forged-checkpoint'
  | 'rollback';

export type Problem = {
  readonly kind: ProblemKind;
  /** The position of the problem; for checkpoint problems the checkpoint's tree size. */
  readonly seq: number;
  readonly eventId: string;
  readonly message: string;
};

export type VerifyReport = {
  readonly ok: boolean;
  readonly eventsChecked: number;
  readonly checkpointsVerified: number;
  readonly payloadsExpired: number;
  readonly treeSize: number;
  readonly problems: readonly Problem[];
  readonly firstProblem: Problem | undefined;
};

export type VerifyLogInput = {
  readonly org: string;
  /** The origin line every checkpoint of this log must carry. */
  readonly origin: string;
  /** Records in seq order starting at seq 0 (duplicates allowed: they are reported). */
  readonly records: AsyncIterable<StoredRecord> | Iterable<StoredRecord>;
  /** Stored checkpoints, oldest first. */
  readonly checkpoints: readonly { readonly note: string; readonly createdAt?: string | undefined }[];
  /** Checkpoints known from elsewhere (the witness file, a caller): the log must still contain them. */
  readonly trusted?: readonly { readonly note: string; readonly source: string }[];
  readonly verifiers: readonly NoteVerifier[];
  /** Producer key lookup; when absent, producer signatures are not checked (reported in the CLI). */
  readonly producerKey?: ((producer: string, keyId: string) => KeyObject | undefined) | undefined;
  /** Report per-event problems only for seq in [from, to); roots are always recomputed from 0. */
  readonly from?: number;
  /** Stop after seq to-1 (undefined: the whole log). */
  readonly to?: number | undefined;
  readonly maxProblems?: number;
};

type Target = { readonly checkpoint: Checkpoint; readonly label: string; readonly trusted: boolean };

export async function verifyLog(input: VerifyLogInput): Promise<VerifyReport> {
  const maxProblems = input.maxProblems ?? 100;
  const from = input.from ?? 0;
  const to = input.to;
  const problems: Problem[] = [];
  const report = (problem: Problem): void => {
    problems.push(problem);
  };

  // 1. Checkpoints: signatures, origin, order.
  const targets = new Map<number, Target[]>();
  const addTarget = (target: Target): void => {
    const list = targets.get(target.checkpoint.treeSize) ?? [];
    list.push(target);
    targets.set(target.checkpoint.treeSize, list);
  };
  let largestSoFar: Checkpoint | undefined;
  input.checkpoints.forEach((row, i) => {
    const opened = openCheckpoint(row.note, input.verifiers);
    const label = `checkpoint #${i + 1}${row.createdAt !== undefined ? ` (created ${row.createdAt})` : ''}`;
    if (!opened.ok) {
      report({ kind: 'forged-checkpoint', seq: claimedSize(row.note), eventId: '', message: `${label}: ${opened.reason}` });
      return;
    }
    if (opened.checkpoint.origin !== input.origin) {
      report({ kind: 'forged-checkpoint', seq: opened.checkpoint.treeSize, eventId: '', message: `${label}: origin "${opened.checkpoint.origin}" is not this log's ("${input.origin}")` });
      return;
    }
    if (largestSoFar !== undefined && opened.checkpoint.treeSize < largestSoFar.treeSize) {
      report({
        kind: 'rollback',
        seq: opened.checkpoint.treeSize,
        eventId: '',
        message: `${label}: tree size ${opened.checkpoint.treeSize} is smaller than the earlier checkpoint's ${largestSoFar.treeSize} (a rolled-back checkpoint)`,
      });
    } else {
      largestSoFar = opened.checkpoint;
    }
    addTarget({ checkpoint: opened.checkpoint, label, trusted: false });
  });
  for (const trusted of input.trusted ?? []) {
    const opened = openCheckpoint(trusted.note, input.verifiers);
    if (!opened.ok || opened.checkpoint.origin !== input.origin) {
      report({ kind: 'forged-checkpoint', seq: claimedSize(trusted.note), eventId: '', message: `${trusted.source} checkpoint: ${opened.ok ? 'origin differs' : opened.reason}` });
      continue;
    }
    addTarget({ checkpoint: opened.checkpoint, label: `${trusted.source} checkpoint (size ${opened.checkpoint.treeSize})`, trusted: true });
  }

  // 2. Records.
  const tree = new CompactRange();
  let expected = 0;
  let treeBroken = false;
  let prevChain = GENESIS_CHAIN;
  let eventsChecked = 0;
  let payloadsExpired = 0;
  let checkpointsVerified = 0;
  const verifiedSizes = new Set<number>();
  const batches = new BatchSignatureCache();

  const checkRoot = (size: number): void => {
    const list = targets.get(size);
    if (list === undefined || treeBroken) return;
    const root = tree.root();
    for (const target of list) {
      if (root.equals(target.checkpoint.rootHash)) {
        if (!verifiedSizes.has(size)) checkpointsVerified += 1;
        verifiedSizes.add(size);
      } else {
        report({
          kind: 'root-mismatch',
          seq: size,
          eventId: '',
          message: `${target.label}: the root recomputed over seq 0..${size - 1} differs from the signed root: events before ${size} were changed, removed or reordered`,
        });
      }
    }
  };
  if (targets.has(0)) checkRoot(0);

  for await (const record of input.records) {
    if (to !== undefined && record.seq >= to) break;
    const inRange = record.seq >= from;
    if (record.seq < expected) {
      if (inRange) report({ kind: 'extra', seq: record.seq, eventId: record.event.id, message: `seq ${record.seq} appears again (event ${record.event.id}): an inserted or duplicated event` });
      continue;
    }
    if (record.seq > expected) {
      const missing = record.seq - expected;
      report({
        kind: 'missing',
        seq: expected,
        eventId: '',
        message: missing === 1 ? `seq ${expected} is missing: an event was removed` : `seq ${expected}..${record.seq - 1} are missing: ${missing} events were removed`,
      });
      treeBroken = true;
      expected = record.seq;
    }
    let leaf: Buffer;
    const storedLeaf = Buffer.from(record.leafHash, 'hex');
    if (record.payloadExpired) {
      payloadsExpired += 1;
      leaf = storedLeaf;
    } else {
      leaf = computeLeafHash(record);
      if (inRange && !leaf.equals(storedLeaf)) {
        report({ kind: 'edited', seq: record.seq, eventId: record.event.id, message: `seq ${record.seq} (event ${record.event.id}): the stored fields no longer hash to the event's leaf hash: edited` });
      }
      if (inRange && input.producerKey !== undefined) {
        const key = input.producerKey(record.event.producer, record.event.keyId);
        if (key === undefined) {
          report({ kind: 'bad-event-signature', seq: record.seq, eventId: record.event.id, message: `seq ${record.seq} (event ${record.event.id}): signed by unknown key ${record.event.producer}/${record.event.keyId}` });
        } else if (!verifyRecordSignature(canonicalEvent(record.event), record.signature, key, batches)) {
          report({ kind: 'bad-event-signature', seq: record.seq, eventId: record.event.id, message: `seq ${record.seq} (event ${record.event.id}): the producer signature does not verify` });
        }
      }
    }
    const link = chainLink(prevChain, leaf);
    if (inRange && link.toString('hex') !== record.chainHash) {
      report({ kind: 'chain', seq: record.seq, eventId: record.event.id, message: `seq ${record.seq} (event ${record.event.id}): the chain link does not follow from seq ${record.seq - 1}` });
    }
    prevChain = Buffer.from(record.chainHash, 'hex').length === 32 ? Buffer.from(record.chainHash, 'hex') : link;
    tree.append(leaf);
    expected += 1;
    if (inRange) eventsChecked += 1;
    checkRoot(expected);
  }

  // 3. Checkpoints beyond the end of the log: events were removed (or the log rolled back).
  if (to === undefined || expected < to) {
    for (const [size, list] of targets) {
      if (size <= expected) continue;
      for (const target of list) {
        report({
          kind: target.trusted ? 'rollback' : 'missing',
          seq: expected,
          eventId: '',
          message: `${target.label} covers ${size} events but the log has ${expected}: seq ${expected}..${size - 1} were removed${target.trusted ? ' (the log was rolled back)' : ''}`,
        });
      }
    }
  }

  problems.sort((a, b) => a.seq - b.seq);
  const kept = problems.slice(0, maxProblems);
  return {
    ok: problems.length === 0,
    eventsChecked,
    checkpointsVerified,
    payloadsExpired,
    treeSize: expected,
    problems: kept,
    firstProblem: kept[0],
  };
}

function claimedSize(note: string): number {
  const size = Number(note.split('\n')[1]);
  return Number.isSafeInteger(size) && size >= 0 ? size : 0;
}

export type ProvenRecord = { readonly record: StoredRecord; readonly proof: { readonly treeSize: number; readonly path: readonly Buffer[] } | undefined };

/**
 * Verifies records that each carry an inclusion proof against one signed
 * checkpoint (a filtered export): leaf recomputed from the fields, proof to the
 * signed root, producer signature. Records the checkpoint does not cover are
 * counted, not proven.
 */
export function verifyProvenRecords(input: {
  readonly origin?: string | undefined;
  readonly checkpoint: string;
  readonly verifiers: readonly NoteVerifier[];
  readonly records: readonly ProvenRecord[];
  readonly producerKey?: ((producer: string, keyId: string) => KeyObject | undefined) | undefined;
}): VerifyReport & { readonly uncovered: number } {
  const problems: Problem[] = [];
  const opened = openCheckpoint(input.checkpoint, input.verifiers);
  if (!opened.ok) {
    const problem: Problem = { kind: 'forged-checkpoint', seq: claimedSize(input.checkpoint), eventId: '', message: `the checkpoint: ${opened.reason}` };
    return { ok: false, eventsChecked: 0, checkpointsVerified: 0, payloadsExpired: 0, treeSize: 0, problems: [problem], firstProblem: problem, uncovered: 0 };
  }
  const { treeSize, rootHash, origin } = opened.checkpoint;
  if (input.origin !== undefined && origin !== input.origin) {
    problems.push({ kind: 'forged-checkpoint', seq: treeSize, eventId: '', message: `the checkpoint is for "${origin}", not "${input.origin}"` });
  }
  let eventsChecked = 0;
  let payloadsExpired = 0;
  let uncovered = 0;
  const batches = new BatchSignatureCache();
  for (const { record, proof } of input.records) {
    const id = record.event.id;
    if (record.seq >= treeSize) {
      uncovered += 1;
      continue;
    }
    eventsChecked += 1;
    const stored = Buffer.from(record.leafHash, 'hex');
    let leaf: Buffer = stored;
    if (record.payloadExpired) payloadsExpired += 1;
    else {
      leaf = computeLeafHash(record);
      if (!leaf.equals(stored)) problems.push({ kind: 'edited', seq: record.seq, eventId: id, message: `seq ${record.seq} (event ${id}): the fields no longer hash to the event's leaf hash: edited` });
      if (input.producerKey !== undefined) {
        const key = input.producerKey(record.event.producer, record.event.keyId);
        if (key === undefined || !verifyRecordSignature(canonicalEvent(record.event), record.signature, key, batches)) {
          problems.push({ kind: 'bad-event-signature', seq: record.seq, eventId: id, message: `seq ${record.seq} (event ${id}): the producer signature does not verify` });
        }
      }
    }
    if (proof === undefined || proof.treeSize !== treeSize || !verifyInclusion(record.seq, treeSize, leaf, proof.path, rootHash)) {
      problems.push({ kind: 'root-mismatch', seq: record.seq, eventId: id, message: `seq ${record.seq} (event ${id}): the inclusion proof does not lead to the signed root of size ${treeSize}` });
    }
  }
  problems.sort((a, b) => a.seq - b.seq);
  return {
    ok: problems.length === 0,
    eventsChecked,
    checkpointsVerified: 1,
    payloadsExpired,
    treeSize,
    problems: problems.slice(0, 100),
    firstProblem: problems[0],
    uncovered,
  };
}
