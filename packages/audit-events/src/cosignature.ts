/**
 * Witness cosignatures and the witness protocol's wire format. Pure: no I/O.
 *
 * - c2sp.org/tlog-cosignature@v1.0.1 (Ed25519 only): a cosignature is a note signature
 *   line `— <cosigner name> base64(key ID || timestamped_signature)` where
 *   key ID = SHA-256(<name> || "\n" || 0x04 || 32-byte public key)[:4] and
 *   timestamped_signature = uint64 big-endian POSIX seconds || Ed25519 signature (64) over
 *   "cosignature/v1\ntime <timestamp>\n" || <the checkpoint's note text>.
 *   Verifier keys use signature type 0x04: `<name>+<hex key ID>+base64(0x04 || key)`.
 * - c2sp.org/tlog-witness@v1.0.0 add-checkpoint request body: `old <size>\n`, up to 63
 *   base64 consistency-proof lines, an empty line, then the checkpoint note.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { formatVkey, noteKeyId, parseVkey, type SignedNote } from './checkpoint.js';

const COSIGNATURE_V1 = 0x04;
const KEY_NAME = /^[^\s+]+$/;
const EM_DASH = '\u2014';
/** tlog-cosignature: the timestamp MUST NOT exceed 2^63 − 1. */
const MAX_TIMESTAMP = 2n ** 63n - 1n;

export type Cosigner = { readonly name: string; readonly keyId: Buffer; readonly privateKey: KeyObject };
export type CosignatureVerifier = { readonly name: string; readonly keyId: Buffer; readonly publicKey: KeyObject };

export function cosignatureKeyId(name: string, publicKey: KeyObject): Buffer {
  return noteKeyId(name, COSIGNATURE_V1, publicKey);
}

export function createCosigner(name: string, privateKey: KeyObject): Cosigner {
  if (!KEY_NAME.test(name)) throw new TypeError('a cosigner name must be non-empty without spaces or +');
  return { name, keyId: cosignatureKeyId(name, privateKey), privateKey };
}

export function createCosignatureVerifier(name: string, publicKey: KeyObject): CosignatureVerifier {
  if (!KEY_NAME.test(name)) throw new TypeError('a cosigner name must be non-empty without spaces or +');
  return { name, keyId: cosignatureKeyId(name, publicKey), publicKey };
}

/** `<name>+<hex key ID>+<base64(0x04 || public key)>`. */
export function formatCosignatureVerifierKey(verifier: CosignatureVerifier): string {
  return formatVkey(verifier.name, COSIGNATURE_V1, verifier.publicKey);
}

/** A witness vkey: cosignature/v1 (type 0x04) over an Ed25519 key. */
export function parseCosignatureVerifierKey(vkey: string): CosignatureVerifier {
  const { name, publicKey } = parseVkey(vkey, COSIGNATURE_V1, 'witness verifier key (cosignature/v1)');
  return createCosignatureVerifier(name, publicKey);
}

/** The signed message: "cosignature/v1\ntime <t>\n" followed by the note text. */
export function cosignedMessage(noteBody: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${noteBody}`, 'utf8');
}

/** One signature line (with its newline) cosigning `noteBody` at `timestamp` (POSIX seconds, > 0). */
export function cosign(noteBody: string, cosigner: Cosigner, timestamp: number): string {
  if (!Number.isSafeInteger(timestamp) || timestamp <= 0) throw new RangeError('a cosignature timestamp is a positive number of seconds');
  const stamp = Buffer.alloc(8);
  stamp.writeBigUInt64BE(BigInt(timestamp));
  const signature = sign(null, cosignedMessage(noteBody, timestamp), cosigner.privateKey);
  return `${EM_DASH} ${cosigner.name} ${Buffer.concat([cosigner.keyId, stamp, signature]).toString('base64')}\n`;
}

export type CosignatureCheck =
  | { readonly status: 'valid'; readonly timestamp: number }
  /** A line with the verifier's name and key ID whose signature fails: the note is malformed. */
  | { readonly status: 'invalid' }
  | { readonly status: 'absent' };

/** Looks for `verifier`'s cosignature among the note's signatures (unknown ones are ignored). */
export function checkCosignature(note: SignedNote, verifier: CosignatureVerifier): CosignatureCheck {
  let result: CosignatureCheck = { status: 'absent' };
  for (const s of note.signatures) {
    if (s.name !== verifier.name || !s.keyHash.equals(verifier.keyId)) continue;
    if (s.signature.length !== 72) return { status: 'invalid' };
    const timestamp = s.signature.readBigUInt64BE(0);
    if (timestamp > MAX_TIMESTAMP || timestamp > BigInt(Number.MAX_SAFE_INTEGER)) return { status: 'invalid' };
    if (!verify(null, cosignedMessage(note.body, Number(timestamp)), verifier.publicKey, s.signature.subarray(8))) return { status: 'invalid' };
    if (result.status !== 'valid' || Number(timestamp) > result.timestamp) result = { status: 'valid', timestamp: Number(timestamp) };
  }
  return result;
}

/** The checkpoint note with extra signature lines appended (duplicates dropped). */
export function addSignatureLines(note: string, lines: string): string {
  const have = new Set(note.split('\n'));
  const extra = lines.split('\n').filter((line) => line.startsWith(`${EM_DASH} `) && !have.has(line));
  return extra.length === 0 ? note : `${note}${extra.join('\n')}\n`;
}

/**
 * The hex SHA-256 of a log's origin line: a witness names a log by it (the monitoring path
 * `<witness URL>/<hash>/checkpoint`, and the witness's state file).
 */
export function originHash(origin: string): string {
  return createHash('sha256').update(origin, 'utf8').digest('hex');
}

export type AddCheckpointRequest = { readonly oldSize: number; readonly proof: readonly Buffer[]; readonly note: string };

const MAX_PROOF_LINES = 63;

export function formatAddCheckpoint(request: AddCheckpointRequest): string {
  if (request.proof.length > MAX_PROOF_LINES) throw new RangeError('tlog-witness: at most 63 consistency proof lines');
  return `old ${request.oldSize}\n${request.proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${request.note}`;
}

/** Parses an add-checkpoint body; throws a TypeError naming what is malformed (a 400). */
export function parseAddCheckpoint(body: string): AddCheckpointRequest {
  const end = body.indexOf('\n\n');
  if (end < 0) throw new TypeError('add-checkpoint: no empty line before the checkpoint');
  const lines = body.slice(0, end).split('\n');
  const old = /^old (0|[1-9]\d{0,15})$/.exec(lines[0] ?? '');
  if (old === null) throw new TypeError('add-checkpoint: the first line must be "old <size>" (decimal, no leading zeroes)');
  const proofLines = lines.slice(1);
  if (proofLines.length > MAX_PROOF_LINES) throw new TypeError('add-checkpoint: more than 63 consistency proof lines');
  const proof = proofLines.map((line, i) => {
    const hash = Buffer.from(line, 'base64');
    if (hash.length !== 32 || hash.toString('base64') !== line) throw new TypeError(`add-checkpoint: proof line ${i + 1} is not a base64 SHA-256 hash`);
    return hash;
  });
  return { oldSize: Number(old[1]), proof, note: body.slice(end + 2) };
}
