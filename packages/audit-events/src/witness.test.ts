/**
 * The pure witness pieces against hand-computed values from the C2SP texts: tile paths
 * (tlog-tiles' own examples), the add-checkpoint body (tlog-witness), cosignature/v1 key
 * IDs and messages (tlog-cosignature), and tlog-policy quorums.
 */
import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createNoteSigner, formatVerifierKey, createNoteVerifier, parseCheckpointNote, signCheckpoint } from './checkpoint.js';
import {
  addSignatureLines,
  checkCosignature,
  cosign,
  createCosignatureVerifier,
  createCosigner,
  formatAddCheckpoint,
  formatCosignatureVerifierKey,
  parseAddCheckpoint,
  parseCosignatureVerifierKey,
} from './cosignature.js';
import { rawPublicKey } from './keys.js';
import { consistencyProofFrom, hashLeaf, MerkleTree, rangeHashFrom } from './merkle.js';
import { checkWitnessPolicy, parseWitnessPolicy } from './policy.js';
import { formatTileIndex, formatTilePath, parseTilePath, tileLeafRange } from './tiles.js';

describe('tlog-tiles paths', () => {
  it('encodes indexes in x-prefixed 3-digit groups (the spec example 1234067 → x001/x234/067)', () => {
    expect(formatTileIndex(1234067)).toBe('x001/x234/067');
    expect(formatTileIndex(0)).toBe('000');
    expect(formatTileIndex(1000)).toBe('x001/000');
    expect(formatTilePath({ level: 1, index: 3, width: 17 })).toBe('tile/1/003.p/17');
    expect(formatTilePath({ level: 'entries', index: 1234067, width: 256 })).toBe('tile/entries/x001/x234/067');
  });

  it('parses only canonical paths', () => {
    expect(parseTilePath('tile/0/x001/x234/067.p/255')).toEqual({ level: 0, index: 1234067, width: 255 });
    expect(parseTilePath('tile/entries/000')).toEqual({ level: 'entries', index: 0, width: 256 });
    for (const bad of ['tile/0/1', 'tile/0/x000/001', 'tile/64/000', 'tile/01/000', 'tile/0/000.p/256', 'tile/0/000.p/0', 'tile/0/000.p/007', 'tile/0/001/002']) {
      expect(parseTilePath(bad), bad).toBeUndefined();
    }
  });

  it('a tree of 70,000 leaves: level-1 tile 0 of width 17 covers 0..69631 (17 × 256²/256)', () => {
    expect(tileLeafRange({ level: 1, index: 0, width: 17 })).toEqual({ start: 0, end: 17 * 256 });
    expect(tileLeafRange({ level: 0, index: 273, width: 112 })).toEqual({ start: 69888, end: 70000 });
  });
});

describe('tlog-witness add-checkpoint body', () => {
  it('round-trips and refuses malformed bodies', () => {
    const proof = [createHash('sha256').update('a').digest(), createHash('sha256').update('b').digest()];
    const body = formatAddCheckpoint({ oldSize: 20852014, proof, note: 'o\n1\nx\n\n— k abc\n' });
    expect(body.startsWith('old 20852014\n')).toBe(true);
    expect(parseAddCheckpoint(body)).toEqual({ oldSize: 20852014, proof, note: 'o\n1\nx\n\n— k abc\n' });
    expect(() => parseAddCheckpoint('old 01\n\nx')).toThrow(/old <size>/);
    expect(() => parseAddCheckpoint('old 1\nnot-base64\n\nx')).toThrow(/proof line 1/);
    expect(() => parseAddCheckpoint(`old 1\n${'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n'.repeat(64)}\nx`)).toThrow(/63/);
  });
});

describe('cosignature/v1', () => {
  const witness = generateKeyPairSync('ed25519');
  const cosigner = createCosigner('witness.example/w1', witness.privateKey);
  const verifier = createCosignatureVerifier('witness.example/w1', witness.publicKey);

  it('key ID is SHA-256(name ‖ 0x0A ‖ 0x04 ‖ key)[:4]; the signature is 8-byte timestamp ‖ Ed25519 over the cosigned message', () => {
    const expectedId = createHash('sha256').update('witness.example/w1\n').update(Buffer.from([0x04])).update(rawPublicKey(witness.publicKey)).digest().subarray(0, 4);
    expect(cosigner.keyId).toEqual(expectedId);
    const body = 'example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n';
    const line = cosign(body, cosigner, 1679315147);
    const raw = Buffer.from(line.trim().split(' ')[2]!, 'base64');
    expect(raw.subarray(0, 4)).toEqual(expectedId);
    expect(raw.readBigUInt64BE(4)).toBe(1679315147n);
    const message = `cosignature/v1\ntime 1679315147\n${body}`;
    expect(verify(null, Buffer.from(message), witness.publicKey, raw.subarray(12))).toBe(true);
  });

  it('checks cosignatures on a checkpoint: valid, absent, invalid (a tampered timestamp)', () => {
    const log = createNoteSigner('log.example', generateKeyPairSync('ed25519').privateKey);
    const note = signCheckpoint({ origin: 'log.example/acme', treeSize: 3, rootHash: Buffer.alloc(32, 1) }, log);
    const parsed = parseCheckpointNote(note);
    expect(checkCosignature(parsed, verifier)).toEqual({ status: 'absent' });
    const cosigned = addSignatureLines(note, cosign(parsed.body, cosigner, 1700000000));
    expect(checkCosignature(parseCheckpointNote(cosigned), verifier)).toEqual({ status: 'valid', timestamp: 1700000000 });
    const line = cosigned.trim().split('\n').at(-1)!;
    const raw = Buffer.from(line.split(' ')[2]!, 'base64');
    raw.writeBigUInt64BE(1700000001n, 4);
    const tampered = cosigned.replace(line, `${line.split(' ').slice(0, 2).join(' ')} ${raw.toString('base64')}`);
    expect(checkCosignature(parseCheckpointNote(tampered), verifier)).toEqual({ status: 'invalid' });
  });

  it('vkeys carry type 0x04 and round-trip; a note (0x01) key is refused as a witness key', () => {
    const vkey = formatCosignatureVerifierKey(verifier);
    expect(Buffer.from(vkey.split('+').slice(2).join('+'), 'base64')[0]).toBe(0x04);
    expect(parseCosignatureVerifierKey(vkey).keyId).toEqual(verifier.keyId);
    const noteKey = formatVerifierKey(createNoteVerifier('witness.example/w1', witness.publicKey));
    expect(() => parseCosignatureVerifierKey(noteKey)).toThrow(/0x04/);
  });
});

describe('tlog-policy', () => {
  const keys = Array.from({ length: 3 }, (_, i) => {
    const pair = generateKeyPairSync('ed25519');
    return { name: `w${i}`, cosigner: createCosigner(`w${i}.example`, pair.privateKey), vkey: formatCosignatureVerifierKey(createCosignatureVerifier(`w${i}.example`, pair.publicKey)) };
  });
  const logKey = generateKeyPairSync('ed25519');
  const log = createNoteSigner('log.example', logKey.privateKey);
  const logVkey = formatVerifierKey(createNoteVerifier('log.example', logKey.publicKey));
  const text = [`log ${logVkey}`, ...keys.map((k) => `witness ${k.name} ${k.vkey} https://${k.name}.example`), 'group g 2 w0 w1 w2', 'quorum g'].join('\n');

  it('2 of 3: met with two cosignatures, not with one; a note not signed by the log fails', () => {
    const policy = parseWitnessPolicy(`# comment\n\n${text}\n`);
    const note = signCheckpoint({ origin: 'log.example/acme', treeSize: 3, rootHash: Buffer.alloc(32, 1) }, log);
    const body = parseCheckpointNote(note).body;
    const one = addSignatureLines(note, cosign(body, keys[0]!.cosigner, 1));
    expect(checkWitnessPolicy(parseCheckpointNote(one), policy)).toMatchObject({ ok: false, cosigned: ['w0'] });
    const two = addSignatureLines(one, cosign(body, keys[2]!.cosigner, 1));
    expect(checkWitnessPolicy(parseCheckpointNote(two), policy)).toMatchObject({ ok: true, cosigned: ['w0', 'w2'] });
    const other = createNoteSigner('log.example', generateKeyPairSync('ed25519').privateKey);
    const forged = addSignatureLines(signCheckpoint({ origin: 'log.example/acme', treeSize: 3, rootHash: Buffer.alloc(32, 1) }, other), cosign(body, keys[0]!.cosigner, 1) + cosign(body, keys[1]!.cosigner, 1));
    expect(checkWitnessPolicy(parseCheckpointNote(forged), policy)).toMatchObject({ ok: false, reason: expect.stringMatching(/not signed by a log/) });
  });

  it('refuses malformed policies with the line', () => {
    expect(() => parseWitnessPolicy(text.replace('quorum g', ''))).toThrow(/no quorum/);
    expect(() => parseWitnessPolicy(`${text}\nquorum w0`)).toThrow(/line 7: a second quorum/);
    expect(() => parseWitnessPolicy(text.replace('group g 2 w0 w1 w2', 'group g 4 w0 w1 w2'))).toThrow(/threshold 4/);
    expect(() => parseWitnessPolicy(text.replace('group g 2 w0 w1 w2', 'group g any w0 w0'))).toThrow(/listed twice/);
    expect(() => parseWitnessPolicy(text.replace('group g 2 w0 w1 w2', 'group g any w9'))).toThrow(/"w9" is not defined/);
    expect(() => parseWitnessPolicy(`${text}\nwitness w3 ${keys[0]!.vkey}`)).toThrow(/duplicate key/);
    expect(parseWitnessPolicy('quorum none').quorum).toBe('none');
  });
});

describe('proofs over a source of subtree hashes (tiles)', () => {
  it('consistencyProofFrom + rangeHashFrom give MerkleTree.consistencyProof for every m ≤ n ≤ 70 (and perfect subtrees only are asked for)', async () => {
    const leaves = Array.from({ length: 70 }, (_, i) => hashLeaf(Buffer.from(`leaf ${i}`)));
    const tree = new MerkleTree(leaves);
    const perfect = async (start: number, size: number) => {
      if ((size & (size - 1)) !== 0 || start % size !== 0) throw new Error(`not a perfect aligned subtree: ${start}+${size}`);
      return tree.rangeHash(start, start + size);
    };
    for (let n = 0; n <= 70; n += 1) {
      for (let m = 0; m <= n; m += 1) {
        const proof = await consistencyProofFrom(m, n, (lo, hi) => rangeHashFrom(lo, hi, perfect));
        const expected = tree.consistencyProof(m, n);
        if (proof.length !== expected.length || proof.some((h, i) => !h.equals(expected[i]!))) throw new Error(`proof ${m} → ${n} differs`);
      }
    }
  });
});
