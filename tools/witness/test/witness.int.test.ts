/**
 * `warden-witness serve` run as a separate process (the built dist), spoken to over HTTP,
 * its answers checked by the independent C2SP client of @warden/testkit (written from the
 * spec texts, sharing no code with the witness): every status of c2sp.org/tlog-witness
 * add-checkpoint, the cosignature/v1 signature, persistence across a restart, the
 * check-and-update race, and one process per state directory.
 */
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, parseVkey, rfc6962, signNoteText, startProcess, verifyCosignatureV1, verifyNoteSignature, vkeyOf, type TestProcess } from '@warden/testkit';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const LOG_NAME = 'log.test';
const WITNESS_NAME = 'witness.test/w1';
const log = generateKeyPairSync('ed25519');
const dir = mkdtempSync(join(tmpdir(), 'warden-witness-'));
const keyFile = join(dir, 'witness.pem');
const stateDir = join(dir, 'state');
const leaves = Array.from({ length: 40 }, (_, i) => rfc6962.leaf(Buffer.from(`entry ${i}`)));

function checkpoint(origin: string, size: number, root = rfc6962.root(leaves.slice(0, size)), key = log.privateKey, name = LOG_NAME): string {
  const text = `${origin}\n${size}\n${root.toString('base64')}\n`;
  return `${text}\n${signNoteText(text, name, key)}`;
}

function body(old: number, proof: Buffer[], note: string): string {
  return `old ${old}\n${proof.map((h) => `${h.toString('base64')}\n`).join('')}\n${note}`;
}

