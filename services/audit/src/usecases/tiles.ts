/**
 * The log as c2sp.org/tlog-tiles@v0.1.0 resources (issue 16 item 3): the latest
 * (cosigned) checkpoint, Merkle tree tiles and entry bundles of an org's log, built from
 * the store's leaf hashes and records. Only tiles the latest checkpoint determines are
 * served (a partial tile of an older checkpoint size is still determined: the log only
 * grows); anything else is NOT_FOUND. A level-L hash is the root of a full tile at L−1,
 * so tiles above level 1 are computed from cached full tiles below, never from millions
 * of leaves at once. Entries are the leaf data (canonical JSON of the logged record) that
 * hash to the level-0 tile; a bundle with a payload dropped by retention is NOT_FOUND
 * (pruned, as tlog-tiles allows), one with an entry over 65535 bytes FAILED_PRECONDITION.
 *
 * The same tiles give consistency proofs (witnessing) in O(log n) tile reads: every node of
 * a proof is a perfect aligned subtree, i.e. the root of 2^r consecutive hashes of one tile
 * at level ⌊k/8⌋ (size 2^k), and full tiles are cached.
 */
import {
  consistencyProofFrom,
  encodeEntryBundle,
  leafData,
  MerkleTree,
  rangeHashFrom,
  tileFromLeafHashes,
  tileLeafRange,
  tileWithin,
  TILE_WIDTH,
  type TilePath,
} from '@warden/audit-events';
import { FailedPreconditionError, NotFoundError } from '@warden/errors';
import type { AuditStore, CheckpointRow } from '../domain/ports.js';

/** Leaves read in one store round-trip at most (the level-0 tiles under one level-1 tile). */
const DIRECT_LEAVES = 65_536;
/** Full tiles kept in memory (8 KiB each, 32 MiB in all). */
const CACHE_TILES = 4096;

export type TilesDeps = {
  readonly store: AuditStore;
  readonly latestCheckpoint: (org: string) => CheckpointRow | undefined;
};

