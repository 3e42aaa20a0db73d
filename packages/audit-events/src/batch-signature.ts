/**
 * Batch signatures: a producer signs the RFC 9162 Merkle root of a batch of events once
 * (one Ed25519 signature instead of one per event), and each event keeps a
 * self-contained proof that it is in that signed batch. Pure: node:crypto only.
 *
 * The batch tree: leaf i = RFC 9162 leaf hash of the RFC 8785 canonical JSON (UTF-8) of
 * event i, in request order; root = MTH over the leaves (merkle.ts).
 *
 * What is signed (domain-separated: an event signature signs canonical JSON, which
 * starts with `{`, so neither can be taken for the other):
 *
 *     warden-audit-batch/v1\n<size>\n<base64 root>\n
 *
 * with <size> in decimal and <base64 root> the standard base64 (with padding) of the
 * 32-byte root.
 *
 * The stored signature of a batch-signed event (`LogRecord.signature`), one text:
 *
 *     batch-v1.<index>.<size>.<base64 signature>[.<base64 path hash>]*
 *
 * <index> is the event's 0-based position in the batch, <size> the batch's size (both
 * decimal, no leading zeros), the signature the 64-byte batch signature, then the
 * RFC 9162 inclusion path of the event in the batch tree (PATH(index, D[size]), each
 * hash 32 bytes). A per-event signature is stored as the plain base64 of its 64 bytes;
 * base64 has no `.` and no `-`, so the two forms cannot be confused.
 *
 * To check one event: recompute its leaf from its canonical JSON, follow the path to a
 * root (RFC 9162 §2.1.3.2), and verify the signature over the message above for that
 * size and root with the producer's key.
 */
import { sign, type KeyObject } from 'node:crypto';
import { canonicalEvent, type AuditEvent } from './event.js';
import { rawPublicKey, verifyCanonicalSignature, verifyCanonicalSignatureAsync } from './keys.js';
import { MerkleTree, rootFromInclusion, sha256, splitPoint } from './merkle.js';

/** The first field of a stored batch signature. */
export const BATCH_SIGNATURE_VERSION = 'batch-v1';
/** The first line of the signed batch message. */
export const BATCH_MESSAGE_DOMAIN = 'warden-audit-batch/v1';

/** Canonical JSON texts (hashed to leaves here) or leaf hashes already computed. */
export type BatchLeaves = readonly string[] | readonly Uint8Array[];

/** What a stored batch signature carries. */
export type BatchProof = {
  readonly index: number;
  readonly size: number;
  /** The 64-byte Ed25519 signature over {@link batchMessage}. */
  readonly signature: Buffer;
  /** PATH(index, D[size]) of RFC 9162 §2.1.3.1. */
  readonly path: readonly Buffer[];
};

/** The RFC 9162 leaf hash of a canonical event. */
export function canonicalLeafHash(canonical: string): Buffer {
  // H(0x00 || UTF-8 of canonical): the NUL character is the 0x00 byte, hashed as text without a Buffer.
  return sha256(`\u0000${canonical}`);
}

function leafHashes(leaves: BatchLeaves): Buffer[] {
  return (leaves as readonly (string | Uint8Array)[]).map((leaf) => (typeof leaf === 'string' ? canonicalLeafHash(leaf) : Buffer.from(leaf)));
}

/** The text a batch signature signs (see the module comment). */
export function batchMessage(size: number, root: Uint8Array): string {
  return `${BATCH_MESSAGE_DOMAIN}\n${size}\n${Buffer.from(root).toString('base64')}\n`;
}

/**
 * A MerkleTree that remembers the hashes of its right edge: MTH(D[lo:size]) for a size
 * that is not a power of two is not kept by MerkleTree, and every inclusion path of a
 * leaf left of it needs it again. With it, all paths of a batch cost O(n log n) hashing
 * and base64 once per node.
 */
class EdgeMemoTree extends MerkleTree {
  private readonly edge = new Map<number, Buffer>();
  private readonly texts = new WeakMap<Buffer, string>();

  override rangeHash(lo: number, hi: number): Buffer {
    if (hi !== this.size) return super.rangeHash(lo, hi);
    let hash = this.edge.get(lo);
    if (hash === undefined) {
      hash = super.rangeHash(lo, hi);
      this.edge.set(lo, hash);
    }
    return hash;
  }