describe('warden-witness (separate process)', () => {
  let witness: TestProcess;
  let url: string;
  let witnessKey: ReturnType<typeof parseVkey>;

  const start = async (): Promise<TestProcess> => {
    const port = await freePort();
    const p = startProcess(process.execPath, [MAIN, 'serve', '--name', WITNESS_NAME, '--key-file', keyFile, '--state-dir', stateDir, '--listen', `127.0.0.1:${port}`, '--log', `${LOG_NAME}/* ${vkeyOf(LOG_NAME, 1, log.publicKey)}`], { name: 'warden-witness' });
    await p.waitForOutput(/listening on http:\/\/127\.0\.0\.1:\d+/);
    url = `http://127.0.0.1:${port}`;
    return p;
  };
  const post = async (text: string) => {
    const r = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: text });
    return { status: r.status, type: r.headers.get('content-type'), text: await r.text() };
  };

  beforeAll(async () => {
    const vkey = execFileSync(process.execPath, [MAIN, 'keygen', '--name', WITNESS_NAME, '--key-file', keyFile], { encoding: 'utf8' }).trim();
    witnessKey = parseVkey(vkey);
    expect(witnessKey).toMatchObject({ name: WITNESS_NAME, type: 0x04 });
    witness = await start();
  });

  afterAll(async () => {
    await witness?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cosigns a first checkpoint (old 0): a timestamped cosignature/v1 by its key, verified independently', async () => {
    const note = checkpoint(`${LOG_NAME}/acme`, 5);
    const before = Math.floor(Date.now() / 1000);
    const r = await post(body(0, [], note));
    expect(r.status).toBe(200);
    expect(r.text).toMatch(new RegExp(`^\u2014 ${WITNESS_NAME.replace('/', '\\/')} [A-Za-z0-9+/=]+\n$`));
    const t = verifyCosignatureV1(note + r.text, WITNESS_NAME, witnessKey.publicKey);
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(Math.floor(Date.now() / 1000));
    // The signature is over the note text: another text does not verify with it.
    const other = checkpoint(`${LOG_NAME}/acme`, 6);
    expect(verifyCosignatureV1(other + r.text, WITNESS_NAME, witnessKey.publicKey)).toBeUndefined();
  });

  it('409 with the known size (text/x.tlog.size) when the old size is not the one it cosigned', async () => {
    const r = await post(body(0, [], checkpoint(`${LOG_NAME}/acme`, 9)));
    expect(r).toEqual({ status: 409, type: 'text/x.tlog.size', text: '5\n' });
  });

  it('422 for a consistency proof that does not verify, 200 for the right one', async () => {
    const note = checkpoint(`${LOG_NAME}/acme`, 9);
    const proof = rfc6962.consistency(5, leaves.slice(0, 9));
    expect((await post(body(5, [], note))).status).toBe(422);
    expect((await post(body(5, [proof[1]!, proof[0]!, ...proof.slice(2)], note))).status).toBe(422);
    const forkRoot = rfc6962.root([...leaves.slice(0, 8), rfc6962.leaf(Buffer.from('forged'))]);
    expect((await post(body(5, rfc6962.consistency(5, [...leaves.slice(0, 8), rfc6962.leaf(Buffer.from('forged'))]), checkpoint(`${LOG_NAME}/acme`, 9, forkRoot)))).status).toBe(200);
  });

  it('the same size again: 200 for the same root, 422 for another (a fork)', async () => {
    const forkRoot = rfc6962.root([...leaves.slice(0, 8), rfc6962.leaf(Buffer.from('forged'))]);
    expect((await post(body(9, [], checkpoint(`${LOG_NAME}/acme`, 9, forkRoot)))).status).toBe(200);
    expect((await post(body(9, [], checkpoint(`${LOG_NAME}/acme`, 9)))).status).toBe(422);
  });

  it('404 for an unknown origin, 403 without a valid trusted signature', async () => {
    expect((await post(body(0, [], checkpoint('other.test/acme', 3)))).status).toBe(404);
    expect((await post(body(0, [], checkpoint(`${LOG_NAME}/a/b`, 3)))).status).toBe(404);
    const mallory = generateKeyPairSync('ed25519');
    expect((await post(body(0, [], checkpoint(`${LOG_NAME}/beta`, 3, undefined, mallory.privateKey)))).status).toBe(403);
    // The trusted key's name and ID, a signature that does not verify: the note is malformed.
    const note = checkpoint(`${LOG_NAME}/beta`, 3);
    const forged = note.replace(/ ([A-Za-z0-9+/]{6})([A-Za-z0-9+/])/, (_, a: string, c: string) => ` ${a}${c === 'A' ? 'B' : 'A'}`);
    expect(forged).not.toBe(note);
    expect((await post(body(0, [], forged))).status).toBe(403);
  });

  it('400 for a malformed body or an old size above the checkpoint; 422 for a proof with old 0 and a bad empty tree', async () => {
    expect((await post('hello\n')).status).toBe(400);
    expect((await post(body(0, [], checkpoint(`${LOG_NAME}/beta`, 3)).replace('old 0', 'old 00'))).status).toBe(400);
    expect((await post(body(4, [], checkpoint(`${LOG_NAME}/beta`, 3)))).status).toBe(400);
    // signed-note: no control character but newline (a signed note with a tab is still refused).
    expect((await post(body(0, [], checkpoint(`${LOG_NAME}/be\tta`, 3)))).status).toBe(400);
    const notUtf8 = await fetch(`${url}/add-checkpoint`, { method: 'POST', body: Buffer.from([0x6f, 0x6c, 0x64, 0x20, 0xff, 0x0a]) });
    expect(notUtf8.status).toBe(400);
    expect((await post(body(0, [leaves[0]!], checkpoint(`${LOG_NAME}/beta`, 3)))).status).toBe(422);
    expect((await post(body(0, [], checkpoint(`${LOG_NAME}/zero`, 0, leaves[0])))).status).toBe(422);
    expect((await post(body(0, [], checkpoint(`${LOG_NAME}/zero`, 0, createHash('sha256').digest())))).status).toBe(200);
    const r = await fetch(`${url}/add-checkpoint`);
    expect(r.status).toBe(405);
  });

  it('serves the newest cosigned checkpoint per origin hash to monitors, with the log signature and its cosignature', async () => {
    const hash = createHash('sha256').update(`${LOG_NAME}/acme`).digest('hex');
    const r = await fetch(`${url}/${hash}/checkpoint`);
    expect(r.status).toBe(200);
    const note = await r.text();
    expect(note.split('\n').slice(0, 2)).toEqual([`${LOG_NAME}/acme`, '9']);
    expect(verifyNoteSignature(note, LOG_NAME, log.publicKey)).toBe(true);
    expect(verifyCosignatureV1(note, WITNESS_NAME, witnessKey.publicKey)).toBeGreaterThan(0);
    expect((await fetch(`${url}/${'0'.repeat(64)}/checkpoint`)).status).toBe(404);
  });

  it('check-and-update is atomic: of two concurrent extensions of the same old size, one is cosigned and one conflicts', async () => {
    const origin = `${LOG_NAME}/race`;
    expect((await post(body(0, [], checkpoint(origin, 4)))).status).toBe(200);
    const results = await Promise.all([12, 15].map((size) => post(body(4, rfc6962.consistency(4, leaves.slice(0, size)), checkpoint(origin, size)))));
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
  });

  it('remembers across a restart (state fsynced), and a second process on the same state directory is refused', async () => {
    const second = startProcess(process.execPath, [MAIN, 'serve', '--name', WITNESS_NAME, '--key-file', keyFile, '--state-dir', stateDir, '--listen', `127.0.0.1:${await freePort()}`, '--log', `${LOG_NAME}/* ${vkeyOf(LOG_NAME, 1, log.publicKey)}`]);
    const exit = await second.exited;
    expect(exit.code).toBe(2);
    expect(second.stderr).toMatch(/in use by process/);
    await witness.stop();
    witness = await start();
    expect(await post(body(0, [], checkpoint(`${LOG_NAME}/acme`, 9)))).toEqual({ status: 409, type: 'text/x.tlog.size', text: '9\n' });
  });
});