export class TlogTiles {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly deps: TilesDeps) {}

  checkpoint(org: string): string {
    const latest = this.deps.latestCheckpoint(org);
    if (latest === undefined) throw new NotFoundError(`the log of ${org} has no checkpoint yet`);
    return latest.note;
  }

  private published(org: string, tile: TilePath): void {
    const size = this.deps.latestCheckpoint(org)?.treeSize ?? 0;
    if (!tileWithin(tile, size)) throw new NotFoundError(`the latest checkpoint of ${org} (size ${size}) does not determine that tile`);
  }

  async tile(org: string, tile: TilePath, signal?: AbortSignal): Promise<Buffer> {
    if (tile.level === 'entries') return this.entries(org, tile, signal);
    this.published(org, tile);
    return this.build(org, tile.level, tile.index, tile.width, signal);
  }

  /** RFC 9162 consistency proof between two sizes of the org's log, from tiles. */
  consistencyProof(org: string, fromSize: number, toSize: number, signal?: AbortSignal): Promise<Buffer[]> {
    return consistencyProofFrom(fromSize, toSize, (lo, hi) => rangeHashFrom(lo, hi, (start, size) => this.perfectSubtree(org, start, size, toSize, signal)));
  }

  /** MTH of the perfect aligned subtree [start, start + size) of a tree of `treeSize` leaves. */
  private async perfectSubtree(org: string, start: number, size: number, treeSize: number, signal?: AbortSignal): Promise<Buffer> {
    let level = 0;
    while (TILE_WIDTH ** (level + 1) <= size) level += 1;
    const span = TILE_WIDTH ** level;
    const first = start / span; // index of the first level-`level` hash
    const index = Math.floor(first / TILE_WIDTH);
    const width = Math.min(TILE_WIDTH, Math.floor(treeSize / span) - index * TILE_WIDTH);
    const tile = await this.build(org, level, index, width, signal);
    const offset = first - index * TILE_WIDTH;
    const hashes: Buffer[] = [];
    for (let i = offset; i < offset + size / span; i += 1) hashes.push(tile.subarray(i * 32, i * 32 + 32));
    return new MerkleTree(hashes).root();
  }

  private async build(org: string, level: number, index: number, width: number, signal?: AbortSignal): Promise<Buffer> {
    const key = `${org} ${level} ${index}`;
    if (width === TILE_WIDTH) {
      const hit = this.cache.get(key);
      if (hit !== undefined) return hit;
    }
    const tile = { level, index, width };
    const { start, end } = tileLeafRange(tile);
    let bytes: Buffer;
    if (level === 0) {
      bytes = tileFromLeafHashes(tile, await this.leaves(org, start, end, signal));
    } else {
      if (level === 1) await this.prefetchLevel0(org, index, width, signal);
      const roots: Buffer[] = [];
      for (let i = 0; i < width; i += 1) {
        const below = await this.build(org, level - 1, index * TILE_WIDTH + i, TILE_WIDTH, signal);
        roots.push(new MerkleTree(chunk(below)).root());
      }
      bytes = Buffer.concat(roots);
    }
    if (width === TILE_WIDTH) this.remember(key, bytes);
    return bytes;
  }

  private async leaves(org: string, start: number, end: number, signal?: AbortSignal): Promise<Buffer[]> {
    const hashes = await this.deps.store.leafHashes(org, start, end, { signal });
    if (hashes.length !== end - start) throw new FailedPreconditionError(`the stored log of ${org} lacks leaves in ${start}..${end - 1}: run Verify`);
    return hashes.map((h) => Buffer.from(h, 'hex'));
  }

  /** The full level-0 tiles under level-1 tile `index` that are not cached, read in one store round-trip. */
  private async prefetchLevel0(org: string, index: number, width: number, signal?: AbortSignal): Promise<void> {
    const missing: number[] = [];
    for (let i = 0; i < width; i += 1) if (!this.cache.has(`${org} 0 ${index * TILE_WIDTH + i}`)) missing.push(index * TILE_WIDTH + i);
    if (missing.length < 2) return;
    const first = missing[0]!;
    const last = missing[missing.length - 1]!;
    if ((last - first + 1) * TILE_WIDTH > DIRECT_LEAVES) return;
    const hashes = await this.leaves(org, first * TILE_WIDTH, (last + 1) * TILE_WIDTH, signal);
    for (const n of missing) {
      const offset = (n - first) * TILE_WIDTH;
      this.remember(`${org} 0 ${n}`, tileFromLeafHashes({ level: 0, index: n, width: TILE_WIDTH }, hashes.slice(offset, offset + TILE_WIDTH)));
    }
  }

  private remember(key: string, tile: Buffer): void {
    if (this.cache.size >= CACHE_TILES) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(key, tile);
  }

  private async entries(org: string, tile: TilePath, signal?: AbortSignal): Promise<Buffer> {
    this.published(org, tile);
    const { start, end } = tileLeafRange(tile);
    const entries: Buffer[] = [];
    for await (const record of this.deps.store.scan(org, start, end, { signal })) {
      if (record.seq !== start + entries.length) continue;
      if (record.payloadExpired) throw new NotFoundError(`entries ${start}..${end - 1} of ${org} were pruned by retention`);
      entries.push(leafData(record));
    }
    if (entries.length !== end - start) throw new FailedPreconditionError(`the stored log of ${org} lacks entries in ${start}..${end - 1}: run Verify`);
    try {
      return encodeEntryBundle(entries);
    } catch (error) {
      throw new FailedPreconditionError(`${(error as Error).message} (AUDIT_MAX_EVENT_BYTES allows larger events than tlog-tiles can carry)`);
    }
  }
}

/** 32-byte hashes of a tile. */
function chunk(tile: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < tile.length; i += 32) out.push(tile.subarray(i, i + 32));
  return out;
}
