/**
 * c2sp.org/tlog-tiles@v0.1.0: tile paths, tile contents and entry bundles. Pure: no I/O.
 *
 * A tile at level L, index N holds up to 256 hashes, hash i being
 * MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]); a partial tile (width W < 256) is
 * served at `tile/<L>/<N>.p/<W>`. N is written in 3-digit groups, all but the last
 * prefixed with `x` (1234067 → `x001/x234/067`). An entry bundle is the same range of
 * level 0 as a sequence of big-endian uint16 length-prefixed entries.
 */
import { hashChildren } from './merkle.js';

export const TILE_WIDTH = 256;
const MAX_ENTRY_BYTES = 0xffff;

export type TilePath = {
  /** 0–63, or 'entries' for an entry bundle. */
  readonly level: number | 'entries';
  readonly index: number;
  /** 256 for a full tile, 1–255 for a partial one. */
  readonly width: number;
};

export function formatTileIndex(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError('a tile index is a non-negative integer');
  const groups: string[] = [];
  let n = index;
  do {
    groups.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
}

export function formatTilePath(tile: TilePath): string {
  const suffix = tile.width === TILE_WIDTH ? '' : `.p/${tile.width}`;
  return `tile/${tile.level}/${formatTileIndex(tile.index)}${suffix}`;
}

/** Parses the part of a URL path after `<prefix>/` (`tile/…`); undefined when it is not a tile path. */
export function parseTilePath(path: string): TilePath | undefined {
  const match = /^tile\/(entries|0|[1-9]\d?)\/((?:x\d{3}\/)*)(\d{3})(?:\.p\/([1-9]\d{0,2}))?$/.exec(path);
  if (match === null) return undefined;
  const [, levelText, xs, last, widthText] = match as unknown as [string, string, string, string, string | undefined];
  const level = levelText === 'entries' ? 'entries' : Number(levelText);
  if (typeof level === 'number' && level > 63) return undefined;
  const groups = [...xs.split('/').filter((g) => g !== '').map((g) => g.slice(1)), last];
  // No superfluous leading groups: `x000/001` is not the canonical path of 1.
  if (groups.length > 1 && groups[0] === '000') return undefined;
  if (groups.length > 5) return undefined;
  const index = groups.reduce((n, g) => n * 1000 + Number(g), 0);
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && width > 255) return undefined;
  return { level, index, width };
}

/** The leaves [start, end) a tile's hashes cover. */
export function tileLeafRange(tile: TilePath): { start: number; end: number } {
  const level = tile.level === 'entries' ? 0 : tile.level;
  const span = TILE_WIDTH ** level;
  return { start: tile.index * TILE_WIDTH * span, end: (tile.index * TILE_WIDTH + tile.width) * span };
}

/** True when the tile is fully determined by a tree of `treeSize` leaves. */
export function tileWithin(tile: TilePath, treeSize: number): boolean {
  return tileLeafRange(tile).end <= treeSize;
}

/** MTH of a perfect run of 2^k leaf hashes. */
function perfectRoot(hashes: readonly Buffer[]): Buffer {
  let level = hashes.slice();
  while (level.length > 1) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/**
 * The tile's bytes from the leaf hashes of its range (`leafHashes[i]` is leaf
 * start + i; see {@link tileLeafRange}): each of its hashes covers 256^L leaves.
 */
export function tileFromLeafHashes(tile: TilePath, leafHashes: readonly Buffer[]): Buffer {
  if (tile.level === 'entries') throw new TypeError('an entry bundle is not a hash tile');
  const span = TILE_WIDTH ** tile.level;
  if (leafHashes.length !== tile.width * span) throw new RangeError(`a tile of width ${tile.width} at level ${tile.level} needs ${tile.width * span} leaf hashes, not ${leafHashes.length}`);
  const out: Buffer[] = [];
  for (let i = 0; i < tile.width; i += 1) out.push(perfectRoot(leafHashes.slice(i * span, (i + 1) * span)));
  return Buffer.concat(out);
}

/** An entry bundle: each entry as a big-endian uint16 length followed by its bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const [i, entry] of entries.entries()) {
    if (entry.length > MAX_ENTRY_BYTES) throw new RangeError(`entry ${i} is ${entry.length} bytes; tlog-tiles bundles hold at most 65535`);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(entry.length);
    parts.push(length, Buffer.from(entry));
  }
  return Buffer.concat(parts);
}
