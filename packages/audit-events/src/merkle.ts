/**
 * Merkle tree hashing, inclusion and consistency proofs exactly as RFC 9162
 * §2.1 (Certificate Transparency v2): SHA-256, leaf = H(0x00 || data),
 * node = H(0x01 || left || right), MTH({}) = H(""). Pure: no I/O.
 */
import nodeCrypto, { createHash, type BinaryLike } from 'node:crypto';

/**
 * `crypto.hash` (Node ≥ 20.12): one-shot hashing without a Hash object, about 1.5-2×
 * cheaper than createHash for inputs this small (64-700 bytes, Node 20.20). Read off the
 * default export so that an older Node 20 still loads this module (and uses createHash).
 */
const oneShot = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;

/**
 * SHA-256 of `data` (a string is hashed as UTF-8), in a Buffer of its own memory, as
 * createHash's digest is: leaf, node and chain hashes live long (Merkle trees, compact
 * ranges, each log's last link), and a 32-byte slice of Node's shared 8 KiB Buffer pool
 * (a faster way out of crypto.hash, through a latin1 string) would keep its whole slab alive.
 */
export function sha256(data: BinaryLike): Buffer {
  return oneShot !== undefined ? oneShot('sha256', data, 'buffer') : createHash('sha256').update(data).digest();
}

/** Hex SHA-256 of `data` (a string is hashed as UTF-8). */
export function sha256Hex(data: BinaryLike): string {
  return oneShot !== undefined ? oneShot('sha256', data, 'hex') : createHash('sha256').update(data).digest('hex');
}

/** H(0x00 || data). */
export function hashLeaf(data: Uint8Array): Buffer {
  const prefixed = Buffer.allocUnsafe(data.byteLength + 1);
  prefixed[0] = 0x00;
  prefixed.set(data, 1);
  return sha256(prefixed);
}

/** Scratch for the common node: two 32-byte children. Safe to share: hashing is synchronous. */
const NODE_INPUT = Buffer.alloc(65);

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  if (left.byteLength === 32 && right.byteLength === 32) {
    NODE_INPUT[0] = 0x01;
    NODE_INPUT.set(left, 1);
    NODE_INPUT.set(right, 33);
    return sha256(NODE_INPUT);
  }
  const input = Buffer.allocUnsafe(1 + left.byteLength + right.byteLength);
  input[0] = 0x01;
  input.set(left, 1);
  input.set(right, 1 + left.byteLength);
  return sha256(input);
}

export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

/** The largest power of two strictly smaller than n (n >= 2): RFC 9162's split of a tree of n leaves. */
export function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}

/**
 * A tree over a fixed array of leaf hashes that answers MTH of any range and
 * the proofs of RFC 9162 §2.1.3.1 and §2.1.4.1 in O(log² n) hashing, by
 * keeping every complete aligned subtree (≈ 2n hashes of memory).
 */
export class MerkleTree {
  private readonly levels: Buffer[][];

