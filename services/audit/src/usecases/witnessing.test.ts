/**
 * Witnessing's rules over witness doubles (the HTTP witness is the integration test's):
 * the 409 teaches the witness's size and the proof goes from it; a witness holding a
 * larger tree is a rollback (never published); 4xx is final, 5xx retried then given up;
 * a cosignature that does not verify is dropped; one round per org, at most maxRounds in
 * all, a newer checkpoint replacing a waiting one.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  cosign,
  createCosignatureVerifier,
  createCosigner,
  createNoteSigner,
  parseCheckpointNote,
  signCheckpoint,
  type AddCheckpointRequest,
} from '@warden/audit-events';
import type { CheckpointRow } from '../domain/ports.js';
import { WitnessRefusal, type WitnessClient, type WitnessReply } from '../domain/witness-ports.js';
import { silentLogger } from './logger.js';
import { Witnessing, type WitnessOutcome } from './witnessing.js';

const log = createNoteSigner('log.test', generateKeyPairSync('ed25519').privateKey);
const witnessKey = generateKeyPairSync('ed25519');
const cosigner = createCosigner('w.test/1', witnessKey.privateKey);
const verifier = createCosignatureVerifier('w.test/1', witnessKey.publicKey);

function row(org: string, treeSize: number): CheckpointRow {
  const rootHash = Buffer.alloc(32, treeSize);
  return { org, treeSize, rootHash: rootHash.toString('hex'), note: signCheckpoint({ origin: `log.test/${org}`, treeSize, rootHash }, log), createdAt: new Date().toISOString(), compactRange: '' };
}

/** A witness double: `answer` decides; every request is recorded. */
function fakeWitness(answer: (request: AddCheckpointRequest) => Promise<WitnessReply>): WitnessClient & { requests: AddCheckpointRequest[] } {
  const requests: AddCheckpointRequest[] = [];
  return {
    url: 'http://w1',
    verifier,
    requests,
    addCheckpoint: (request) => {
      requests.push(request);
      return answer(request);
    },
  };
}

const cosigned = async (request: AddCheckpointRequest): Promise<WitnessReply> => ({ kind: 'cosigned', lines: cosign(parseCheckpointNote(request.note).body, cosigner, 1_700_000_000) });

function witnessing(witness: WitnessClient, extra: { maxRounds?: number } = {}) {
  const published: CheckpointRow[] = [];
  const outcomes: WitnessOutcome[] = [];
  const proofs: [number, number][] = [];
  const w = new Witnessing({
    witnesses: [witness],
    consistencyProof: async (_org, from, to) => {
      proofs.push([from, to]);
      return [Buffer.alloc(32, from)];
    },
    publish: async (r) => {
      published.push(r);
    },
    timeoutMs: 1000,
    retries: 2,
    retryInitialMs: 1,
    logger: silentLogger,
    onOutcome: (_w, o) => outcomes.push(o),
    ...extra,
  });
  return { w, published, outcomes, proofs };
}

describe('Witnessing', () => {
  it('learns the size from a 409, sends the consistency proof from it, publishes the verified cosignature', async () => {
    let known = 3;
    const witness = fakeWitness(async (r) => (r.oldSize !== known ? { kind: 'conflict', size: known } : ((known = parseCheckpointNote(r.note).checkpoint.treeSize), cosigned(r))));
    const { w, published, outcomes, proofs } = witnessing(witness);
    w.submit(row('acme', 9));
    await w.settled();
    expect(witness.requests.map((r) => [r.oldSize, r.proof.length])).toEqual([[0, 0], [3, 1]]);
    expect(proofs).toEqual([[3, 9]]);
    expect(outcomes).toEqual(['conflict', 'cosigned']);
    expect(published).toHaveLength(1);
    expect(published[0]!.note.startsWith(row('acme', 9).note.split('\n\n')[0]!)).toBe(true);
    expect(published[0]!.note.split('\n').filter((l) => l.startsWith('\u2014 '))).toHaveLength(2);
  });

  it('a witness holding a larger tree is a rollback: nothing published', async () => {
    const witness = fakeWitness(async () => ({ kind: 'conflict', size: 12 }));
    const { w, published, outcomes } = witnessing(witness);
    w.submit(row('acme', 10));
    await w.settled();
    expect(outcomes).toEqual(['conflict', 'rollback']);
    expect(published).toEqual([]);
  });

  it('4xx is final; 5xx and network errors are retried `retries` times, then given up', async () => {
    const refusing = fakeWitness(async () => Promise.reject(new WitnessRefusal(403, 'forbidden')));
    const a = witnessing(refusing);
    a.w.submit(row('acme', 4));
    await a.w.settled();
    expect(refusing.requests).toHaveLength(1);
    expect(a.outcomes).toEqual(['refused']);
    const failing = fakeWitness(async () => Promise.reject(new WitnessRefusal(503, 'unavailable')));
    const b = witnessing(failing);
    b.w.submit(row('acme', 4));
    await b.w.settled();
    expect(failing.requests).toHaveLength(3);
    expect(b.outcomes).toEqual(['failed']);
    expect([...a.published, ...b.published]).toEqual([]);
  });

  it('a cosignature that does not verify with the configured key is dropped', async () => {
    const other = createCosigner('w.test/1', generateKeyPairSync('ed25519').privateKey);
    const witness = fakeWitness(async (r) => ({ kind: 'cosigned', lines: cosign(parseCheckpointNote(r.note).body, other, 1_700_000_000) }));
    const { w, published, outcomes } = witnessing(witness);
    w.submit(row('acme', 4));
    await w.settled();
    expect(outcomes).toEqual(['refused']);
    expect(published).toEqual([]);
  });

  it('one round per org, at most maxRounds at once; a newer checkpoint replaces a waiting one', async () => {
    let inFlight = 0;
    let most = 0;
    const witness = fakeWitness(async (r) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight -= 1;
      return cosigned({ ...r, oldSize: 0 });
    });
    const { w, published } = witnessing(witness, { maxRounds: 3 });
    for (let i = 0; i < 10; i += 1) w.submit(row(`org${i}`, 5));
    w.submit(row('org0', 6));
    w.submit(row('org0', 7));
    await w.settled();
    expect(most).toBe(3);
    expect(published.filter((r) => r.org === 'org0').map((r) => r.treeSize)).toEqual([5, 7]);
    expect(new Set(published.map((r) => r.org)).size).toBe(10);
  });
});
