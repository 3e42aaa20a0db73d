import { describe, expect, it } from 'vitest';
import { CompactRange, createNoteSigner, createNoteVerifier, generateSigningKey, hashLeaf, openCheckpoint } from '@warden/audit-events';
import type { AuditStore, CheckpointRow, CheckpointWitness } from '../domain/ports.js';
import { Checkpointer } from './checkpointer.js';
import { silentLogger } from './logger.js';

const key = generateSigningKey();
const verifier = createNoteVerifier('audit.test', key.publicKey);

/** Checkpoint rows and witness notes in memory; `failNext` makes the next store insert fail. */
function fakes() {
  const rows: CheckpointRow[] = [];
  const witnessed = new Map<string, string>();
  const state = { failNext: 0, failWitness: 0 };
  const store = {
    async insertCheckpoint(row: CheckpointRow) {
      if (state.failNext > 0) {
        state.failNext -= 1;
        throw new Error('store down (test)');
      }
      rows.push(row);
    },
  } as Pick<AuditStore, 'insertCheckpoint'> as AuditStore;
  const witness: CheckpointWitness = {
    async read(org) {
      return witnessed.get(org);
    },
    async write(org, note) {
      if (state.failWitness > 0) {
        state.failWitness -= 1;
        throw new Error('disk full (test)');
      }
      witnessed.set(org, note);
    },
  };
  const checkpointer = new Checkpointer({ store, witness, signer: createNoteSigner('audit.test', key.privateKey), origin: (org) => `audit.test/${org}`, clock: () => new Date(), logger: silentLogger });
  return { rows, witnessed, state, checkpointer };
}

function tree(size: number): CompactRange {
  const range = new CompactRange();
  for (let i = 0; i < size; i += 1) range.append(hashLeaf(Buffer.from(`leaf ${i}`)));
  return range;
}

describe('Checkpointer', () => {
  it('takes the head at request time and signs it afterwards; flush waits for it', async () => {
    const { rows, witnessed, checkpointer } = fakes();
    const growing = tree(3);
    checkpointer.request('acme', 3, growing);
    const root = growing.root();
    growing.append(hashLeaf(Buffer.from('leaf 3'))); // the sequencer goes on appending
    expect(checkpointer.latest('acme')).toBeUndefined();
    await checkpointer.flush();
    expect(rows.map((r) => r.treeSize)).toEqual([3]);
    const opened = openCheckpoint(rows[0]!.note, [verifier]);
    expect(opened.ok && opened.checkpoint.rootHash.equals(root)).toBe(true);
    expect(witnessed.get('acme')).toBe(rows[0]!.note);
    expect(checkpointer.latest('acme')).toEqual(rows[0]);
    expect(CompactRange.fromHashes(3, rows[0]!.compactRange.split(',').map((h) => Buffer.from(h, 'hex'))).root()).toEqual(root);
  });

  it('signs every head handed over, in increasing size, and ignores heads it already covers', async () => {
    const { rows, checkpointer } = fakes();
    for (const size of [2, 4, 6]) checkpointer.request('acme', size, tree(size));
    checkpointer.request('acme', 5, tree(5));
    checkpointer.request('globex', 1, tree(1));
    await checkpointer.flush();
    expect(rows.map((r) => `${r.org}:${r.treeSize}`)).toEqual(['acme:2', 'acme:4', 'acme:6', 'globex:1']);
    expect(checkpointer.unrequested('acme', 9)).toBe(3);
  });

  it('a failed write (store or witness) leaves the newest checkpoint as it was, and the next request retries', async () => {
    const { rows, state, checkpointer } = fakes();
    state.failNext = 1;
    checkpointer.request('acme', 4, tree(4));
    await checkpointer.flush();
    expect(rows).toEqual([]);
    expect(checkpointer.unrequested('acme', 4)).toBe(4);
    state.failWitness = 1;
    checkpointer.request('acme', 4, tree(4));
    await checkpointer.flush();
    expect(checkpointer.latest('acme')).toBeUndefined();
    checkpointer.request('acme', 4, tree(4));
    await checkpointer.flush();
    expect(checkpointer.latest('acme')?.treeSize).toBe(4);
  });

  it('keeps the newest of a checkpoint found at recovery and its own', async () => {
    const { rows, checkpointer } = fakes();
    checkpointer.seed('acme', { org: 'acme', treeSize: 8, rootHash: '', note: '', createdAt: '', compactRange: '' });
    checkpointer.request('acme', 6, tree(6));
    await checkpointer.flush();
    expect(rows).toEqual([]);
    expect(checkpointer.signedSize('acme')).toBe(8);
  });
});
