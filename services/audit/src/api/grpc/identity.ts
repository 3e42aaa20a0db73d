/**
 * Caller identity (authentication will be unified with authz later). A caller is
 * identified by an API key (`authorization: Bearer <key>` or `x-api-key`) from the
 * configured key map; in the explicitly enabled trust mode (development, or behind a
 * gateway that authenticates), the `x-warden-subject` header is taken as is. No
 * credentials: no caller (Append needs none; reads refuse). server.ts adds it to every
 * call's context through withCaller (@warden/service-kit/grpc).
 */
import { createHash } from 'node:crypto';
import type { CallContext } from 'nice-grpc';
import type { CallerContext as KitCallerContext } from '@warden/service-kit/grpc';
import { UnauthenticatedError } from '@warden/errors';
import { parseSubject } from '@warden/names';
import type { Caller } from '../../domain/ports.js';

export type CallerContext = KitCallerContext<Caller | undefined>;

export type IdentityOptions = {
  /** sha256(hex) of each API key → subject. */
  readonly apiKeys: ReadonlyMap<string, string>;
  /** Accept `x-warden-subject` without proof. Development / trusted gateway only. */
  readonly trustSubjectHeader: boolean;
};

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function identify(metadata: CallContext['metadata'], options: IdentityOptions): Caller | undefined {
  const authorization = metadata.get('authorization');
  const bearer = typeof authorization === 'string' && /^Bearer\s+/i.test(authorization) ? authorization.replace(/^Bearer\s+/i, '') : undefined;
  const apiKey = bearer ?? metadata.get('x-api-key');
  if (typeof apiKey === 'string' && apiKey.length > 0) {
    const subject = options.apiKeys.get(hashApiKey(apiKey));
    if (subject === undefined) throw new UnauthenticatedError('the API key is not known');
    return { subject };
  }
  const header = metadata.get('x-warden-subject');
  if (typeof header === 'string' && header.length > 0) {
    if (!options.trustSubjectHeader) throw new UnauthenticatedError('x-warden-subject is accepted only in trust mode; send an API key');
    parseSubject(header, 'x-warden-subject');
    return { subject: header };
  }
  return undefined;
}
