import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CompactRange, EMPTY_ROOT, hashChildren, hashLeaf, MerkleTree, verifyConsistency, verifyInclusion } from './merkle.js';

// RFC 6962 / RFC 9162 reference leaves and roots (transparency-dev/merkle testonly vectors).
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const hex = (b: Buffer) => b.toString('hex');

/** MTH exactly as written in RFC 9162 §2.1.1, as an oracle. */
function mth(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return hashChildren(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

describe('merkle (RFC 9162 §2.1)', () => {
  const ct = LEAVES.map(hashLeaf);

  it('matches the published roots for sizes 0..8', () => {
    expect(hex(EMPTY_ROOT)).toBe(ROOTS[0]);
    const tree = new MerkleTree(ct);
    const range = new CompactRange();
    expect(hex(range.root())).toBe(ROOTS[0]);
    for (let n = 1; n <= 8; n += 1) {
      range.append(ct[n - 1]!);
      expect(hex(tree.root(n)), `size ${n}`).toBe(ROOTS[n]);
      expect(hex(range.root()), `compact range size ${n}`).toBe(ROOTS[n]);
    }
  });

  it('produces the published inclusion proofs', () => {
    const tree = new MerkleTree(ct);
    expect(tree.inclusionProof(0, 8).map(hex)).toEqual([
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ]);
    expect(tree.inclusionProof(5, 8).map(hex)).toEqual([
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ]);
    expect(tree.consistencyProof(2, 5).map(hex)).toEqual([
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ]);
  });

  const many = Array.from({ length: 41 }, (_, i) => hashLeaf(Buffer.from([i, i * 7 % 256])));

  it('agrees with the RFC recursion for every size up to 41, incrementally too', () => {
    const range = new CompactRange();
    const tree = new MerkleTree(many);
    for (let n = 1; n <= many.length; n += 1) {
      range.append(many[n - 1]!);
      const want = hex(mth(many.slice(0, n)));
      expect(hex(tree.root(n))).toBe(want);
      expect(hex(range.root())).toBe(want);
      const resumed = CompactRange.fromHashes(n, range.hashes());
      expect(hex(resumed.root())).toBe(want);
      resumed.append(many[0]!);
      expect(hex(resumed.root())).toBe(hex(mth([...many.slice(0, n), many[0]!])));
    }
    expect(() => CompactRange.fromHashes(5, [many[0]!])).toThrow(RangeError);
  });

  it('every inclusion proof verifies, and a wrong leaf, index, root or path does not', () => {
    const tree = new MerkleTree(many);
    for (let n = 1; n <= many.length; n += 1) {
      const root = tree.root(n);
      for (let m = 0; m < n; m += 1) {
        const path = tree.inclusionProof(m, n);
        expect(verifyInclusion(m, n, many[m]!, path, root), `leaf ${m} of ${n}`).toBe(true);
        expect(verifyInclusion(m, n, many[(m + 1) % many.length]!, path, root)).toBe(false);
        if (n > 1) expect(verifyInclusion((m + 1) % n, n, many[m]!, path, root)).toBe(false);
        expect(verifyInclusion(m, n, many[m]!, path, tree.root(n === 1 ? 2 : n - 1))).toBe(false);
        if (path.length > 0) {
          const bad = path.map((p, i) => (i === path.length - 1 ? hashLeaf(p) : p));
          expect(verifyInclusion(m, n, many[m]!, bad, root)).toBe(false);
          expect(verifyInclusion(m, n, many[m]!, path.slice(0, -1), root)).toBe(false);
          expect(verifyInclusion(m, n, many[m]!, [...path, path[0]!], root)).toBe(false);
        }
      }
    }
  });

  it('every consistency proof verifies, and a changed tree or proof does not', () => {
    const tree = new MerkleTree(many);
    const forked = new MerkleTree(many.map((h, i) => (i === 3 ? hashLeaf(Buffer.from('forged')) : h)));
    for (let n = 1; n <= many.length; n += 1) {
      for (let m = 0; m <= n; m += 1) {
        const proof = tree.consistencyProof(m, n);
        expect(verifyConsistency(m, n, tree.root(m), tree.root(n), proof), `${m} -> ${n}`).toBe(true);
        if (m > 0 && m < n) {
          if (m > 3) expect(verifyConsistency(m, n, forked.root(m), tree.root(n), proof)).toBe(false);
          if (n > 3) expect(verifyConsistency(m, n, tree.root(m), forked.root(n), proof)).toBe(false);
          expect(verifyConsistency(m, n, tree.root(m), tree.root(n), proof.slice(0, -1))).toBe(false);
          const bad = proof.map((p, i) => (i === 0 ? hashLeaf(p) : p));
          expect(verifyConsistency(m, n, tree.root(m), tree.root(n), bad)).toBe(false);
        }
      }
    }
  });

  it('hashes leaves and nodes as createHash does, wherever the bytes lie', () => {
    const reference = (prefix: number, ...parts: Uint8Array[]) => {
      const h = createHash('sha256').update(Buffer.from([prefix]));
      for (const part of parts) h.update(part);
      return h.digest('hex');
    };
    const pool = Buffer.from('\u0000abc\u0001def', 'latin1'); // "abc" follows a 0x00, "def" a 0x01
    const shared = new Uint8Array(new SharedArrayBuffer(16));
    shared.set([0, 1, 2, 3, 0, 5, 6], 0);
    const leaves: Uint8Array[] = [pool.subarray(1, 4), pool.subarray(5), pool.subarray(0, 4), Buffer.alloc(0), new Uint8Array([0, 0, 0]).subarray(1), shared.subarray(1, 4), shared.subarray(5, 7), new Uint8Array(5000).fill(9).subarray(1)];
    for (const [i, data] of leaves.entries()) {
      const before = Buffer.from(data).toString('hex');
      expect(hex(hashLeaf(data)), `leaf ${i}`).toBe(reference(0, data));
      expect(Buffer.from(data).toString('hex'), `leaf ${i} unchanged`).toBe(before);
    }
    const a = hashLeaf(Buffer.from('a'));
    const b = hashLeaf(Buffer.from('b'));
    for (const [left, right] of [[a, b], [b, a], [a, a], [a.subarray(1), b], [Buffer.alloc(0), b], [a, Buffer.concat([b, b])]] as const) {
      expect(hex(hashChildren(left, right))).toBe(reference(1, left, right));
    }
    expect(hex(hashChildren(a, b))).toBe(hex(hashChildren(a, b))); // the shared scratch carries nothing over
    // Hashes live long (trees, compact ranges): each owns its 32 bytes, none pins a slab of the Buffer pool.
    for (const h of [a, hashChildren(a, b), hashChildren(a.subarray(1), b)]) expect(h.buffer.byteLength).toBe(32);
  });
});

