/**
 * The one page-token format of the Warden APIs (authz lookups and listBindings, audit
 * queries): keyset pagination, so a token stays valid across writes.
 *
 * A token is base64url(JSON `{v: 1, a: <position after which the next page starts>, q:
 * <hash of the query>}`): opaque to callers, refused for another query (the hash), and
 * refused when its position is not one the caller's guard accepts. The position is
 * plain JSON the service chose (a name, a `{t, s}` cursor…); it is not secret.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '@warden/errors';

const VERSION = 1;

/** The query's fingerprint: its JSON form (arrays and plain values: the order is fixed), hashed. */
function queryHash(query: unknown): string {
  return createHash('sha256').update(JSON.stringify(query) ?? 'undefined').digest('base64url').slice(0, 16);
}

/** A token for the page after `position` of `query` (the same query value must decode it). */
export function encodePageToken(position: unknown, query: unknown): string {
  return Buffer.from(JSON.stringify({ v: VERSION, a: position, q: queryHash(query) }), 'utf8').toString('base64url');
}

/**
 * The position a token of `query` carries; undefined for no token (the first page).
 * Throws InvalidArgumentError(`field`) for anything this query did not return.
 */
export function decodePageToken<Position>(token: string | undefined, query: unknown, field: string, isPosition: (value: unknown) => value is Position): Position | undefined {
  if (token === undefined || token === '') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; a?: unknown; q?: unknown };
    if (parsed.v === VERSION && parsed.q === queryHash(query) && isPosition(parsed.a)) return parsed.a;
  } catch {
    // Not base64url JSON: refused below.
  }
  throw new InvalidArgumentError(field, 'is not a token this query returned');
}
