/**
 * Signed checkpoints in the C2SP formats (c2sp.org/tlog-checkpoint,
 * c2sp.org/signed-note): a note whose text is
 *
 *   <origin>\n<tree size>\n<base64 root hash>\n
 *
 * followed by a blank line and signature lines `— <key name> <base64(key hash || signature)>`,
 * where for Ed25519 the key hash is the first 4 bytes of
 * SHA-256(<key name> || 0x0A || 0x01 || <32-byte public key>). Pure: no I/O.
 */
import { createHash, sign, verify, type KeyObject } from 'node:crypto';
import { publicKeyFromRaw, rawPublicKey } from './keys.js';

const ED25519 = 0x01;
const EM_DASH = '\u2014';
const KEY_NAME = /^[^\s+]+$/;

export type Checkpoint = {
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Buffer;
};

/** A note signer: the audit service's checkpoint key. */
export type NoteSigner = {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly privateKey: KeyObject;
};

/** A note verifier: name, key hash and public key. */
export type NoteVerifier = {
  readonly name: string;
  readonly keyHash: Buffer;
  readonly publicKey: KeyObject;
};

/** signed-note key ID: SHA-256(name || 0x0A || signature type || public key)[:4]. */
export function noteKeyId(name: string, signatureType: number, publicKey: KeyObject): Buffer {
  return createHash('sha256')
    .update(Buffer.from(name, 'utf8'))
    .update(Buffer.from([0x0a, signatureType]))
    .update(rawPublicKey(publicKey))
    .digest()
    .subarray(0, 4);
}

export function keyHash(name: string, publicKey: KeyObject): Buffer {
  return noteKeyId(name, ED25519, publicKey);
}

/** `<name>+<hex key ID>+<base64(signature type || 32-byte Ed25519 key)>`. */
export function formatVkey(name: string, signatureType: number, publicKey: KeyObject): string {
  const key = Buffer.concat([Buffer.from([signatureType]), rawPublicKey(publicKey)]);
  return `${name}+${noteKeyId(name, signatureType, publicKey).toString('hex')}+${key.toString('base64')}`;
}

/** Parses a vkey of `signatureType` over an Ed25519 key; throws a TypeError naming what is wrong (`what`: the kind of key). */
export function parseVkey(vkey: string, signatureType: number, what: string): { name: string; publicKey: KeyObject } {
  const match = /^([^\s+]+)\+([0-9a-fA-F]{8})\+([A-Za-z0-9+/]+=*)$/.exec(vkey.trim());
  if (match === null) throw new TypeError(`a ${what} is <name>+<hex key hash>+<base64 key>`);
  const [, name, hashHex, keyB64] = match as unknown as [string, string, string, string];
  const key = Buffer.from(keyB64, 'base64');
  if (key.length !== 33 || key[0] !== signatureType) throw new TypeError(`the ${what} is not an Ed25519 key of signature type 0x0${signatureType}`);
  const publicKey = publicKeyFromRaw(key.subarray(1));
  if (noteKeyId(name, signatureType, publicKey).toString('hex') !== hashHex.toLowerCase()) throw new TypeError(`the ${what} hash does not match its name and key`);
  return { name, publicKey };
}

export function createNoteSigner(name: string, privateKey: KeyObject): NoteSigner {
  if (!KEY_NAME.test(name)) throw new TypeError('a note key name must be non-empty without spaces or +');
  return { name, keyHash: keyHash(name, privateKey), privateKey };
}

export function createNoteVerifier(name: string, publicKey: KeyObject): NoteVerifier {
  if (!KEY_NAME.test(name)) throw new TypeError('a note key name must be non-empty without spaces or +');
  return { name, keyHash: keyHash(name, publicKey), publicKey };
}

/** The verifier key string `<name>+<hex key hash>+<base64(0x01 || public key)>`. */
export function formatVerifierKey(verifier: NoteVerifier): string {
  return formatVkey(verifier.name, ED25519, verifier.publicKey);
}

