/**
 * The binding token of a requestable denial (OpenID AuthZEN Access Request and Approval
 * Profile, Draft 1, "Requestable Denial Context"): a JWS (RFC 7515) in compact serialization,
 * HS256, signed with the service's denial-binding secret (stored once in Postgres, so every
 * replica verifies what any replica signed). Its claims bind the denied Subject, Action and
 * Resource (Warden's names) and the hint's expiry; the access request endpoint verifies the
 * signature, the claims against the submission, and the freshness.
 */
import { CompactSign, compactVerify } from 'jose';

export interface DenialClaims {
  /** The denied subject, `type:id`. */
  readonly sub: string;
  readonly act: string;
  readonly res: string;
  /** The hint's expiry, seconds since the epoch (= denial.expires_at). */
  readonly exp: number;
  readonly iat: number;
}

const HEADER = { alg: 'HS256', typ: 'JWT', kid: 'warden-denial-binding' } as const;

export async function signDenial(secret: Buffer, claims: DenialClaims): Promise<string> {
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader(HEADER).sign(secret);
}

/**
 * The claims of a token this service signed; undefined when it is malformed or its signature
 * does not verify. Freshness is the caller's to judge (an expired hint has its own answer).
 */
export async function verifyDenial(secret: Buffer, token: string): Promise<DenialClaims | undefined> {
  try {
    const { payload, protectedHeader } = await compactVerify(token, secret, { algorithms: ['HS256'] });
    if (protectedHeader.kid !== HEADER.kid) return undefined;
    const claims = JSON.parse(Buffer.from(payload).toString('utf8')) as Partial<DenialClaims>;
    if (typeof claims.sub !== 'string' || typeof claims.act !== 'string' || typeof claims.res !== 'string' || typeof claims.exp !== 'number' || typeof claims.iat !== 'number') return undefined;
    return claims as DenialClaims;
  } catch {
    return undefined;
  }
}
