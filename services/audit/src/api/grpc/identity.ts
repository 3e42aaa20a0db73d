/**
 * Caller identity. In production authz authenticates every caller (AuthzIdentity: the same
 * API keys and tokens as authz, `authorization: Bearer <credential>` or `x-api-key`). With
 * AUDIT_AUTHZ_DISABLED (development only) a caller is identified by a key from
 * AUDIT_API_KEYS_FILE, or, with AUDIT_TRUST_SUBJECT_HEADER, by the `x-warden-subject` header
 * taken as is. No credentials: no caller (Append needs none — producers sign; reads refuse).
 * server.ts adds it to every call's context through withCaller (@warden/service-kit/grpc).
 */
import { createHash } from 'node:crypto';
import type { CallContext } from 'nice-grpc';
import type { CallerContext as KitCallerContext } from '@warden/service-kit/grpc';
import { UnauthenticatedError } from '@warden/errors';
import { parseSubject } from '@warden/names';
import type { Caller } from '../../domain/ports.js';

export type CallerContext = KitCallerContext<Caller | undefined>;

export type IdentityOptions =
  | {
      /** Production: authz says whose a credential is. */
      readonly kind: 'authz';
      readonly authenticate: (credential: string, signal: AbortSignal) => Promise<Caller>;
    }
  | {
      /** Development only (AUDIT_AUTHZ_DISABLED=true). */
      readonly kind: 'development';
      /** sha256(hex) of each API key → subject (AUDIT_API_KEYS_FILE). */
      readonly apiKeys: ReadonlyMap<string, string>;
      /** Accept `x-warden-subject` without proof (AUDIT_TRUST_SUBJECT_HEADER). */
      readonly trustSubjectHeader: boolean;
    };

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

function credentialOf(metadata: CallContext['metadata']): string | undefined {
  const authorization = metadata.get('authorization');
  if (typeof authorization === 'string' && authorization.length > 0) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match === null) throw new UnauthenticatedError('the authorization header must be "Bearer <API key or token>"');
    return match[1];
  }
  const apiKey = metadata.get('x-api-key');
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : undefined;
}

export async function identify(context: Pick<CallContext, 'metadata' | 'signal'>, options: IdentityOptions): Promise<Caller | undefined> {
  const { metadata } = context;
  const credential = credentialOf(metadata);
  const header = metadata.get('x-warden-subject');
  if (options.kind === 'authz') {
    if (typeof header === 'string' && header.length > 0) throw new UnauthenticatedError('x-warden-subject is not accepted: send "authorization: Bearer <API key or token>"');
    return credential === undefined ? undefined : options.authenticate(credential, context.signal);
  }
  if (credential !== undefined) {
    const subject = options.apiKeys.get(hashApiKey(credential));
    if (subject === undefined) throw new UnauthenticatedError('the API key is not known');
    return { subject };
  }
  if (typeof header === 'string' && header.length > 0) {
    if (!options.trustSubjectHeader) throw new UnauthenticatedError('x-warden-subject is accepted only in trust mode; send an API key');
    parseSubject(header, 'x-warden-subject');
    return { subject: header };
  }
  return undefined;
}