export function parseVerifierKey(vkey: string): NoteVerifier {
  const { name, publicKey } = parseVkey(vkey, ED25519, 'verifier key');
  return createNoteVerifier(name, publicKey);
}

export function formatCheckpointBody(checkpoint: Checkpoint): string {
  if (checkpoint.origin.length === 0 || /[\s+]/.test(checkpoint.origin)) throw new TypeError('origin must be non-empty without spaces or +');
  return `${checkpoint.origin}\n${checkpoint.treeSize}\n${checkpoint.rootHash.toString('base64')}\n`;
}

export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  const body = formatCheckpointBody(checkpoint);
  const signature = sign(null, Buffer.from(body, 'utf8'), signer.privateKey);
  return `${body}\n${EM_DASH} ${signer.name} ${Buffer.concat([signer.keyHash, signature]).toString('base64')}\n`;
}

export type NoteSignature = { readonly name: string; readonly keyHash: Buffer; readonly signature: Buffer };

/** A signed note split into its text (ending in a newline) and signature lines. */
export type SignedNote = { readonly body: string; readonly signatures: readonly NoteSignature[] };

export type ParsedNote = SignedNote & { readonly checkpoint: Checkpoint };

/** Parses any signed note (c2sp.org/signed-note); throws a TypeError naming what is malformed. */
export function parseSignedNote(note: string): SignedNote {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new TypeError('note: no blank line between text and signatures');
  const body = note.slice(0, split + 1);
  if (!note.endsWith('\n')) throw new TypeError('note: does not end with a newline');
  const signatures = note
    .slice(split + 2, -1)
    .split('\n')
    .map((line) => {
      const match = /^\u2014 (\S+) ([A-Za-z0-9+/=]+)$/.exec(line);
      if (match === null) throw new TypeError('note: a signature line is malformed');
      const raw = Buffer.from(match[2]!, 'base64');
      if (raw.length < 5) throw new TypeError('note: a signature is too short');
      return { name: match[1]!, keyHash: raw.subarray(0, 4), signature: raw.subarray(4) };
    });
  if (signatures.length === 0) throw new TypeError('note: no signature lines');
  return { body, signatures };
}

/** Parses a signed checkpoint note; throws a TypeError naming what is malformed. */
export function parseCheckpointNote(note: string): ParsedNote {
  const signed = parseSignedNote(note);
  const lines = signed.body.slice(0, -1).split('\n');
  if (lines.length < 3) throw new TypeError('checkpoint note: the text needs origin, tree size and root hash lines');
  const [origin, sizeText, rootText] = lines as [string, string, string];
  if (!/^(0|[1-9]\d{0,15})$/.test(sizeText)) throw new TypeError('checkpoint note: the tree size line is not a decimal number');
  const rootHash = Buffer.from(rootText, 'base64');
  if (rootHash.length !== 32 || rootHash.toString('base64') !== rootText) throw new TypeError('checkpoint note: the root hash is not 32 bytes of base64');
  return { ...signed, checkpoint: { origin, treeSize: Number(sizeText), rootHash } };
}

/** True when the note carries a valid signature by `verifier`. */
export function verifyNote(note: SignedNote, verifier: NoteVerifier): boolean {
  return note.signatures.some(
    (s) =>
      s.name === verifier.name &&
      s.keyHash.equals(verifier.keyHash) &&
      s.signature.length === 64 &&
      verify(null, Buffer.from(note.body, 'utf8'), verifier.publicKey, s.signature),
  );
}

/** Parses and verifies against any of `verifiers`; returns the checkpoint or a reason. */
export function openCheckpoint(
  note: string,
  verifiers: readonly NoteVerifier[],
): { ok: true; checkpoint: Checkpoint } | { ok: false; reason: string } {
  let parsed: ParsedNote;
  try {
    parsed = parseCheckpointNote(note);
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
  if (!verifiers.some((v) => verifyNote(parsed, v))) {
    return { ok: false, reason: 'no valid signature by a trusted audit key' };
  }
  return { ok: true, checkpoint: parsed.checkpoint };
}
