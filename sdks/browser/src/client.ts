/**
 * The browser client: `can` / `canMany` over the AuthZEN `evaluations` endpoint of the
 * Warden authz service, with request coalescing and a short-lived answer cache.
 *
 * For showing and hiding controls only: the server that performs a change must check it
 * again. Every failure to decide rejects (and callers should show nothing); a batch
 * item the server could not evaluate is `false` (fail closed).
 */
import { WardenAuthError, WardenError, WardenRequestError, WardenUnavailableError } from './errors.js';

/** An AuthZEN subject, e.g. `{ type: 'user', id: 'mia@acme.com' }`. */
export interface Subject {
  readonly type: string;
  readonly id: string;
}

/**
 * A Warden resource: its full path (`'org:acme/project:checkout/env:production/flag:checkout-v2'`),
 * or the AuthZEN pair `{ type, id }` where `id` is that path and `type` its last segment's type.
 */
export type Resource = string | { readonly type: string; readonly id: string };

/** One question: may the client's subject do `action` (e.g. `'flags:enable'`) on `resource`? */
export interface Question {
  readonly action: string;
  readonly resource: Resource;
}

export interface WardenClientOptions {
  /** Where the authz HTTP API is served, e.g. `'https://authz.example.com'` (its origin must be in `AUTHZ_CORS_ORIGINS`). */
  readonly baseUrl: string;
  /**
   * The signed-in user every question is about: `{ type, id }` or `'type:id'`
   * (`'user:mia@acme.com'`). It must be the token's subject: the service answers 403
   * when a user asks about someone else. Create a new client when the user changes.
   */
  readonly subject: Subject | string;
  /**
   * Returns the user's bearer token (a JWT from your identity provider). Called once
   * per request, so it can refresh; if it throws or rejects, the questions of that
   * request reject with its error, unchanged.
   */
  readonly getToken: () => string | Promise<string>;
  /**
   * How long an answer is reused, in milliseconds. `0` turns the cache off (identical
   * questions in flight are still shared).
   * @defaultValue 5000
   */
  readonly cacheTtlMs?: number;
  /**
   * The `fetch` to use (a wrapper that adds headers or logging, or a test double).
   * @defaultValue globalThis.fetch
   */
  readonly fetch?: typeof fetch;
  /**
   * The most questions sent in one `evaluations` request; more are split over several
   * requests (the service accepts up to 1000).
   * @defaultValue 100
   */
  readonly maxBatch?: number;
  /**
   * How long a request may take before its questions reject with `WardenUnavailableError`.
   * @defaultValue 10000
   */
  readonly timeoutMs?: number;
}

export interface WardenClient {
  /**
   * Whether the subject may do `action` on `resource`. Calls made in the same task
   * (before the event loop turns) are sent together as one `evaluations` request; an
   * identical question already in flight shares its promise; a fresh cached answer
   * resolves without a request.
   */
  can(action: string, resource: Resource): Promise<boolean>;
  /** Asks many questions in one request (prefetch); answers are in the questions' order and fill the cache. */
  canMany(questions: readonly Question[]): Promise<boolean[]>;
  /** Forgets every cached answer; answers of requests in flight are not cached. Call after the user's rights may have changed. */
  clear(): void;
}

interface Pending {
  readonly key: string;
  readonly action: string;
  readonly resource: { readonly type: string; readonly id: string };
  readonly resolve: (decision: boolean) => void;
  readonly reject: (error: unknown) => void;
}

function toSubject(subject: Subject | string): Subject {
  if (typeof subject !== 'string') return subject;
  const colon = subject.indexOf(':');
  if (colon < 1) throw new TypeError(`subject ${JSON.stringify(subject)} is not "type:id", e.g. "user:mia@acme.com"`);
  return { type: subject.slice(0, colon), id: subject.slice(colon + 1) };
}

/** `'org:acme/…/flag:checkout-v2'` → `{ type: 'flag', id: '…' }` (the service validates the path). */
function toResource(resource: Resource): { type: string; id: string } {
  if (typeof resource !== 'string') return { type: resource.type, id: resource.id };
  const last = resource.slice(resource.lastIndexOf('/') + 1);
  return { type: last.slice(0, Math.max(0, last.indexOf(':'))), id: resource };
}

