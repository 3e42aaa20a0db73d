/**
 * The units of the cached grant graph and which of them a change touches.
 *
 *   s:<subject>  the subject's direct groups and all its bindings (every scope)
 *   r:<path>     the stored attributes of one resource path (or "none")
 *   o:<org>      the custom roles of an organization
 *
 * A unit does not depend on the resource a Check asks about, so one unit serves
 * every Check of that subject, resource or organization.
 */

export const subjectKey = (subject: string): string => `s:${subject}`;
export const resourceKey = (path: string): string => `r:${path}`;
export const orgKey = (org: string): string => `o:${org}`;

/** A changelog entry or ChangeRecord, as far as invalidation cares. */
export interface ChangeLike {
  readonly kind: string;
  readonly key: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

function field(value: unknown, name: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = (value as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/**
 * The cache units a change invalidates. Unknown kinds return undefined: the
 * caller must then drop everything (never keep a unit it cannot prove fresh).
 */
export function cacheKeysOf(change: ChangeLike): string[] | undefined {
  const [entity] = change.kind.split('.');
  switch (entity) {
    case 'binding': {
      const keys = new Set<string>();
      for (const side of [change.before, change.after]) {
        const subject = field(side, 'subject');
        if (subject !== undefined) keys.add(subjectKey(subject));
      }
      return keys.size > 0 ? [...keys] : undefined;
    }
    case 'resource':
      return [resourceKey(change.key)];
    case 'role': {
      const slash = change.key.indexOf('/');
      return slash > 0 ? [orgKey(change.key.slice(0, slash))] : undefined;
    }
    case 'api_key':
      // API keys authenticate callers; they are not part of the grant graph.
      return [];
    case 'group_member': {
      const arrow = change.key.indexOf('<-');
      return arrow > 0 ? [subjectKey(change.key.slice(arrow + 2))] : undefined;
    }
    default:
      return undefined;
  }
}

/** Channel names: Postgres NOTIFY (per database) and Redis pub/sub (per key prefix). */
export const PG_CHANNEL = 'warden_grants';
export const redisChannel = (prefix: string): string => `${prefix}invalidate`;

/**
 * The invalidation message: the committed revision and the units it touched, or
 * `k: null` when they did not fit (then listeners read the changelog).
 */
export interface InvalidationMessage {
  readonly r: number;
  readonly k: readonly string[] | null;
}

/** NOTIFY payloads must stay under 8000 bytes. */
const MAX_PAYLOAD = 7000;

export function invalidationPayload(revision: number, changes: readonly ChangeLike[]): string {
  const keys = new Set<string>();
  let complete = true;
  for (const change of changes) {
    const touched = cacheKeysOf(change);
    if (touched === undefined) {
      complete = false;
      break;
    }
    for (const key of touched) keys.add(key);
  }
  const payload = JSON.stringify({ r: revision, k: complete ? [...keys] : null } satisfies InvalidationMessage);
  return payload.length <= MAX_PAYLOAD ? payload : JSON.stringify({ r: revision, k: null } satisfies InvalidationMessage);
}

export function parseInvalidation(payload: string): InvalidationMessage | undefined {
  try {
    const value = JSON.parse(payload) as { r?: unknown; k?: unknown };
    if (typeof value.r !== 'number' || !Number.isSafeInteger(value.r)) return undefined;
    if (value.k !== null && !(Array.isArray(value.k) && value.k.every((k) => typeof k === 'string'))) return undefined;
    return { r: value.r, k: value.k as string[] | null };
  } catch {
    return undefined;
  }
}
