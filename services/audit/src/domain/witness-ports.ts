/** What witnessing needs from the outside world (issue 16 item 3): a witness's add-checkpoint. */
import type { AddCheckpointRequest, CosignatureVerifier } from '@warden/audit-events';

/** 200: the cosignature lines; 409: the size the witness last cosigned. */
export type WitnessReply = { readonly kind: 'cosigned'; readonly lines: string } | { readonly kind: 'conflict'; readonly size: number };

export interface WitnessClient {
  /** The witness's URL, for logs. */
  readonly url: string;
  /** The key its cosignatures must verify with. */
  readonly verifier: CosignatureVerifier;
  /** POSTs add-checkpoint; throws WitnessRefusal on another status, or a network error. */
  addCheckpoint(request: AddCheckpointRequest, signal: AbortSignal): Promise<WitnessReply>;
}

/** A witness answered neither 200 nor 409. 4xx are permanent for this checkpoint; 5xx may pass. */
export class WitnessRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WitnessRefusal';
  }

  get permanent(): boolean {
    return this.status >= 400 && this.status < 500 && this.status !== 408 && this.status !== 429;
  }
}
