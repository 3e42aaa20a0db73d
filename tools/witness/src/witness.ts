/**
 * The witness (c2sp.org/tlog-witness@v1.0.0, add-checkpoint and the monitor retrieval
 * endpoint), transport-free: a request body in, a status, content type and body out.
 *
 * Checks, in the spec's order: a malformed body is 400; an unknown origin 404; no valid
 * signature by a trusted key for the origin, or a trusted key's signature that fails, 403;
 * old size > checkpoint size 400; old size ≠ the size last cosigned (0 when none) 409 with
 * that size (`text/x.tlog.size`); a size-0 checkpoint whose root is not SHA-256("") 422; a
 * proof sent with old size 0, a consistency proof that fails, or an equal size with another
 * root 422. Otherwise the new state is persisted, then the cosignature (cosignature/v1,
 * c2sp.org/tlog-cosignature@v1.0.1, Ed25519, timestamp now) is returned.
 */
import {
  cosign,
  EMPTY_ROOT,
  parseAddCheckpoint,
  parseCheckpointNote,
  verifyConsistency,
  type Cosigner,
  type NoteVerifier,
  type ParsedNote,
} from '@warden/audit-events';
import { verify } from 'node:crypto';
import { type WitnessState } from './state.js';

export type WitnessResponse = { readonly status: number; readonly contentType: string; readonly body: string };

/** A log the witness follows: an exact origin, or every origin `<prefix>/<one segment>` with `/*`. */
export type TrustedLog = { readonly origin: string; readonly verifier: NoteVerifier };

export type WitnessOptions = {
  readonly cosigner: Cosigner;
  readonly logs: readonly TrustedLog[];
  readonly state: WitnessState;
  /** POSIX seconds. @defaultValue now */
  readonly clock?: () => number;
  /** Structured log of refusals (they may be evidence of log misbehaviour). */
  readonly log?: (fields: Record<string, unknown>, message: string) => void;
};

const TEXT = 'text/plain; charset=utf-8';
const reply = (status: number, body: string, contentType = TEXT): WitnessResponse => ({ status, contentType, body });

function matches(pattern: string, origin: string): boolean {
  if (!pattern.endsWith('/*')) return pattern === origin;
  const prefix = pattern.slice(0, -1);
  return origin.startsWith(prefix) && origin.length > prefix.length && !origin.slice(prefix.length).includes('/');
}

/** signed-note: valid UTF-8 (checked by the decoder) and no control character but newline. */
function plainNote(note: string): boolean {
  for (let i = 0; i < note.length; i += 1) {
    const code = note.charCodeAt(i);
    if (code < 0x20 && code !== 0x0a) return false;
  }
  return true;
}

export class Witness {
  private readonly clock: () => number;

  constructor(private readonly options: WitnessOptions) {
    this.clock = options.clock ?? (() => Math.floor(Date.now() / 1000));
  }

  private verifiersFor(origin: string): NoteVerifier[] {
    return this.options.logs.filter((l) => matches(l.origin, origin)).map((l) => l.verifier);
  }

  async addCheckpoint(body: string): Promise<WitnessResponse> {
    let oldSize: number;
    let proof: readonly Buffer[];
    let parsed: ParsedNote;
    try {
      const request = parseAddCheckpoint(body);
      if (!plainNote(request.note)) throw new TypeError('the checkpoint has control characters');
      parsed = parseCheckpointNote(request.note);
      oldSize = request.oldSize;
      proof = request.proof;
    } catch (error) {
      return reply(400, `${(error as Error).message}\n`);
    }
    const { origin, treeSize, rootHash } = parsed.checkpoint;
    const verifiers = this.verifiersFor(origin);
    if (verifiers.length === 0) return reply(404, `unknown log origin\n`);
    // Every signature line whose name and key ID match a trusted key must verify.
    const trustedLines = parsed.signatures.filter((s) => verifiers.some((v) => v.name === s.name && v.keyHash.equals(s.keyHash)));
    const verifiedLines = trustedLines.filter((s) => {
      const v = verifiers.find((k) => k.name === s.name && k.keyHash.equals(s.keyHash))!;
      return s.signature.length === 64 && verify(null, Buffer.from(parsed.body, 'utf8'), v.publicKey, s.signature);
    });
    if (trustedLines.length === 0 || verifiedLines.length !== trustedLines.length) {
      this.options.log?.({ origin, treeSize }, 'refused: no valid signature by a trusted key');
      return reply(403, 'the checkpoint has no valid signature by a key trusted for its origin\n');
    }
    if (oldSize > treeSize) return reply(400, `old size ${oldSize} is larger than the checkpoint size ${treeSize}\n`);
    return this.options.state.update(origin, (current) => {
      const known = current?.size ?? 0;
      if (oldSize !== known) {
        this.options.log?.({ origin, oldSize, known, treeSize }, 'conflict: the client does not know the latest cosigned size');
        return { result: reply(409, `${known}\n`, 'text/x.tlog.size') };
      }
      if (treeSize === 0 && !rootHash.equals(EMPTY_ROOT)) return { result: reply(422, 'a checkpoint of size 0 must have the empty-tree root\n') };
      if (oldSize === 0 && proof.length > 0) return { result: reply(422, 'no consistency proof may be sent with old size 0\n') };
      const knownRoot = current?.root ?? EMPTY_ROOT;
      if (oldSize === treeSize && !knownRoot.equals(rootHash)) {
        this.options.log?.({ origin, treeSize }, 'fork: same size, another root (evidence of log misbehaviour)');
        return { result: reply(422, 'the root differs from the one cosigned at this size\n') };
      }
      if (oldSize > 0 && oldSize < treeSize && !verifyConsistency(oldSize, treeSize, knownRoot, rootHash, proof)) {
        this.options.log?.({ origin, oldSize, treeSize }, 'refused: the consistency proof does not verify');
        return { result: reply(422, 'the consistency proof does not verify\n') };
      }
      if (oldSize === treeSize && proof.length > 0) return { result: reply(422, 'the consistency proof between equal sizes must be empty\n') };
      const line = cosign(parsed.body, this.options.cosigner, this.clock());
      const logLines = verifiedLines.map((s) => `\u2014 ${s.name} ${Buffer.concat([s.keyHash, s.signature]).toString('base64')}\n`).join('');
      const note = `${parsed.body}\n${logLines}${line}`;
      return { next: { origin, size: treeSize, root: rootHash, note }, result: reply(200, line) };
    });
  }

  /** GET <monitoring prefix>/<origin hash>/checkpoint. */
  async checkpoint(hash: string): Promise<WitnessResponse> {
    const state = await this.options.state.readByHash(hash);
    if (state === undefined) return reply(404, 'this witness has not cosigned a checkpoint of that log\n');
    return reply(200, state.note);
  }
}
