/**
 * Warden's public HTTP API as the console calls it: Connect-style JSON
 * (`POST /warden.authz.v1.<Service>/<Method>`) with the signed-in user's credential as a
 * bearer token. The console never decides anything itself: every list shows what the API
 * returned for this credential, every write is the API's call, judged by Warden.
 */

export interface Session {
  /** An API key (development) or an OIDC access token from the configured issuer. */
  readonly credential: string;
  readonly subject: string;
  readonly org: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const STORAGE_KEY = 'warden.console.session';
/** Every call is bounded: a hung request is an error the page shows, not a spinner forever. */
const TIMEOUT_MS = 15_000;

/** The session lives in sessionStorage: gone when the tab closes, never sent anywhere but the API. */
export function loadSession(): Session | undefined {
  const raw = sessionStorage.getItem(STORAGE_KEY);
  if (raw === null) return undefined;
  try {
    const parsed = JSON.parse(raw) as Partial<Session>;
    if (typeof parsed.credential === 'string' && typeof parsed.subject === 'string' && typeof parsed.org === 'string') {
      return { credential: parsed.credential, subject: parsed.subject, org: parsed.org };
    }
  } catch {
    // fall through: a damaged session is no session
  }
  sessionStorage.removeItem(STORAGE_KEY);
  return undefined;
}

export function saveSession(session: Session): void {
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
}

export function clearSession(): void {
  sessionStorage.removeItem(STORAGE_KEY);
}

export type Json = Record<string, unknown>;

/** One Connect call: the JSON response, or ApiError with Warden's code and message. */
export async function call<T = Json>(credential: string, service: string, method: string, body: Json): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(`/warden.authz.v1.${service}/${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: controller.signal,
      credentials: 'omit',
    });
  } catch (error) {
    throw new ApiError(0, 'unavailable', controller.signal.aborted ? `${method}: no answer within ${TIMEOUT_MS / 1000} s` : `${method}: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  if (!response.ok) {
    let code = String(response.status);
    let message = text;
    try {
      const parsed = JSON.parse(text) as { code?: unknown; message?: unknown };
      if (typeof parsed.code === 'string') code = parsed.code;
      if (typeof parsed.message === 'string') message = parsed.message;
    } catch {
      // a plain-text error body
    }
    throw new ApiError(response.status, code, message);
  }
  return (text === '' ? {} : JSON.parse(text)) as T;
}

/** A client bound to a session. */
export interface Api {
  readonly session: Session;
  call<T = Json>(service: 'AuthzService' | 'AdminService' | 'DirectoryService' | 'ApprovalsService' | 'AuditStatusService', method: string, body: Json): Promise<T>;
  /** Whether the signed-in user may do each action on each resource (CheckBatch about itself). */
  can(questions: ReadonlyArray<{ action: string; resource: string }>): Promise<boolean[]>;
}

export function apiFor(session: Session): Api {
  return {
    session,
    call: (service, method, body) => call(session.credential, service, method, body),
    async can(questions) {
      if (questions.length === 0) return [];
      const answers: boolean[] = [];
      for (let i = 0; i < questions.length; i += 1000) {
        const checks = questions.slice(i, i + 1000).map((q) => ({ subject: session.subject, action: q.action, resource: q.resource }));
        const result = await call<{ results?: Array<{ decision?: string }> }>(session.credential, 'AuthzService', 'CheckBatch', { checks });
        for (const r of result.results ?? []) answers.push(r.decision === 'DECISION_ALLOW');
      }
      return answers;
    },
  };
}
