/**
 * An independent C2SP client for tests, written from the specification texts only
 * (shares no code with @warden/audit-events, so a bug there cannot hide here):
 *
 * - c2sp.org/signed-note@v1.0.0: note = text, blank line, `— <name> base64(keyID(4) || sig)`
 *   lines; the text is separated by the LAST empty line; Ed25519 key ID =
 *   SHA-256(name || 0x0A || 0x01 || pub)[:4]; vkey `<name>+<hex id>+base64(type || pub)`.
 * - c2sp.org/tlog-checkpoint@v1.0.0: origin, decimal size, base64 root, optional extensions.
 * - c2sp.org/tlog-cosignature@v1.0.1: type 0x04, key ID = SHA-256(name || 0x0A || 0x04 || pub)[:4],
 *   signature = u64 BE timestamp || Ed25519 over "cosignature/v1\ntime <t>\n" || note text.
 * - c2sp.org/tlog-tiles@v0.1.0: tile/<L>/<N>[.p/<W>] paths, 32-byte hashes, uint16 BE length-prefixed entry bundles.
 * - RFC 6962 §2.1: MTH, leaf hash SHA-256(0x00 || d), node SHA-256(0x01 || l || r), PROOF(m, D[n]).
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

const sha256 = (...parts: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
};

export const rfc6962 = {
  leaf: (data: Uint8Array): Buffer => sha256(Buffer.from([0]), data),
  node: (l: Uint8Array, r: Uint8Array): Buffer => sha256(Buffer.from([1]), l, r),
  /** MTH(D[n]) over leaf hashes. */
  root(leaves: readonly Buffer[]): Buffer {
    if (leaves.length === 0) return sha256();
    if (leaves.length === 1) return leaves[0]!;
    let k = 1;
    while (k * 2 < leaves.length) k *= 2;
    return rfc6962.node(rfc6962.root(leaves.slice(0, k)), rfc6962.root(leaves.slice(k)));
  },
  /** PROOF(m, D[n]) of RFC 6962 §2.1.2, over leaf hashes. */
  consistency(m: number, leaves: readonly Buffer[]): Buffer[] {
    const sub = (m2: number, d: readonly Buffer[], b: boolean): Buffer[] => {
      const n = d.length;
      if (m2 === n) return b ? [] : [rfc6962.root(d)];
      let k = 1;
      while (k * 2 < n) k *= 2;
      return m2 <= k ? [...sub(m2, d.slice(0, k), b), rfc6962.root(d.slice(k))] : [...sub(m2 - k, d.slice(k), false), rfc6962.root(d.slice(0, k))];
    };
    return m === 0 || m === leaves.length ? [] : sub(m, leaves, true);
  },
};

function raw32(key: KeyObject): Buffer {
  const jwk = (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url');
}

export function noteKeyId(name: string, type: number, publicKey: KeyObject): Buffer {
  return sha256(Buffer.from(name, 'utf8'), Buffer.from([0x0a, type]), raw32(publicKey)).subarray(0, 4);
}

export function vkeyOf(name: string, type: number, publicKey: KeyObject): string {
  return `${name}+${noteKeyId(name, type, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([type]), raw32(publicKey)]).toString('base64')}`;
}

/** Parses a vkey: name, key ID, signature type and the Ed25519 public key. */
export function parseVkey(vkey: string): { name: string; keyId: Buffer; type: number; publicKey: KeyObject } {
  // The name has no '+'; the key ID is 8 hex digits; the base64 key may contain '+'.
  const first = vkey.indexOf('+');
  const [name, id, key] = [vkey.slice(0, first), vkey.slice(first + 1, first + 9), vkey.slice(first + 10)];
  const bytes = Buffer.from(key, 'base64');
  const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: bytes.subarray(1).toString('base64url') }, format: 'jwk' });
  return { name, keyId: Buffer.from(id, 'hex'), type: bytes[0]!, publicKey };
}

export type NoteLine = { name: string; keyId: Buffer; signature: Buffer };

export function splitNote(note: string): { text: string; lines: NoteLine[] } {
  const at = note.lastIndexOf('\n\n');
  if (at < 0 || !note.endsWith('\n')) throw new Error('not a signed note');
  const lines = note
    .slice(at + 2, -1)
    .split('\n')
    .map((line) => {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (m === null) throw new Error(`bad signature line: ${line}`);
      const bytes = Buffer.from(m[2]!, 'base64');
      return { name: m[1]!, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4) };
    });
  return { text: note.slice(0, at + 1), lines };
}