  constructor(leafHashes: readonly Buffer[]) {
    this.levels = [leafHashes.slice()];
    let level = this.levels[0]!;
    while (level.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i + 1 < level.length; i += 2) next.push(hashChildren(level[i]!, level[i + 1]!));
      this.levels.push(next);
      level = next;
    }
  }

  get size(): number {
    return this.levels[0]!.length;
  }

  leaf(index: number): Buffer {
    const leaf = this.levels[0]![index];
    if (leaf === undefined) throw new RangeError(`no leaf ${index} in a tree of size ${this.size}`);
    return leaf;
  }

  /** MTH(D[lo:hi]). */
  rangeHash(lo: number, hi: number): Buffer {
    const n = hi - lo;
    if (n === 0) return EMPTY_ROOT;
    if (isPowerOfTwo(n) && lo % n === 0) {
      const node = this.levels[Math.log2(n)]?.[lo / n];
      if (node !== undefined) return node;
    }
    if (n === 1) return this.leaf(lo);
    const k = splitPoint(n);
    return hashChildren(this.rangeHash(lo, lo + k), this.rangeHash(lo + k, hi));
  }

  root(treeSize = this.size): Buffer {
    this.checkSize(treeSize);
    return this.rangeHash(0, treeSize);
  }

  /** PATH(m, D[n]) of RFC 9162 §2.1.3.1. */
  inclusionProof(leafIndex: number, treeSize = this.size): Buffer[] {
    this.checkSize(treeSize);
    if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= treeSize) {
      throw new RangeError(`leaf ${leafIndex} is not in a tree of size ${treeSize}`);
    }
    const path = (m: number, lo: number, hi: number): Buffer[] => {
      const n = hi - lo;
      if (n === 1) return [];
      const k = splitPoint(n);
      return m < k
        ? [...path(m, lo, lo + k), this.rangeHash(lo + k, hi)]
        : [...path(m - k, lo + k, hi), this.rangeHash(lo, lo + k)];
    };
    return path(leafIndex, 0, treeSize);
  }

  /** PROOF(m, D[n]) of RFC 9162 §2.1.4.1. */
  consistencyProof(fromSize: number, toSize = this.size): Buffer[] {
    this.checkSize(toSize);
    if (!Number.isInteger(fromSize) || fromSize < 0 || fromSize > toSize) {
      throw new RangeError(`size ${fromSize} is not within a tree of size ${toSize}`);
    }
    if (fromSize === 0 || fromSize === toSize) return [];
    const subproof = (m: number, lo: number, hi: number, complete: boolean): Buffer[] => {
      const n = hi - lo;
      if (m === n) return complete ? [] : [this.rangeHash(lo, hi)];
      const k = splitPoint(n);
      return m <= k
        ? [...subproof(m, lo, lo + k, complete), this.rangeHash(lo + k, hi)]
        : [...subproof(m - k, lo + k, hi, false), this.rangeHash(lo, lo + k)];
    };
    return subproof(fromSize, 0, toSize, true);
  }

  private checkSize(treeSize: number): void {
    if (!Number.isInteger(treeSize) || treeSize < 0 || treeSize > this.size) {
      throw new RangeError(`tree size ${treeSize} is larger than the log (${this.size})`);
    }
  }
}

/**
 * The right edge of a growing tree: one hash per perfect subtree (O(log n)
 * memory). Appending and reading the root never need the old leaves.
 */
