/** Options of `createWarden`. The SDK never reads the environment: the host application decides. */
import type { ChannelCredentials } from 'nice-grpc';

export interface AuthzOptions {
  /** `host:port` of the authz gRPC API. */
  readonly address: string;
  /**
   * Transport credentials.
   * @defaultValue insecure (plaintext), for a sidecar on localhost
   */
  readonly channelCredentials?: ChannelCredentials | undefined;
}

export type CallerCredentials =
  /** A Warden service API key (`wdn_…`). */
  | { readonly apiKey: string }
  /** A bearer token, fetched per call (so it can be refreshed). */
  | { readonly token: () => string | Promise<string> }
  /** No credentials: only for a sidecar started with AUTHZ_TRUST_LOOPBACK. */
  | { readonly none: true };

export interface CacheOptions {
  /**
   * Most decisions kept.
   * @defaultValue 10000
   */
  readonly maxEntries?: number | undefined;
  /**
   * A decision is dropped this long after it was made, whatever else happens.
   * @defaultValue 10000
   */
  readonly ttlMs?: number | undefined;
}

export interface WardenOptions {
  readonly authz: AuthzOptions;
  readonly credentials: CallerCredentials;
  /**
   * Deadline of each call, retries included.
   * @defaultValue 2000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * Attempts for read-only calls (Check, CheckBatch, lookups) when the service is UNAVAILABLE.
   * Writes are never retried.
   * @defaultValue 3
   */
  readonly maxAttempts?: number | undefined;
  /**
   * A decision cache kept fresh by the authz Watch stream; off unless given.
   * It serves nothing while its Watch stream is down.
   * @defaultValue undefined (no cache)
   */
  readonly cache?: CacheOptions | undefined;
}
