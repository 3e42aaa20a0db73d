/**
 * Signature verification off the main thread, in batches: every verification asked for in one
 * synchronous run (an Append's events are admitted together) goes to the worker threads in
 * one message per worker (round robin), where it is
 * checked synchronously. One message per batch instead of one thread-pool job per event keeps
 * the main thread's cost per event small (profiled: the per-event async crypto.verify was the
 * largest item of the ingest path).
 *
 * Invariants:
 *  - the answer is node:crypto's Ed25519 verify of the same bytes in the worker; a true is
 *    only ever a computed "valid" (a malformed key or signature is false);
 *  - a worker that dies rejects its pending batches with UnavailableError (those Appends
 *    are retried by their producers; nothing is admitted unverified) and is replaced;
 *  - close() terminates the workers; pending batches reject.
 *
 * The worker is plain CommonJS evaluated from WORKER_SOURCE (it loads node:crypto only — never
 * chdb, which crashes a worker thread at exit), so the same code runs from dist/ and in tests.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import { UnavailableError } from '@warden/errors';
import type { SignatureCheck } from '../../domain/ports.js';

type VerifyRequest = { readonly id: number; readonly items: readonly (readonly [canonical: string, signature: Uint8Array, publicKeyDer: Uint8Array])[] };
type VerifyResponse = { readonly id: number; readonly results: Uint8Array };

const WORKER_SOURCE = `
const { createPublicKey, verify } = require('node:crypto');
const { parentPort } = require('node:worker_threads');
const keys = new Map();
function keyOf(der) {
  const id = Buffer.from(der).toString('base64');
  let key = keys.get(id);
  if (key === undefined) {
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    if (keys.size > 10000) keys.clear();
    keys.set(id, key);
  }
  return key;
}
parentPort.on('message', (request) => {
  const results = new Uint8Array(request.items.length);
  for (let i = 0; i < request.items.length; i += 1) {
    const [canonical, signature, der] = request.items[i];
    try {
      results[i] = signature.length === 64 && verify(null, Buffer.from(canonical, 'utf8'), keyOf(der), signature) ? 1 : 0;
    } catch {
      results[i] = 0;
    }
  }
  parentPort.postMessage({ id: request.id, results }, [results.buffer]);
});
`;

type Pending = { readonly resolve: (results: Uint8Array) => void; readonly reject: (error: unknown) => void };
type Item = { readonly canonical: string; readonly signature: Uint8Array; readonly key: KeyObject; resolve(ok: boolean): void; reject(error: unknown): void };

export class VerifierPool {
  private readonly workers: Worker[] = [];
  private readonly pending = new Map<number, { worker: Worker; settle: Pending }>();
  private readonly ders = new WeakMap<KeyObject, Uint8Array>();
  private queued: Item[] = [];
  private scheduled = false;
  private nextId = 1;
  private nextWorker = 0;
  private closed = false;

  /** @param size worker threads; default: the machine's parallelism, at most 4. */
  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    for (let i = 0; i < size; i += 1) this.workers.push(this.spawn());
  }

  /** The SignatureCheck the audit log uses. */
  readonly verify: SignatureCheck = (canonical, signature, key) => {
    if (this.closed) return Promise.reject(new UnavailableError('the service is stopping'));
    return new Promise<boolean>((resolve, reject) => {
      this.queued.push({ canonical, signature, key, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  };

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
    for (const { settle } of this.pending.values()) settle.reject(new UnavailableError('the service is stopping'));
    this.pending.clear();
  }

  private spawn(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    worker.on('message', (response: VerifyResponse) => {
      const entry = this.pending.get(response.id);
      this.pending.delete(response.id);
      entry?.settle.resolve(response.results);
    });
    const fail = (error: unknown) => {
      for (const [id, entry] of this.pending) {
        if (entry.worker !== worker) continue;
        this.pending.delete(id);
        entry.settle.reject(error);
      }
      const at = this.workers.indexOf(worker);
      if (at >= 0 && !this.closed) this.workers[at] = this.spawn();
    };
    worker.on('error', (error) => fail(new UnavailableError('a signature verification worker failed; retry', { cause: error })));
    worker.on('exit', (code) => {
      if (!this.closed) fail(new UnavailableError(`a signature verification worker exited (code ${code}); retry`));
    });
    return worker;
  }

  private der(key: KeyObject): Uint8Array {
    let der = this.ders.get(key);
    if (der === undefined) {
      der = new Uint8Array(key.export({ format: 'der', type: 'spki' }));
      this.ders.set(key, der);
    }
    return der;
  }

  private flush(): void {
    this.scheduled = false;
    const items = this.queued;
    this.queued = [];
    if (items.length === 0) return;
    // Split the turn's work across the workers (at least 32 events a message).
    const parts = Math.max(1, Math.min(this.workers.length, Math.ceil(items.length / 32)));
    const size = Math.ceil(items.length / parts);
    for (let start = 0; start < items.length; start += size) {
      const part = items.slice(start, start + size);
      try {
        this.send(part);
      } catch (error) {
        // Never an exception in a microtask (it would end the process): the Appends fail instead.
        for (const item of part) item.reject(new UnavailableError('cannot verify signatures now; retry', { cause: error }));
      }
    }
  }

  private send(items: readonly Item[]): void {
    const worker = this.workers[this.nextWorker++ % this.workers.length]!;
    const id = this.nextId++;
    const request: VerifyRequest = { id, items: items.map((item) => [item.canonical, item.signature, this.der(item.key)] as const) };
    this.pending.set(id, {
      worker,
      settle: {
        resolve: (results) => items.forEach((item, i) => item.resolve(results[i] === 1)),
        reject: (error) => items.forEach((item) => item.reject(error)),
      },
    });
    worker.postMessage(request);
  }
}
