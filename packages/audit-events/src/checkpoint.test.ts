import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  createNoteSigner,
  createNoteVerifier,
  formatVerifierKey,
  openCheckpoint,
  parseCheckpointNote,
  parseSignedNote,
  parseVerifierKey,
  signCheckpoint,
  verifyNote,
} from './checkpoint.js';
import { generateSigningKey, rawPublicKey } from './keys.js';

describe('C2SP signed notes and checkpoints', () => {
  // The reference key and note of golang.org/x/mod/sumdb/note (the signed-note spec's origin).
  const VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
  const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
  const NOTE = `${TEXT}\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

  it('verifies the reference note with the reference verifier key (key hash per spec)', () => {
    const verifier = parseVerifierKey(VKEY);
    expect(verifier.keyHash.toString('hex')).toBe('c74f20a3');
    expect(formatVerifierKey(verifier)).toBe(VKEY);
    const note = parseSignedNote(NOTE);
    expect(note.body).toBe(TEXT);
    expect(verifyNote(note, verifier)).toBe(true);
    expect(verifyNote(parseSignedNote(NOTE.replace('problem,', 'problem;')), verifier)).toBe(false);
  });

  it('refuses a verifier key whose hash does not match', () => {
    expect(() => parseVerifierKey(VKEY.replace('c74f20a3', 'c74f20a4'))).toThrow(/hash/);
  });

  it('signs a checkpoint in the exact format and verifies it', () => {
    const { privateKey, publicKey } = generateSigningKey();
    const signer = createNoteSigner('audit.example', privateKey);
    const expectedHash = createHash('sha256')
      .update(Buffer.concat([Buffer.from('audit.example\n\u0001', 'utf8'), rawPublicKey(publicKey)]))
      .digest()
      .subarray(0, 4);
    expect(signer.keyHash.equals(expectedHash)).toBe(true);
    const root = createHash('sha256').update('root').digest();
    const note = signCheckpoint({ origin: 'audit.warden.local/acme', treeSize: 42, rootHash: root }, signer);
    const lines = note.split('\n');
    expect(lines.slice(0, 4)).toEqual(['audit.warden.local/acme', '42', root.toString('base64'), '']);
    expect(lines[4]).toMatch(/^\u2014 audit\.example [A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(lines[4]!.split(' ')[2]!, 'base64').length).toBe(68);
    const parsed = parseCheckpointNote(note);
    expect(parsed.checkpoint.treeSize).toBe(42);
    expect(parsed.checkpoint.rootHash.equals(root)).toBe(true);
    const verifier = createNoteVerifier('audit.example', publicKey);
    expect(openCheckpoint(note, [verifier]).ok).toBe(true);
    expect(parseVerifierKey(formatVerifierKey(verifier)).keyHash.equals(verifier.keyHash)).toBe(true);
  });

  it('rejects a changed size or root, another key, and malformed notes', () => {
    const { privateKey, publicKey } = generateSigningKey();
    const other = generateSigningKey();
    const note = signCheckpoint({ origin: 'o/acme', treeSize: 7, rootHash: Buffer.alloc(32, 1) }, createNoteSigner('k', privateKey));
    const verifier = createNoteVerifier('k', publicKey);
    expect(openCheckpoint(note.replace('\n7\n', '\n8\n'), [verifier])).toMatchObject({ ok: false });
    expect(openCheckpoint(note.replace(Buffer.alloc(32, 1).toString('base64'), Buffer.alloc(32, 2).toString('base64')), [verifier])).toMatchObject({ ok: false });
    expect(openCheckpoint(note, [createNoteVerifier('k', other.publicKey)])).toMatchObject({ ok: false });
    expect(openCheckpoint('o/acme\n7\n', [verifier])).toMatchObject({ ok: false, reason: expect.stringMatching(/blank line/) });
    expect(openCheckpoint('o/acme\nseven\nAAAA\n\n\u2014 k AAAAAAAA\n', [verifier])).toMatchObject({ ok: false, reason: expect.stringMatching(/tree size/) });
  });
});
