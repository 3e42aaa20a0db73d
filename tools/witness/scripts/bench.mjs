#!/usr/bin/env node
// Latency of add-checkpoint against a real `warden-witness serve` process (built dist): N
// sequential checkpoints of one log, each extending the last by one leaf with its consistency
// proof, so every request verifies a note signature and a proof, cosigns and fsyncs its state.
// Usage: node scripts/bench.mjs [N=500]
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileSync } from 'node:fs';
import { createNoteSigner, createNoteVerifier, formatAddCheckpoint, formatVerifierKey, hashLeaf, MerkleTree, privateKeyToPem, signCheckpoint } from '@warden/audit-events';

const n = Number(process.argv[2] ?? 500);
const dir = mkdtempSync(join(tmpdir(), 'witness-bench-'));
const main = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const logKey = generateKeyPairSync('ed25519');
const signer = createNoteSigner('bench.log', logKey.privateKey);
const vkey = formatVerifierKey(createNoteVerifier('bench.log', logKey.publicKey));
const witnessKey = generateKeyPairSync('ed25519');
writeFileSync(join(dir, 'w.pem'), privateKeyToPem(witnessKey.privateKey));
const child = spawn(process.execPath, [main, 'serve', '--name', 'bench.witness/w1', '--key-file', join(dir, 'w.pem'), '--state-dir', join(dir, 'state'), '--listen', '127.0.0.1:0', '--log', `bench.log/* ${vkey}`], { stdio: ['ignore', 'pipe', 'ignore'] });
const url = await new Promise((resolve) => child.stdout.on('data', (d) => { const m = /listening on (\S+)/.exec(String(d)); if (m) resolve(m[1]); }));
const leaves = Array.from({ length: n + 1 }, (_, i) => hashLeaf(Buffer.from(`entry ${i}`)));
const tree = new MerkleTree(leaves);
const times = [];
let old = 0;
for (let size = 1; size <= n; size += 1) {
  const note = signCheckpoint({ origin: 'bench.log/acme', treeSize: size, rootHash: tree.root(size) }, signer);
  const body = formatAddCheckpoint({ oldSize: old, proof: tree.consistencyProof(old, size), note });
  const t0 = process.hrtime.bigint();
  const r = await fetch(`${url}/add-checkpoint`, { method: 'POST', body });
  await r.text();
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 200) throw new Error(`size ${size}: ${r.status}`);
  old = size;
}
times.sort((a, b) => a - b);
const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2);
console.log(`add-checkpoint × ${n} (sequential, fsync each): p50 ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${times.at(-1).toFixed(2)} ms`);
child.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });
