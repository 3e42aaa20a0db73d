/** The one call shape of every use case: `(caller, input, options)`, gRPC and HTTP alike. */
import type { Consistency } from '../domain/model.js';

export interface CallOptions {
  /** How fresh the state the call reads must be (reads only); fastest when unset. */
  readonly consistency?: Consistency | undefined;
  /** The call's cancellation: a cancelled call stops its I/O. */
  readonly signal?: AbortSignal | undefined;
}

export const NO_OPTIONS: CallOptions = Object.freeze({});