export class CompactRange {
  private readonly stack: { size: number; hash: Buffer }[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  append(leafHash: Buffer): void {
    this.stack.push({ size: 1, hash: leafHash });
    this.count += 1;
    for (;;) {
      const top = this.stack[this.stack.length - 1];
      const below = this.stack[this.stack.length - 2];
      if (top === undefined || below === undefined || top.size !== below.size) break;
      this.stack.splice(this.stack.length - 2, 2, { size: top.size * 2, hash: hashChildren(below.hash, top.hash) });
    }
  }

  root(): Buffer {
    const last = this.stack[this.stack.length - 1];
    if (last === undefined) return EMPTY_ROOT;
    let root = last.hash;
    for (let i = this.stack.length - 2; i >= 0; i -= 1) root = hashChildren(this.stack[i]!.hash, root);
    return root;
  }

  /** The perfect-subtree hashes, largest (leftmost) first. */
  hashes(): Buffer[] {
    return this.stack.map((entry) => entry.hash);
  }

  /**
   * Rebuilds the range of a tree of `size` leaves from its perfect-subtree
   * hashes (largest first, one per set bit of `size`); throws when they do not fit.
   */
  static fromHashes(size: number, hashes: readonly Buffer[]): CompactRange {
    const sizes: number[] = [];
    for (let bit = 2 ** 52; bit >= 1; bit /= 2) if (Math.floor(size / bit) % 2 === 1) sizes.push(bit);
    if (sizes.length !== hashes.length || hashes.some((h) => h.length !== 32)) throw new RangeError(`${hashes.length} hashes do not describe a tree of size ${size}`);
    const range = new CompactRange();
    sizes.forEach((n, i) => range.stack.push({ size: n, hash: hashes[i]! }));
    range.count = size;
    return range;
  }

  clone(): CompactRange {
    const copy = new CompactRange();
    copy.stack.push(...this.stack.map((entry) => ({ ...entry })));
    copy.count = this.count;
    return copy;
  }
}

/**
 * RFC 9162 §2.1.3.2 without the final comparison: the root that `path` leads to from
 * leaf `leafIndex` (hash `leafHash`) of a tree of `treeSize`, or undefined when the
 * path cannot be one (wrong length, index outside the tree).
 */
export function rootFromInclusion(leafIndex: number, treeSize: number, leafHash: Uint8Array, path: readonly Uint8Array[]): Buffer | undefined {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize) || leafIndex < 0 || leafIndex >= treeSize) return undefined;
  let fn = BigInt(leafIndex);
  let sn = BigInt(treeSize - 1);
  let r: Uint8Array = leafHash;
  for (const p of path) {
    if (sn === 0n) return undefined;
    if ((fn & 1n) === 1n || fn === sn) {
      r = hashChildren(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n ? Buffer.from(r) : undefined;
}

/** RFC 9162 §2.1.3.2: does `path` prove leaf `leafIndex` with `leafHash` is in the tree with `root`? */
export function verifyInclusion(
  leafIndex: number,
  treeSize: number,
  leafHash: Uint8Array,
  path: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  const computed = rootFromInclusion(leafIndex, treeSize, leafHash, path);
  return computed !== undefined && computed.equals(Buffer.from(root));
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree (toSize, toRoot) extends (fromSize, fromRoot)? */
export function verifyConsistency(
  fromSize: number,
  toSize: number,
  fromRoot: Uint8Array,
  toRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (fromSize < 0 || fromSize > toSize) return false;
  if (fromSize === toSize) return proof.length === 0 && Buffer.from(fromRoot).equals(Buffer.from(toRoot));
  if (fromSize === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(fromSize) ? [fromRoot, ...proof] : [...proof];
  let fn = BigInt(fromSize - 1);
  let sn = BigInt(toSize - 1);
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr: Uint8Array = path[0]!;
  let sr: Uint8Array = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0n) return false;
    if ((fn & 1n) === 1n || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while ((fn & 1n) === 0n && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && Buffer.from(fr).equals(Buffer.from(fromRoot)) && Buffer.from(sr).equals(Buffer.from(toRoot));
}

/**
 * MTH(D[lo:hi]) from a source of perfect aligned subtree hashes (`perfect(start, size)`,
 * size a power of two, start a multiple of it), splitting as RFC 9162 §2.1.1 does — for
 * trees kept as tiles rather than in memory.
 */
export async function rangeHashFrom(lo: number, hi: number, perfect: (start: number, size: number) => Promise<Buffer>): Promise<Buffer> {
  const n = hi - lo;
  if (n === 0) return EMPTY_ROOT;
  if (isPowerOfTwo(n) && lo % n === 0) return perfect(lo, n);
  const k = splitPoint(n);
  return hashChildren(await rangeHashFrom(lo, lo + k, perfect), await rangeHashFrom(lo + k, hi, perfect));
}

/** PROOF(m, D[n]) of RFC 9162 §2.1.4.1 over any source of MTH(D[lo:hi]). */
export async function consistencyProofFrom(fromSize: number, toSize: number, rangeHash: (lo: number, hi: number) => Promise<Buffer>): Promise<Buffer[]> {
  if (!Number.isInteger(fromSize) || fromSize < 0 || fromSize > toSize) throw new RangeError(`size ${fromSize} is not within a tree of size ${toSize}`);
  if (fromSize === 0 || fromSize === toSize) return [];
  const subproof = async (m: number, lo: number, hi: number, complete: boolean): Promise<Buffer[]> => {
    const n = hi - lo;
    if (m === n) return complete ? [] : [await rangeHash(lo, hi)];
    const k = splitPoint(n);
    return m <= k
      ? [...(await subproof(m, lo, lo + k, complete)), await rangeHash(lo + k, hi)]
      : [...(await subproof(m - k, lo + k, hi, false)), await rangeHash(lo, lo + k)];
  };
  return subproof(fromSize, 0, toSize, true);
}
