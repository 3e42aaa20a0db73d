import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import {
  batchMessage,
  batchRecordSignatures,
  BatchSignatureCache,
  BatchTree,
  canonicalLeafHash,
  formatBatchSignature,
  isBatchSignature,
  parseBatchSignature,
  signBatch,
  signCanonicalBatch,
  verifyBatch,
  verifyBatchAsync,
  verifyRecordSignature,
  type BatchProof,
} from './batch-signature.js';
import { canonicalEvent, type AuditEvent } from './event.js';
import { generateSigningKey, signEvent } from './keys.js';
import { MerkleTree } from './merkle.js';

const producer = generateSigningKey();
const stranger = generateSigningKey();

function event(i: number): AuditEvent {
  return {
    id: uuidv7(),
    occurredAt: '2026-11-23T14:05:00.123Z',
    actor: { type: 'user', id: 'sarah@acme.com' },
    action: 'flag.rollout_changed',
    resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
    before: { rollout: i },
    after: { rollout: i + 1, note: `événement ${i}` },
    producer: 'flags',
    keyId: 'k1',
  };
}

function batch(n: number): { events: AuditEvent[]; canonicals: string[]; signature: Buffer; stored: string[] } {
  const events = Array.from({ length: n }, (_, i) => event(i));
  const canonicals = events.map(canonicalEvent);
  const signature = signBatch(events, producer.privateKey);
  return { events, canonicals, signature, stored: batchRecordSignatures(canonicals, signature) };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** The same 64 bytes in a non-canonical base64 text (a padding bit set). */
function nonCanonical(text: string): string {
  const at = text.length - 3;
  const other = `${text.slice(0, at)}${B64[B64.indexOf(text[at]!) ^ 1]}${text.slice(at + 1)}`;
  expect(Buffer.from(other, 'base64').equals(Buffer.from(text, 'base64'))).toBe(true);
  return other;
}

const with_ = (stored: string, change: Partial<BatchProof>): string => formatBatchSignature({ ...parseBatchSignature(stored)!, ...change });

describe('batch signatures', () => {
  it('every stored batch form at once is, text for text, the one of each event alone: index, size, signature and PATH(m, D[n])', () => {
    const signature = Buffer.alloc(64, 9);
    for (const n of [...Array.from({ length: 70 }, (_, i) => i + 1), 500, 1000]) {
      const canonicals = Array.from({ length: n }, (_, i) => `{"i":${i}}`);
      const tree = new BatchTree(canonicals);
      const all = tree.recordSignatures(signature);
      const reference = new MerkleTree(canonicals.map(canonicalLeafHash));
      expect(all).toHaveLength(n);
      all.forEach((text, i) => {
        expect(text).toBe(tree.recordSignature(i, signature));
        expect(text).toBe(formatBatchSignature({ index: i, size: n, signature, path: reference.inclusionProof(i) }));
      });
    }
  });

  it('the leaf of a canonical event is H(0x00 || its UTF-8 bytes), non-ASCII and NUL included', () => {
    for (const text of ['{}', '{"a":"ü😀\u2028"}', '{"a":"\u0000"}', 'x'.repeat(5000)]) {
      expect(canonicalLeafHash(text).toString('hex')).toBe(createHash('sha256').update(Buffer.from([0])).update(Buffer.from(text, 'utf8')).digest('hex'));
    }
  });

  it('signs the domain-separated message over the RFC 9162 root of the canonical events', () => {
    const { canonicals, signature } = batch(3);
    const root = new MerkleTree(canonicals.map(canonicalLeafHash)).root();
    const message = batchMessage(3, root);
    expect(message).toBe(`warden-audit-batch/v1\n3\n${root.toString('base64')}\n`);
    expect(new BatchTree(canonicals).message()).toBe(message);
    expect(signature).toHaveLength(64);
    expect(signCanonicalBatch(canonicals, producer.privateKey).equals(signature)).toBe(true); // Ed25519 is deterministic
  });

  it('round-trips every batch size 1..70, 500 and 1000: each event verifies alone, one Ed25519 verify per batch with a cache', () => {
    for (const n of [...Array.from({ length: 70 }, (_, i) => i + 1), 500, 1000]) {
      const { canonicals, signature, stored } = batch(n);
      expect(verifyBatch(canonicals, signature, producer.publicKey)).toBe(true);
      expect(verifyBatch(canonicals.map(canonicalLeafHash), signature, producer.publicKey)).toBe(true);
      expect(stored).toHaveLength(n);
      const cache = new BatchSignatureCache();
      stored.forEach((s, i) => {
        expect(isBatchSignature(s)).toBe(true);
        expect(parseBatchSignature(s)).toMatchObject({ index: i, size: n });
        expect(verifyRecordSignature(canonicals[i]!, s, producer.publicKey, cache)).toBe(true);
      });
      expect(cache.size).toBe(1);
      if (n <= 70) expect(verifyRecordSignature(canonicals[n - 1]!, stored[n - 1]!, producer.publicKey)).toBe(true);
    }
  });

  it('verifies off the main thread too', async () => {
    const { canonicals, signature } = batch(9);
    expect(await verifyBatchAsync(canonicals, signature, producer.publicKey)).toBe(true);
    expect(await verifyBatchAsync([...canonicals].reverse(), signature, producer.publicKey)).toBe(false);
    expect(await verifyBatchAsync(canonicals, signature, stranger.publicKey)).toBe(false);
    expect(await verifyBatchAsync(canonicals, signature.subarray(1), producer.publicKey)).toBe(false);
    expect(await verifyBatchAsync([], signature, producer.publicKey)).toBe(false);
  });

  it('refuses a tampered event, swapped events, and a batch in another order', () => {
    for (const n of [2, 3, 5, 7, 8, 13, 64, 70]) {
      const { events, canonicals, signature, stored } = batch(n);
      for (let i = 0; i < n; i += 1) {
        expect(verifyRecordSignature(canonicalEvent({ ...events[i]!, after: { rollout: -1 } }), stored[i]!, producer.publicKey)).toBe(false);
        const j = (i + 1) % n;
        expect(verifyRecordSignature(canonicals[j]!, stored[i]!, producer.publicKey)).toBe(false);
      }
      const swapped = [...canonicals];
      [swapped[0], swapped[n - 1]] = [swapped[n - 1]!, swapped[0]!];
      expect(verifyBatch(swapped, signature, producer.publicKey)).toBe(false);
      expect(verifyBatch(canonicals.slice(1), signature, producer.publicKey)).toBe(false);
    }
  });

  it('refuses a changed index, size or path', () => {
    for (let n = 1; n <= 20; n += 1) {
      const { canonicals, stored } = batch(n);
      for (let i = 0; i < n; i += 1) {
        const s = stored[i]!;
        const { path } = parseBatchSignature(s)!;
        const bad: string[] = [with_(s, { size: n + 1 })];
        if (n > 1) bad.push(with_(s, { size: n - 1 }));
        for (let j = 0; j < n; j += 1) if (j !== i) bad.push(with_(s, { index: j }));
        path.forEach((hash, k) => {
          const flipped = Buffer.from(hash);
          flipped[0]! ^= 1;
          bad.push(with_(s, { path: path.map((h, m) => (m === k ? flipped : h)) }));
          bad.push(with_(s, { path: path.filter((_, m) => m !== k) }));
        });
        bad.push(with_(s, { path: [...path, canonicalLeafHash('x')] }));
        for (const b of bad) expect(verifyRecordSignature(canonicals[i]!, b, producer.publicKey), `n=${n} i=${i} ${b}`).toBe(false);
      }
    }
  });

  it('never takes a per-event signature for a batch one, nor the reverse', () => {
    const { events, canonicals, signature, stored } = batch(1);
    const eventSignature = signEvent(events[0]!, producer.privateKey);
    // The genuine forms.
    expect(verifyRecordSignature(canonicals[0]!, eventSignature.toString('base64'), producer.publicKey)).toBe(true);
    expect(verifyRecordSignature(canonicals[0]!, stored[0]!, producer.publicKey)).toBe(true);
    // A per-event signature dressed as the batch of that one event.
    expect(verifyRecordSignature(canonicals[0]!, formatBatchSignature({ index: 0, size: 1, signature: eventSignature, path: [] }), producer.publicKey)).toBe(false);
    expect(verifyBatch(canonicals, eventSignature, producer.publicKey)).toBe(false);
    // A batch signature presented as the event's own signature.
    expect(verifyRecordSignature(canonicals[0]!, signature.toString('base64'), producer.publicKey)).toBe(false);
    // The stored batch text, decoded as if it were base64.
    expect(verifyRecordSignature(canonicals[0]!, stored[0]!.slice('batch-v1.'.length), producer.publicKey)).toBe(false);
  });

  it('refuses a batch signed by another key (and does not let a cached answer for one key serve another)', () => {
    const { canonicals, stored } = batch(6);
    const cache = new BatchSignatureCache();
    expect(verifyRecordSignature(canonicals[0]!, stored[0]!, producer.publicKey, cache)).toBe(true);
    expect(verifyRecordSignature(canonicals[1]!, stored[1]!, stranger.publicKey, cache)).toBe(false);
    const forged = batchRecordSignatures(canonicals, signCanonicalBatch(canonicals, stranger.privateKey));
    forged.forEach((s, i) => expect(verifyRecordSignature(canonicals[i]!, s, producer.publicKey, cache)).toBe(false));
    expect(verifyBatch(canonicals, signCanonicalBatch(canonicals, stranger.privateKey), producer.publicKey)).toBe(false);
  });

  it('parses only the exact form', () => {
    const { stored } = batch(5);
    const s = stored[2]!;
    const [, , , sig, ...path] = s.split('.');
    for (const bad of [
      s.replace('batch-v1.', 'batch-v2.'),
      s.replace('batch-v1.2.5.', 'batch-v1.02.5.'),
      s.replace('batch-v1.2.5.', 'batch-v1.2.05.'),
      s.replace('batch-v1.2.5.', 'batch-v1.5.5.'),
      s.replace('batch-v1.2.5.', 'batch-v1.-1.5.'),
      s.replace('batch-v1.2.5.', 'batch-v1.2.0.'),
      s.replace(sig!, sig!.replace(/=+$/, '')),
      s.replace(sig!, nonCanonical(sig!)),
      s.replace(path[0]!, path[0]!.slice(4)),
      `${s}.`,
      s.replace(`.${path[0]}`, `.${path[0]}.`),
      `${s}${'.'.concat(path[0]!).repeat(70)}`,
    ]) {
      if (bad === s) continue;
      expect(parseBatchSignature(bad), bad).toBeUndefined();
    }
    expect(parseBatchSignature(s)).toBeDefined();
    expect(isBatchSignature(signEvent(event(0), producer.privateKey).toString('base64'))).toBe(false);
  });

  it('property: any single-byte change to any event of a batch fails its verification', () => {
    let seed = 42;
    const random = (below: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % below;
    };
    const batches = [1, 2, 3, 7, 16, 33, 100].map(batch);
    for (let run = 0; run < 3000; run += 1) {
      const { canonicals, stored } = batches[random(batches.length)]!;
      const i = random(canonicals.length);
      const bytes = Buffer.from(canonicals[i]!, 'utf8');
      const at = random(bytes.length);
      bytes[at] = (bytes[at]! + 1 + random(255)) % 256;
      const changed = bytes.toString('utf8');
      expect(changed).not.toBe(canonicals[i]);
      expect(verifyRecordSignature(changed, stored[i]!, producer.publicKey), `byte ${at} of event ${i}`).toBe(false);
    }
  });
});
