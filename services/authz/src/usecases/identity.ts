/**
 * Identity for the other Warden services (the audit service): one set of API keys and tokens,
 * one revocation. A service listed by the operator (AUTHZ_IDENTITY_CALLERS) hands over a
 * credential its own caller presented; authz says whose it is (`authenticate`) and decides a
 * check as that holder asking about itself (`checkCredential`), so an organization's key acts
 * only within its organization there too.
 *
 * Invariants:
 *  - the asking service is itself authenticated (never a trusted loopback peer) and must be a
 *    listed subject holding an operator-issued key or a token: a key an organization minted
 *    for a subject of the same name is refused (an organization cannot make an identity caller);
 *  - an invalid credential handed over is an answer (a refusal; a DENY for a check), never
 *    UNAUTHENTICATED, which is kept for the asker itself: a revoked key of the audit service
 *    is not mistaken for every caller's;
 *  - a check about a resource the credential may not act on is a DENY, never an error.
 */
import { InvalidArgumentError, PermissionDeniedError, UnauthenticatedError } from '@warden/errors';
import { isPlatformAdmin, type Caller } from '../domain/caller.js';
import type { CheckResult } from '../domain/model.js';
import type { Authenticator } from './authenticate.js';
import type { Authorizer } from './check.js';
import { NO_OPTIONS, type CallOptions } from './call.js';

export type AuthenticatedCaller = {
  readonly subject: string;
  readonly kind: 'api_key' | 'jwt';
  readonly org: string | undefined;
  readonly keyId: string | undefined;
  readonly platformAdmin: boolean;
};

/** Whose a credential is, or why it is not valid (an answer: the asker itself is authenticated). */
export type Authentication = { readonly caller: AuthenticatedCaller } | { readonly refusal: string };

export interface Identity {
  authenticate(asker: Caller, credential: string): Promise<Authentication>;
  checkCredential(asker: Caller, input: { credential: string; action: string; resource: string }, options?: CallOptions): Promise<CheckResult>;
  /** How long the asking service may remember an answer (ms): authz's own key cache time. */
  readonly cacheTtlMs: number;
}

export type IdentityOptions = {
  readonly authenticator: Authenticator;
  readonly authorizer: Authorizer;
  /** AUTHZ_IDENTITY_CALLERS: the subjects that may ask. */
  readonly callers: ReadonlySet<string>;
  readonly platformAdmins: ReadonlySet<string>;
  readonly cacheTtlMs: number;
};

/** Whether `asker` may use the identity service (see the invariants). */
export function mayAskIdentity(asker: Caller, callers: ReadonlySet<string>): boolean {
  if (!callers.has(asker.subject)) return false;
  return asker.kind === 'jwt' || (asker.kind === 'api_key' && asker.platform);
}

export function createIdentity(options: IdentityOptions): Identity {
  const { authenticator, authorizer, callers, platformAdmins } = options;

  function guard(asker: Caller): void {
    if (!mayAskIdentity(asker, callers)) {
      throw new PermissionDeniedError(`${asker.subject} may not use the identity service (it must be listed in AUTHZ_IDENTITY_CALLERS and hold an operator-issued key or a token)`);
    }
  }

  async function holder(credential: string): Promise<Caller> {
    if (credential === '') throw new InvalidArgumentError('credential', 'is required');
    if (/\s/.test(credential)) throw new InvalidArgumentError('credential', 'must be the bare credential (no "Bearer ", no spaces)');
    return authenticator.authenticate({ authorization: `Bearer ${credential}` });
  }

  return {
    cacheTtlMs: options.cacheTtlMs,
    async authenticate(asker, credential) {
      guard(asker);
      let caller: Caller;
      try {
        caller = await holder(credential);
      } catch (error) {
        if (error instanceof UnauthenticatedError) return { refusal: error.message };
        throw error;
      }
      if (caller.kind === 'trusted_local') throw new Error('a credential authenticated as a trusted local caller');
      return {
        caller: {
          subject: caller.subject,
          kind: caller.kind,
          org: caller.kind === 'api_key' ? caller.org : undefined,
          keyId: caller.kind === 'api_key' ? caller.keyId : undefined,
          platformAdmin: isPlatformAdmin(caller, platformAdmins),
        },
      };
    },
    async checkCredential(asker, input, callOptions = NO_OPTIONS) {
      guard(asker);
      let caller: Caller;
      try {
        caller = await holder(input.credential);
      } catch (error) {
        if (error instanceof UnauthenticatedError) return { decision: 'DENY', reason: { code: 'NO_BINDING', message: error.message }, revision: 0 };
        throw error;
      }
      try {
        return await authorizer.check(caller, { subject: caller.subject, action: input.action, resource: input.resource }, callOptions);
      } catch (error) {
        // The holder may not act there at all (an organization's key outside its organization).
        if (error instanceof PermissionDeniedError) return { decision: 'DENY', reason: { code: 'NO_BINDING', message: error.message }, revision: 0 };
        throw error;
      }
    },
  };
}
