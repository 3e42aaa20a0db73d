/**
 * The binding token of a requestable denial (OpenID AuthZEN Access Request and Approval
 * Profile, Draft 1, "Requestable Denial Context"): a JWS (RFC 7515) in compact serialization,
 * HS256, signed with the service's denial-binding secret (stored once in Postgres, so every
 * replica verifies what any replica signed). Its claims bind the denied Subject, Action and
 * Resource (Warden's names) and the hint's expiry; the access request endpoint verifies the
 * signature, the claims against the submission, and the freshness.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface DenialClaims {
  /** The denied subject, `type:id`. */
  readonly sub: string;
  readonly act: string;
  readonly res: string;
  /** The hint's expiry, seconds since the epoch (= denial.expires_at). */
  readonly exp: number;
  readonly iat: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'warden-denial-binding' })).toString('base64url');

function mac(secret: Buffer, input: string): Buffer {
  return createHmac('sha256', secret).update(input).digest();
}

export function signDenial(secret: Buffer, claims: DenialClaims): string {
  const body = `${HEADER}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  return `${body}.${mac(secret, body).toString('base64url')}`;
}

/** The claims of a token this service signed; undefined when it is malformed or its signature does not verify. */
export function verifyDenial(secret: Buffer, token: string): DenialClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
  const expected = mac(secret, `${parts[0]}.${parts[1]}`);
  const given = Buffer.from(parts[2]!, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Partial<DenialClaims>;
    if (typeof claims.sub !== 'string' || typeof claims.act !== 'string' || typeof claims.res !== 'string' || typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return undefined;
    return claims as DenialClaims;
  } catch {
    return undefined;
  }
}
