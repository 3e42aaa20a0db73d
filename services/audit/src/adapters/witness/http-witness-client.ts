/**
 * A witness over HTTP (c2sp.org/tlog-witness@v1.0.0): `POST <prefix>/add-checkpoint`
 * with the text body; 200 → cosignature lines, 409 (`text/x.tlog.size`) → the witness's
 * size, anything else → WitnessRefusal. The caller's signal bounds the whole exchange.
 */
import { formatAddCheckpoint, type AddCheckpointRequest, type CosignatureVerifier } from '@warden/audit-events';
import { WitnessRefusal, type WitnessClient, type WitnessReply } from '../../domain/witness-ports.js';

const MAX_REPLY = 64 * 1024;

export class HttpWitnessClient implements WitnessClient {
  constructor(
    readonly url: string,
    readonly verifier: CosignatureVerifier,
  ) {}

  async addCheckpoint(request: AddCheckpointRequest, signal: AbortSignal): Promise<WitnessReply> {
    const response = await fetch(`${this.url}/add-checkpoint`, { method: 'POST', body: formatAddCheckpoint(request), headers: { 'content-type': 'text/plain; charset=utf-8' }, signal });
    const text = await response.text();
    if (text.length > MAX_REPLY) throw new WitnessRefusal(response.status, `${this.url}: the reply is larger than ${MAX_REPLY} bytes`);
    if (response.status === 200) return { kind: 'cosigned', lines: text };
    if (response.status === 409) {
      const size = /^(0|[1-9]\d{0,15})\n$/.exec(text);
      if (size === null || !(response.headers.get('content-type') ?? '').startsWith('text/x.tlog.size')) throw new WitnessRefusal(409, `${this.url}: a 409 without a text/x.tlog.size body`);
      return { kind: 'conflict', size: Number(size[1]) };
    }
    throw new WitnessRefusal(response.status, `${this.url}: ${response.status} ${text.trim().slice(0, 200)}`);
  }
}
