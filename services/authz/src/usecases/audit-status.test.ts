/**
 * The audit status's pure judgement: a checkpoint counts only when signed by the pinned key,
 * cosignatures only when valid for a pinned witness key, and an event is "verified" only when
 * its inclusion proof leads to the checkpoint's root. Every way to be fooled is a case here.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  addSignatureLines, cosign, createCosignatureVerifier, createCosigner, createNoteSigner, createNoteVerifier,
  hashLeaf, MerkleTree, parseCheckpointNote, signCheckpoint,
} from '@warden/audit-events';
import { createAuditStatus, judgeCheckpoint, judgeEvent, type AuditReader, type ProofAnswer } from './audit-status.js';

const logKey = generateKeyPairSync('ed25519');
const otherKey = generateKeyPairSync('ed25519');
const witnessKey = generateKeyPairSync('ed25519');
const leaves = Array.from({ length: 7 }, (_, i) => hashLeaf(Buffer.from(`event ${i}`)));
const tree = new MerkleTree(leaves);
const note = signCheckpoint({ origin: 'audit.warden.local/acme', treeSize: 7, rootHash: tree.root() }, createNoteSigner('audit.warden.local', logKey.privateKey));
const logVerifier = createNoteVerifier('audit.warden.local', logKey.publicKey);
const witness = createCosignatureVerifier('witness.example', witnessKey.publicKey);
const checkpoint = { size: 7, root: tree.root() };
const proof = (seq: number, over: Partial<Extract<ProofAnswer, { kind: 'proof' }>> = {}): ProofAnswer => ({
  kind: 'proof', seq, treeSize: 7, leafHash: leaves[seq]!.toString('hex'), path: tree.inclusionProof(seq).map((h) => h.toString('hex')), ...over,
});

describe('judgeCheckpoint', () => {
  it('opens a checkpoint signed by the pinned key, with no witnesses', () => {
    const judged = judgeCheckpoint(note, [logVerifier], [witness]);
    expect(judged).toMatchObject({ ok: true, size: 7, witnesses: [] });
  });

  it('counts a valid cosignature by a pinned witness', () => {
    const cosigned = addSignatureLines(note, cosign(parseCheckpointNote(note).body, createCosigner('witness.example', witnessKey.privateKey), 1_700_000_000));
    expect(judgeCheckpoint(cosigned, [logVerifier], [witness])).toMatchObject({ ok: true, witnesses: ['witness.example'] });
  });

  it('does not count a cosignature by an unpinned key under the witness name', () => {
    const forged = addSignatureLines(note, cosign(parseCheckpointNote(note).body, createCosigner('witness.example', otherKey.privateKey), 1_700_000_000));
    expect(judgeCheckpoint(forged, [logVerifier], [witness])).toMatchObject({ ok: true, witnesses: [] });
  });

  it('refuses a checkpoint signed by another key (a server that lies about its key)', () => {
    const other = signCheckpoint({ origin: 'audit.warden.local/acme', treeSize: 7, rootHash: tree.root() }, createNoteSigner('audit.warden.local', otherKey.privateKey));
    expect(judgeCheckpoint(other, [logVerifier], [])).toMatchObject({ ok: false, reason: expect.stringContaining('no valid signature') });
  });

  it('refuses when no key is pinned (nothing to check against)', () => {
    expect(judgeCheckpoint(note, [], [])).toMatchObject({ ok: false, reason: expect.stringContaining('AUTHZ_AUDIT_VERIFIER_KEY') });
  });

  it('refuses a tampered note body', () => {
    expect(judgeCheckpoint(note.replace('\n7\n', '\n8\n'), [logVerifier], [])).toMatchObject({ ok: false });
  });
});

describe('judgeEvent', () => {
  it('verifies every leaf of the tree against the checkpoint', () => {
    for (let seq = 0; seq < 7; seq++) expect(judgeEvent('e', proof(seq), checkpoint)).toEqual({ eventId: 'e', state: 'verified', seq, reason: '' });
  });

  it('does not verify a proof for another leaf, a wrong path or a wrong seq', () => {
    expect(judgeEvent('e', proof(2, { leafHash: leaves[3]!.toString('hex') }), checkpoint).state).toBe('unverifiable');
    expect(judgeEvent('e', proof(2, { path: tree.inclusionProof(3).map((h) => h.toString('hex')) }), checkpoint).state).toBe('unverifiable');
    expect(judgeEvent('e', { ...proof(2), seq: 4 } as ProofAnswer, checkpoint).state).toBe('unverifiable');
  });

  it('does not verify against another root (a proof for a different tree)', () => {
    const other = new MerkleTree([...leaves.slice(0, 6), hashLeaf(Buffer.from('forged'))]);
    expect(judgeEvent('e', proof(6, { leafHash: hashLeaf(Buffer.from('forged')).toString('hex'), path: other.inclusionProof(6).map((h) => h.toString('hex')) }), checkpoint)).toMatchObject({ state: 'unverifiable', reason: expect.stringContaining('does not match') });
  });

  it('does not verify a proof for another tree size, or a malformed one', () => {
    expect(judgeEvent('e', proof(1, { treeSize: 6 }), checkpoint)).toMatchObject({ state: 'unverifiable', reason: expect.stringContaining('tree size 6') });
    expect(judgeEvent('e', proof(1, { leafHash: 'zz' }), checkpoint)).toMatchObject({ state: 'unverifiable', reason: 'the proof is malformed' });
    expect(judgeEvent('e', proof(1, { path: ['ab'] }), checkpoint)).toMatchObject({ state: 'unverifiable', reason: 'the proof is malformed' });
  });

  it('maps not found, beyond the checkpoint and errors without claiming anything', () => {
    expect(judgeEvent('e', { kind: 'not_found' }, checkpoint)).toEqual({ eventId: 'e', state: 'not_in_log', seq: 0, reason: '' });
    expect(judgeEvent('e', { kind: 'beyond_checkpoint' }, checkpoint).state).toBe('not_in_checkpoint');
    expect(judgeEvent('e', { kind: 'error', reason: 'PERMISSION_DENIED' }, checkpoint)).toMatchObject({ state: 'unverifiable', reason: 'PERMISSION_DENIED' });
  });
});

describe('createAuditStatus fails closed', () => {
  const caller = { subject: 'user:ivy@acme.com' } as unknown as Parameters<ReturnType<typeof createAuditStatus>['getStatus']>[0];
  const allow = { requireAll: () => Promise.resolve() };
  const id = '0190a6c0-0000-7000-8000-000000000001';
  const reader = (checkpoint: () => Promise<string>, answer: ProofAnswer): AuditReader => ({ checkpoint, inclusionProof: () => Promise.resolve(answer) });

  it('without an audit service configured: every event unverifiable, with the reason', async () => {
    const status = await createAuditStatus({ rules: allow, reader: undefined, logKeys: [logVerifier], witnessKeys: [] }).getStatus(caller, { org: 'org:acme', eventIds: [id], authorization: undefined });
    expect(status).toMatchObject({ checkpointVerified: false, events: [{ eventId: id, state: 'unverifiable', reason: expect.stringContaining('AUTHZ_AUDIT_ADDRESS') }] });
  });

  it('when the audit service fails, or its checkpoint is signed by another key: unverifiable, though its proof would match', async () => {
    const down = createAuditStatus({ rules: allow, reader: reader(() => Promise.reject(new Error('UNAVAILABLE')), proof(1)), logKeys: [logVerifier], witnessKeys: [] });
    expect((await down.getStatus(caller, { org: 'org:acme', eventIds: [id], authorization: 'Bearer x' })).events[0]).toMatchObject({ state: 'unverifiable', reason: expect.stringContaining('UNAVAILABLE') });
    const forged = signCheckpoint({ origin: 'audit.warden.local/acme', treeSize: 7, rootHash: tree.root() }, createNoteSigner('audit.warden.local', otherKey.privateKey));
    const lying = createAuditStatus({ rules: allow, reader: reader(() => Promise.resolve(forged), proof(1)), logKeys: [logVerifier], witnessKeys: [] });
    expect((await lying.getStatus(caller, { org: 'org:acme', eventIds: [id], authorization: 'Bearer x' })).events[0]).toMatchObject({ state: 'unverifiable' });
    const honest = createAuditStatus({ rules: allow, reader: reader(() => Promise.resolve(note), proof(1)), logKeys: [logVerifier], witnessKeys: [] });
    expect((await honest.getStatus(caller, { org: 'org:acme', eventIds: [id], authorization: 'Bearer x' })).events[0]).toMatchObject({ state: 'verified', seq: 1 });
  });

  it('refuses bad input precisely', async () => {
    const status = createAuditStatus({ rules: allow, reader: undefined, logKeys: [], witnessKeys: [] });
    await expect(status.getStatus(caller, { org: 'org:acme/project:x', eventIds: [], authorization: undefined })).rejects.toThrow(/org/);
    await expect(status.getStatus(caller, { org: 'org:acme', eventIds: ['x'], authorization: undefined })).rejects.toThrow(/event_ids\[0\]/);
    await expect(status.getStatus(caller, { org: 'org:acme', eventIds: Array(101).fill(id), authorization: undefined })).rejects.toThrow(/at most 100/);
  });
});