  /** Base64 of a node hash, computed once per node. */
  text(hash: Buffer): string {
    let text = this.texts.get(hash);
    if (text === undefined) {
      text = hash.toString('base64');
      this.texts.set(hash, text);
    }
    return text;
  }
}

/** A batch's tree, computed once: its root, its signed message and every event's stored signature. */
export class BatchTree {
  private readonly tree: EdgeMemoTree;
  readonly root: Buffer;

  constructor(leaves: BatchLeaves) {
    if (leaves.length === 0) throw new RangeError('a batch has at least one event');
    this.tree = new EdgeMemoTree(leafHashes(leaves));
    this.root = this.tree.root();
  }

  get size(): number {
    return this.tree.size;
  }

  /** The text to sign or verify. */
  message(): string {
    return batchMessage(this.size, this.root);
  }

  /** The stored signature of event `index`, given the batch signature (see {@link formatBatchSignature}). */
  recordSignature(index: number, signature: Uint8Array): string {
    return this.format(index, Buffer.from(signature).toString('base64'));
  }

  /**
   * Every event's stored signature, in order: the same texts as {@link recordSignature},
   * built top-down. PATH(m, D[lo:hi]) ends with the same sibling hashes for every leaf of
   * a subtree, so each node's base64 is written once and the texts share their tails
   * (no path array, map and join per event).
   */
  recordSignatures(signature: Uint8Array): string[] {
    const size = this.size;
    const head = `${BATCH_SIGNATURE_VERSION}.`;
    const middle = `.${size}.${Buffer.from(signature).toString('base64')}`;
    const out = new Array<string>(size);
    const walk = (lo: number, hi: number, suffix: string): void => {
      const n = hi - lo;
      if (n === 1) {
        out[lo] = `${head}${lo}${middle}${suffix}`;
        return;
      }
      const k = splitPoint(n);
      walk(lo, lo + k, `.${this.tree.rangeHash(lo + k, hi).toString('base64')}${suffix}`);
      walk(lo + k, hi, `.${this.tree.rangeHash(lo, lo + k).toString('base64')}${suffix}`);
    };
    walk(0, size, '');
    return out;
  }

  private format(index: number, signatureText: string): string {
    const path = this.tree.inclusionProof(index).map((hash) => `.${this.tree.text(hash)}`).join('');
    return `${BATCH_SIGNATURE_VERSION}.${index}.${this.size}.${signatureText}${path}`;
  }
}

/** Ed25519 (64 bytes) over the batch message of the events, in this order. */
export function signBatch(events: readonly AuditEvent[], privateKey: KeyObject): Buffer {
  return signCanonicalBatch(events.map(canonicalEvent), privateKey);
}

/** {@link signBatch} over canonical JSON texts (or leaf hashes) already computed. */
export function signCanonicalBatch(leaves: BatchLeaves, privateKey: KeyObject): Buffer {
  return sign(null, Buffer.from(new BatchTree(leaves).message(), 'utf8'), privateKey);
}

/** Does `signature` sign the batch of these canonical events (or leaf hashes), in this order? */
export function verifyBatch(leaves: BatchLeaves, signature: Uint8Array, publicKey: KeyObject): boolean {
  const message = batchMessageOf(leaves);
  return message !== undefined && verifyCanonicalSignature(message, signature, publicKey);
}

/** {@link verifyBatch} with the Ed25519 check off the main thread (libuv thread pool). */
export function verifyBatchAsync(leaves: BatchLeaves, signature: Uint8Array, publicKey: KeyObject): Promise<boolean> {
  const message = batchMessageOf(leaves);
  return message === undefined ? Promise.resolve(false) : verifyCanonicalSignatureAsync(message, signature, publicKey);
}

/** The batch message of these leaves, or undefined when they do not make a tree (there are none). */
function batchMessageOf(leaves: BatchLeaves): string | undefined {
  try {
    return new BatchTree(leaves).message();
  } catch {
    return undefined;
  }
}

/** Every event's stored signature for a batch and its signature (the tree is computed once). */
export function batchRecordSignatures(leaves: BatchLeaves, signature: Uint8Array): string[] {
  return new BatchTree(leaves).recordSignatures(signature);
}