/** Maps a non-2xx answer onto the SDK's errors. */
function errorForStatus(status: number, body: string): WardenError {
  const message = body.trim() || `authz answered HTTP ${status}`;
  if (status === 401 || status === 403) return new WardenAuthError(message, status);
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return new WardenRequestError(message, status);
  return new WardenUnavailableError(message, status);
}

interface EvaluationsResponse {
  evaluations: Array<{ decision?: unknown; context?: { error?: unknown } }>;
}

function isEvaluations(body: unknown, length: number): body is EvaluationsResponse {
  const evaluations = (body as Partial<EvaluationsResponse> | null)?.evaluations;
  return Array.isArray(evaluations) && evaluations.length === length;
}

/** Creates a client bound to one subject (the signed-in user). */
export function createWardenClient(options: WardenClientOptions): WardenClient {
  const subject = toSubject(options.subject);
  const endpoint = `${options.baseUrl.replace(/\/+$/, '')}/access/v1/evaluations`;
  const ttl = options.cacheTtlMs ?? 5000;
  const maxBatch = Math.max(1, options.maxBatch ?? 100);
  const timeoutMs = options.timeoutMs ?? 10_000;

  const cache = new Map<string, { readonly decision: boolean; readonly until: number }>();
  const inFlight = new Map<string, Promise<boolean>>();
  let queue: Pending[] = [];
  let generation = 0;

  /** One answer per question: a decision, or that question's own error (AuthZEN per-item errors). */
  async function send(batch: readonly Pending[], started: number): Promise<Array<boolean | WardenError>> {
    const token = await options.getToken();
    const doFetch = options.fetch ?? fetch;
    let response: Response;
    let body: unknown;
    try {
      response = await doFetch(endpoint, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          subject,
          evaluations: batch.map(({ action, resource }) => ({ action: { name: action }, resource })),
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      if (!response.ok) throw errorForStatus(response.status, await response.text());
      body = await response.json();
    } catch (error) {
      if (error instanceof WardenError) throw error;
      throw new WardenUnavailableError(`authz could not be reached: ${String(error)}`, undefined, error);
    }
    if (!isEvaluations(body, batch.length)) throw new WardenUnavailableError('authz sent a response that is not an AuthZEN evaluations answer', response.status);
    return body.evaluations.map((item, i) => {
      // An item the service could not decide or would not answer (AuthZEN 1.0 §7.2: that item's
      // error, e.g. 403 for a question about another subject) rejects that question alone, uncached.
      const itemError = item.context?.error as { status?: unknown; message?: unknown } | undefined;
      if (itemError !== undefined) {
        const status = typeof itemError.status === 'number' ? itemError.status : 500;
        return errorForStatus(status, typeof itemError.message === 'string' ? itemError.message : '');
      }
      // Fail closed: only an explicit true allows.
      const decision = item.decision === true;
      if (ttl > 0 && generation === started) cache.set(batch[i]!.key, { decision, until: Date.now() + ttl });
      return decision;
    });
  }

  function flush(): void {
    const all = queue;
    queue = [];
    const now = Date.now();
    for (const [key, entry] of cache) if (entry.until <= now) cache.delete(key);
    for (let i = 0; i < all.length; i += maxBatch) {
      const batch = all.slice(i, i + maxBatch);
      send(batch, generation).then(
        (decisions) => {
          batch.forEach((p, j) => {
            const answer = decisions[j]!;
            if (answer instanceof WardenError) p.reject(answer);
            else p.resolve(answer);
          });
        },
        (error: unknown) => {
          for (const p of batch) p.reject(error);
        },
      );
    }
  }

  function can(action: string, resource: Resource): Promise<boolean> {
    const target = toResource(resource);
    const key = `${action}\n${target.type}\n${target.id}`;
    const cached = cache.get(key);
    if (cached !== undefined && cached.until > Date.now()) return Promise.resolve(cached.decision);
    const shared = inFlight.get(key);
    if (shared !== undefined) return shared;
    const promise = new Promise<boolean>((resolve, reject) => {
      if (queue.length === 0) setTimeout(flush, 0);
      queue.push({ key, action, resource: target, resolve, reject });
    });
    inFlight.set(key, promise);
    const done = (): void => {
      if (inFlight.get(key) === promise) inFlight.delete(key);
    };
    promise.then(done, done);
    return promise;
  }

  return {
    can,
    canMany: (questions) => Promise.all(questions.map((q) => can(q.action, q.resource))),
    clear() {
      generation++;
      cache.clear();
      inFlight.clear();
    },
  };
}
