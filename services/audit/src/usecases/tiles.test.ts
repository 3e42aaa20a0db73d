/**
 * TlogTiles over a store double that only answers leaf hashes: tiles and consistency
 * proofs equal the in-memory MerkleTree's (the reference, tested against RFC vectors),
 * for a log spanning level-1 tiles; proofs read a bounded number of leaves once full
 * tiles are cached; tiles beyond the checkpoint are NOT_FOUND.
 */
import { describe, expect, it } from 'vitest';
import { hashLeaf, MerkleTree } from '@warden/audit-events';
import { NotFoundError } from '@warden/errors';
import type { AuditStore, CheckpointRow } from '../domain/ports.js';
import { TlogTiles } from './tiles.js';

const SIZE = 70_000;
const leaves = Array.from({ length: SIZE }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
const tree = new MerkleTree(leaves);

function tilesOver(size: number) {
  let leavesRead = 0;
  const store = {
    leafHashes: async (_org: string, from: number, to: number) => {
      leavesRead += Math.min(to, size) - from;
      return leaves.slice(from, Math.min(to, size)).map((h) => h.toString('hex'));
    },
  } as unknown as AuditStore;
  const latest = { org: 'acme', treeSize: size } as CheckpointRow;
  const tiles = new TlogTiles({ store, latestCheckpoint: () => latest });
  return { tiles, read: () => leavesRead };
}

describe('TlogTiles', () => {
  it('consistency proofs from tiles equal the Merkle tree’s, across level-1 tiles', async () => {
    const { tiles } = tilesOver(SIZE);
    for (const [m, n] of [[1, 2], [3, 7], [255, 256], [256, 70_000], [1000, 65_536], [65_535, 65_537], [65_536, 70_000], [69_999, 70_000], [12_345, 67_891]] as const) {
      expect(await tiles.consistencyProof('acme', m, n), `${m} → ${n}`).toEqual(tree.consistencyProof(m, n));
    }
  });

  it('once full tiles are cached, a proof to a grown tree reads only the right edge (not the whole log)', async () => {
    const { tiles, read } = tilesOver(SIZE);
    await tiles.consistencyProof('acme', 60_000, 69_000);
    const before = read();
    await tiles.consistencyProof('acme', 69_000, 69_999);
    // The level-0 tiles completed since (about 1,000 leaves) and a few partial edge tiles (≤ 255 each): not 70,000.
    expect(read() - before).toBeLessThan(2500);
  });

  it('serves tiles equal to the tree’s range hashes; refuses what the checkpoint does not determine', async () => {
    const { tiles } = tilesOver(SIZE);
    const level1 = await tiles.tile('acme', { level: 1, index: 0, width: 17 });
    expect(level1.subarray(16 * 32, 17 * 32)).toEqual(tree.rangeHash(16 * 256, 17 * 256));
    const level0 = await tiles.tile('acme', { level: 0, index: 273, width: 112 });
    expect(level0.subarray(111 * 32)).toEqual(leaves[SIZE - 1]);
    await expect(tiles.tile('acme', { level: 0, index: 273, width: 113 })).rejects.toBeInstanceOf(NotFoundError);
    const full1 = await tiles.tile('acme', { level: 1, index: 0, width: 256 });
    expect(full1.subarray(255 * 32)).toEqual(tree.rangeHash(255 * 256, 65_536));
    expect(await tiles.tile('acme', { level: 2, index: 0, width: 1 })).toEqual(tree.rangeHash(0, 65_536));
    await expect(tiles.tile('acme', { level: 1, index: 1, width: 18 })).rejects.toBeInstanceOf(NotFoundError);
  });
});
