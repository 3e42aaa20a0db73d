/**
 * The errors of the browser SDK. A denial is never an error (it is `false`); an
 * error means the SDK could not get a decision, and the UI should treat it as "no".
 */

/** Base class of every error the client rejects with (except the token callback's own errors). */
export class WardenError extends Error {
  override readonly name: string = 'WardenError';
  /** The HTTP status the authz service answered with; `undefined` when there was no answer. */
  readonly status: number | undefined;

  constructor(message: string, status?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.status = status;
  }
}

/**
 * 401 or 403: the authz service refused the token (missing, expired, wrong issuer or
 * audience: 401) or the caller may not ask this question (403, e.g. about another subject).
 * `message` is the server's explanation.
 */
export class WardenAuthError extends WardenError {
  override readonly name = 'WardenAuthError';
  declare readonly status: 401 | 403;

  constructor(message: string, status: 401 | 403) {
    super(message, status);
  }
}

/** 400 (or another 4xx): the request was malformed, e.g. a resource that is not a Warden path. */
export class WardenRequestError extends WardenError {
  override readonly name = 'WardenRequestError';
  declare readonly status: number;

  constructor(message: string, status: number) {
    super(message, status);
  }
}

/**
 * The service could not be reached or could not decide: a network failure, a timeout,
 * 429, a 5xx, or an answer that is not an AuthZEN response. Transient: retrying may help.
 */
export class WardenUnavailableError extends WardenError {
  override readonly name = 'WardenUnavailableError';
}