export function parseCheckpointText(text: string): { origin: string; size: number; root: Buffer } {
  const [origin, size, root] = text.split('\n') as [string, string, string];
  return { origin, size: Number(size), root: Buffer.from(root, 'base64') };
}

/** Ed25519 note signature line (type 0x01) over `text`. */
export function signNoteText(text: string, name: string, privateKey: KeyObject): string {
  const id = noteKeyId(name, 0x01, privateKey);
  return `\u2014 ${name} ${Buffer.concat([id, sign(null, Buffer.from(text, 'utf8'), privateKey)]).toString('base64')}\n`;
}

/** True when a type-0x01 signature by (name, key) over the note text verifies. */
export function verifyNoteSignature(note: string, name: string, publicKey: KeyObject): boolean {
  const { text, lines } = splitNote(note);
  const id = noteKeyId(name, 0x01, publicKey);
  return lines.some((l) => l.name === name && l.keyId.equals(id) && l.signature.length === 64 && verify(null, Buffer.from(text, 'utf8'), publicKey, l.signature));
}

/** The timestamp of a valid cosignature/v1 by (name, key), or undefined. */
export function verifyCosignatureV1(note: string, name: string, publicKey: KeyObject): number | undefined {
  const { text, lines } = splitNote(note);
  const id = noteKeyId(name, 0x04, publicKey);
  for (const l of lines) {
    if (l.name !== name || !l.keyId.equals(id) || l.signature.length !== 72) continue;
    const t = Number(l.signature.readBigUInt64BE(0));
    const message = Buffer.from(`cosignature/v1\ntime ${t}\n${text}`, 'utf8');
    if (verify(null, message, publicKey, l.signature.subarray(8))) return t;
  }
  return undefined;
}

/** `tile/<L>/<N>[.p/<W>]` with N in x-prefixed 3-digit groups. */
export function tilePath(level: number | 'entries', index: number, width: number): string {
  const digits = String(index).padStart(Math.ceil(String(index).length / 3) * 3, '0');
  const groups = digits.match(/\d{3}/g)!;
  const n = groups.map((g, i) => (i < groups.length - 1 ? `x${g}` : g)).join('/');
  return `tile/${level}/${n}${width === 256 ? '' : `.p/${width}`}`;
}

/** Splits an entry bundle into its entries. */
export function splitBundle(bundle: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < bundle.length; ) {
    const n = bundle.readUInt16BE(at);
    out.push(bundle.subarray(at + 2, at + 2 + n));
    at += 2 + n;
  }
  return out;
}

/**
 * Fetches every tile and bundle a checkpoint of `size` needs through `get(path)` and
 * checks them: entries hash to the level-0 hashes, each level-L hash is the root of the
 * full tile below, and the leaves give the checkpoint's root. Returns the entries.
 */
export async function verifyTiledLog(size: number, root: Buffer, get: (path: string) => Promise<Buffer>): Promise<Buffer[]> {
  const leaves: Buffer[] = [];
  const entries: Buffer[] = [];
  for (let n = 0; n * 256 < size; n += 1) {
    const width = Math.min(256, size - n * 256);
    const tile = await get(tilePath(0, n, width));
    const bundle = splitBundle(await get(tilePath('entries', n, width)));
    if (tile.length !== width * 32 || bundle.length !== width) throw new Error(`level-0 tile ${n}: ${tile.length / 32} hashes, ${bundle.length} entries, want ${width}`);
    bundle.forEach((entry, i) => {
      if (!rfc6962.leaf(entry).equals(tile.subarray(i * 32, i * 32 + 32))) throw new Error(`entry ${n * 256 + i} does not hash to its level-0 tile hash`);
    });
    for (let i = 0; i < width; i += 1) leaves.push(tile.subarray(i * 32, i * 32 + 32));
    entries.push(...bundle);
  }
  for (let level = 1; 256 ** level <= size; level += 1) {
    const span = 256 ** level;
    const count = Math.floor(size / span);
    for (let n = 0; n * 256 < count; n += 1) {
      const width = Math.min(256, count - n * 256);
      const tile = await get(tilePath(level, n, width));
      if (tile.length !== width * 32) throw new Error(`tile ${level}/${n}: ${tile.length} bytes`);
      for (let i = 0; i < width; i += 1) {
        const start = (n * 256 + i) * span;
        if (!rfc6962.root(leaves.slice(start, start + span)).equals(tile.subarray(i * 32, i * 32 + 32))) throw new Error(`tile ${level}/${n} hash ${i} is not the root of its subtree`);
      }
    }
  }
  if (!rfc6962.root(leaves).equals(root)) throw new Error('the tiles do not give the checkpoint root');
  return entries;
}
