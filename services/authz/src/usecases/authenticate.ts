/**
 * Authentication for every front door (gRPC and HTTP): `authorization: Bearer <credential>`
 * where the credential is a Warden API key (`wdn_…`) or a JWT verified against a JWKS.
 * Without credentials a call is refused, unless the operator opted in to trusting
 * loopback callers (sidecar mode). Failures never echo the credential.
 */
import { createHash } from 'node:crypto';
import { createLocalJWKSet, createRemoteJWKSet, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { LRUCache } from 'lru-cache';
import { UnauthenticatedError, UnavailableError } from '@warden/errors';
import { isSubjectType, parseSubject, SEGMENT_ID_PATTERN } from '@warden/names';
import type { VerifiedKey } from '../domain/api-key-format.js';
import { TRUSTED_LOCAL, type Caller } from '../domain/caller.js';
import type { ApiKeyStore } from '../ports.js';

export interface JwtOptions {
  /** A JWKS URL (fetched and cached by jose) or a key set given inline. */
  readonly jwks: URL | JSONWebKeySet;
  readonly issuer: string;
  readonly audience: string;
  /** The claim naming the user; its value becomes `user:<value>` unless it is already a subject. */
  readonly subjectClaim: string;
  /** The claim naming the subject's identity-provider groups (an array of names); undefined: not read. */
  readonly groupsClaim?: string | undefined;
  /** The claim naming the token's organization (where AuthZEN client names are mapped); undefined: not read. */
  readonly orgClaim?: string | undefined;
}

export interface AuthenticatorOptions {
  readonly keys: ApiKeyStore;
  readonly jwt?: JwtOptions | undefined;
  readonly trustLoopback: boolean;
  /** How long a verified (or refused) API key is remembered; a revocation takes at most this long. */
  readonly keyCacheMs?: number;
}

export interface Credentials {
  /** The `authorization` header or metadata value. */
  readonly authorization?: string | undefined;
  /** The peer address: `127.0.0.1`, `::1`, `ipv4:127.0.0.1:5000`, `unix:…`. */
  readonly peer?: string | undefined;
}

export interface Authenticator {
  authenticate(credentials: Credentials): Promise<Caller>;
}

const LOOPBACK = /^(?:ipv4:)?127\.\d+\.\d+\.\d+(?::\d+)?$|^(?:ipv6:)?\[?(?:::1|::ffff:127\.\d+\.\d+\.\d+)\]?(?::\d+)?$|^unix:/;

export function isLoopback(peer: string | undefined): boolean {
  return peer !== undefined && LOOPBACK.test(peer);
}

/** At most this many groups are taken from a token. */
export const MAX_TOKEN_GROUPS = 100;

/**
 * The `group:<name>` subjects a token's groups claim names: an array of names (a string is one
 * name); names that are not usable group ids are skipped, never an error (the token is the IdP's).
 */
function tokenGroups(claim: unknown): readonly string[] {
  const names = typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim : [];
  const groups = new Set<string>();
  for (const name of names) {
    if (typeof name !== 'string' || groups.size >= MAX_TOKEN_GROUPS) continue;
    try {
      if (parseSubject(`group:${name}`).id !== '*') groups.add(`group:${name}`);
    } catch {
      // not a group id: ignored
    }
  }
  return [...groups].sort();
}

export function createAuthenticator(options: AuthenticatorOptions): Authenticator {
  const cacheMs = options.keyCacheMs ?? 5_000;
  // lru-cache treats ttl 0 as "forever": with 0, nothing is remembered at all.
  const keyCache = cacheMs > 0 ? new LRUCache<string, { key: VerifiedKey | null }>({ max: 10_000, ttl: cacheMs }) : undefined;
  let getKey: JWTVerifyGetKey | undefined;
  if (options.jwt !== undefined) {
    getKey = options.jwt.jwks instanceof URL ? createRemoteJWKSet(options.jwt.jwks, { cacheMaxAge: 10 * 60_000 }) : createLocalJWKSet(options.jwt.jwks);
  }

  async function fromApiKey(token: string): Promise<Caller> {
    const digest = createHash('sha256').update(token).digest('base64');
    let cached = keyCache?.get(digest);
    if (cached === undefined) {
      let key: VerifiedKey | undefined;
      try {
        key = await options.keys.verify(token);
      } catch (error) {
        throw new UnavailableError('cannot verify the API key now (the key store is unreachable)', { cause: error });
      }
      cached = { key: key ?? null };
      keyCache?.set(digest, cached);
    }
    if (cached.key === null) throw new UnauthenticatedError('the API key is not valid (unknown, revoked or expired)');
    return { kind: 'api_key', subject: cached.key.subject, org: cached.key.org, keyId: cached.key.id, platform: cached.key.platform };
  }

  async function fromJwt(token: string): Promise<Caller> {
    const jwt = options.jwt;
    if (jwt === undefined || getKey === undefined) throw new UnauthenticatedError('the credential is not a Warden API key, and no token issuer is configured');
    let payload;
    try {
      ({ payload } = await jwtVerify(token, getKey, { issuer: jwt.issuer, audience: jwt.audience, clockTolerance: 30 }));
    } catch (error) {
      if (error instanceof joseErrors.JWKSTimeout) throw new UnavailableError('cannot fetch the token issuer keys now', { cause: error });
      const reason = error instanceof joseErrors.JWTExpired ? 'the token has expired'
        : error instanceof joseErrors.JWTClaimValidationFailed ? `the token's ${error.claim} claim is not accepted`
        : 'the token is not valid';
      throw new UnauthenticatedError(reason);
    }
    const claim = payload[jwt.subjectClaim];
    if (typeof claim !== 'string' || claim.length === 0) throw new UnauthenticatedError(`the token has no ${jwt.subjectClaim} claim`);
    const subject = isSubjectType(claim.slice(0, Math.max(0, claim.indexOf(':')))) ? claim : `user:${claim}`;
    try {
      if (parseSubject(subject, jwt.subjectClaim).id === '*') throw new Error('a wildcard is not a caller');
    } catch {
      throw new UnauthenticatedError(`the token's ${jwt.subjectClaim} claim is not a usable subject id`);
    }
    const org = jwt.orgClaim === undefined ? undefined : payload[jwt.orgClaim];
    return {
      kind: 'jwt',
      subject,
      issuer: jwt.issuer,
      groups: tokenGroups(jwt.groupsClaim === undefined ? undefined : payload[jwt.groupsClaim]),
      // An organization id, or nothing (a claim that is not one is ignored: client names then need Warden paths).
      org: typeof org === 'string' && SEGMENT_ID_PATTERN.test(org) ? org : undefined,
    };
  }

  return {
    async authenticate({ authorization, peer }) {
      if (authorization === undefined || authorization === '') {
        if (options.trustLoopback && isLoopback(peer)) return TRUSTED_LOCAL;
        throw new UnauthenticatedError('missing credentials: send "authorization: Bearer <API key or token>"');
      }
      const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (match === null) throw new UnauthenticatedError('the authorization header must be "Bearer <API key or token>"');
      const token = match[1]!;
      return token.startsWith('wdn_') ? fromApiKey(token) : fromJwt(token);
    },
  };
}
