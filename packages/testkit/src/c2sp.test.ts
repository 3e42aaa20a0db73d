/** The independent C2SP client checked against the specifications' own examples. */
import { describe, expect, it } from 'vitest';
import { noteKeyId, parseVkey, rfc6962, splitBundle, tilePath, verifyNoteSignature } from './c2sp.js';

describe('independent C2SP client', () => {
  it('verifies the signed-note@v1.0.0 example with its vkey, and not an altered text', () => {
    const vkey = parseVkey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
    expect(vkey).toMatchObject({ name: 'example.com/foo', type: 0x01 });
    expect(noteKeyId('example.com/foo', 0x01, vkey.publicKey).toString('hex')).toBe('530d903a');
    const note = 'This is an example message.\n\n\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';
    expect(verifyNoteSignature(note, 'example.com/foo', vkey.publicKey)).toBe(true);
    expect(verifyNoteSignature(note.replace('example message', 'exemplary message'), 'example.com/foo', vkey.publicKey)).toBe(false);
  });

  it('tile paths as tlog-tiles writes them (1234067 → x001/x234/067)', () => {
    expect(tilePath(0, 1234067, 256)).toBe('tile/0/x001/x234/067');
    expect(tilePath('entries', 0, 7)).toBe('tile/entries/000.p/7');
    expect(tilePath(2, 1000, 1)).toBe('tile/2/x001/000.p/1');
  });

  it('RFC 6962: MTH and PROOF on a small tree', () => {
    const d = Array.from({ length: 8 }, (_, i) => rfc6962.leaf(Buffer.from([i])));
    expect(rfc6962.root(d)).toEqual(rfc6962.node(rfc6962.root(d.slice(0, 4)), rfc6962.root(d.slice(4))));
    expect(rfc6962.consistency(4, d)).toEqual([rfc6962.root(d.slice(4))]);
    expect(rfc6962.consistency(3, d.slice(0, 7))).toEqual([d[2], d[3], rfc6962.root(d.slice(0, 2)), rfc6962.root(d.slice(4, 7))]);
    expect(splitBundle(Buffer.from([0, 1, 65, 0, 0, 0, 2, 66, 67]))).toEqual([Buffer.from('A'), Buffer.alloc(0), Buffer.from('BC')]);
  });
});