export function formatBatchSignature(proof: BatchProof): string {
  return [BATCH_SIGNATURE_VERSION, String(proof.index), String(proof.size), proof.signature.toString('base64'), ...proof.path.map((h) => h.toString('base64'))].join('.');
}

/** True when a stored signature is in the batch form (it may still be malformed). */
export function isBatchSignature(stored: string): boolean {
  return stored.startsWith(`${BATCH_SIGNATURE_VERSION}.`);
}

const DECIMAL = /^(0|[1-9][0-9]{0,15})$/;

/** Strict standard base64 of exactly `bytes` bytes (one text per value). */
function strictBase64(text: string, bytes: number): Buffer | undefined {
  const decoded = Buffer.from(text, 'base64');
  return decoded.length === bytes && decoded.toString('base64') === text ? decoded : undefined;
}

/** The parts of a stored batch signature, or undefined when it is not exactly one. */
export function parseBatchSignature(stored: string): BatchProof | undefined {
  const parts = stored.split('.');
  if (parts.length < 4 || parts.length > 4 + 64 || parts[0] !== BATCH_SIGNATURE_VERSION) return undefined;
  const [, indexText, sizeText, signatureText, ...pathTexts] = parts as [string, string, string, string, ...string[]];
  if (!DECIMAL.test(indexText) || !DECIMAL.test(sizeText)) return undefined;
  const index = Number(indexText);
  const size = Number(sizeText);
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || size < 1 || index >= size) return undefined;
  const signature = strictBase64(signatureText, 64);
  if (signature === undefined) return undefined;
  const path: Buffer[] = [];
  for (const text of pathTexts) {
    const hash = strictBase64(text, 32);
    if (hash === undefined) return undefined;
    path.push(hash);
  }
  return { index, size, signature, path };
}

/**
 * Remembers batch signatures already checked, keyed by public key + root + signature, so a
 * verifier walking a 500-event batch does one Ed25519 verify, not 500. Bounded (oldest dropped).
 */
export class BatchSignatureCache {
  private readonly results = new Map<string, boolean>();
  private readonly keyIds = new WeakMap<KeyObject, string>();

  constructor(private readonly maxEntries = 10_000) {}

  get size(): number {
    return this.results.size;
  }

  /** Ed25519 verify of the batch message, or the answer remembered for the same key, root and signature. */
  check(publicKey: KeyObject, size: number, root: Buffer, signature: Buffer): boolean {
    const id = `${this.keyId(publicKey)}.${size}.${root.toString('base64')}.${signature.toString('base64')}`;
    const known = this.results.get(id);
    if (known !== undefined) return known;
    const ok = verifyCanonicalSignature(batchMessage(size, root), signature, publicKey);
    if (this.results.size >= this.maxEntries) {
      const oldest = this.results.keys().next();
      if (oldest.done !== true) this.results.delete(oldest.value);
    }
    this.results.set(id, ok);
    return ok;
  }

  private keyId(key: KeyObject): string {
    let id = this.keyIds.get(key);
    if (id === undefined) {
      try {
        id = rawPublicKey(key).toString('base64');
      } catch {
        id = 'not-ed25519';
      }
      this.keyIds.set(key, id);
    }
    return id;
  }
}

/**
 * The one check of a stored record's producer signature, either form: a per-event
 * signature (base64 of 64 bytes over the canonical event) or a batch signature (the
 * event's inclusion path to a root whose batch message the key signed). `cache`
 * remembers batch signatures already checked.
 */
export function verifyRecordSignature(canonical: string, storedSignature: string, publicKey: KeyObject, cache?: BatchSignatureCache): boolean {
  if (!isBatchSignature(storedSignature)) return verifyCanonicalSignature(canonical, Buffer.from(storedSignature, 'base64'), publicKey);
  const proof = parseBatchSignature(storedSignature);
  if (proof === undefined) return false;
  const root = rootFromInclusion(proof.index, proof.size, canonicalLeafHash(canonical), proof.path);
  if (root === undefined) return false;
  if (cache !== undefined) return cache.check(publicKey, proof.size, root, proof.signature);
  return verifyCanonicalSignature(batchMessage(proof.size, root), proof.signature, publicKey);
}
