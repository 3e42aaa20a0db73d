/** Who is calling: the authenticated principal of a gRPC or HTTP request. */

export type Caller =
  | {
      readonly kind: 'api_key';
      readonly subject: string;
      /** The key's organization: a key acts only on resources under org:<org>. */
      readonly org: string;
      readonly keyId: string;
      /**
       * Issued by the operator (the bootstrap key of a subject in AUTHZ_PLATFORM_ADMINS), not
       * minted through an organization's admin API: only such a key may act as a platform admin.
       */
      readonly platform: boolean;
    }
  | {
      readonly kind: 'jwt';
      readonly subject: string;
      readonly issuer: string;
      /**
       * `group:<name>` of each group the token's groups claim names (AUTHZ_JWT_GROUPS_CLAIM):
       * in checks about the token's own subject it is a member of the organization's groups of
       * those names, for that request only.
       */
      readonly groups?: readonly string[] | undefined;
      /** The organization the token names (AUTHZ_JWT_ORG_CLAIM): AuthZEN client names are mapped into it. */
      readonly org?: string | undefined;
    }
  | {
      /** A trusted local caller (sidecar mode, explicit opt-in): may check any subject. */
      readonly kind: 'trusted_local';
      readonly subject: 'service:local';
    };

/**
 * The caller of in-process use (a host embedding the use cases, the benchmark) and of every
 * trusted loopback call: may check and look up anything, never administer. One frozen object.
 */
export const TRUSTED_LOCAL: Caller = Object.freeze({ kind: 'trusted_local', subject: 'service:local' });

export function describeCaller(caller: Caller): string {
  switch (caller.kind) {
    case 'api_key':
      return `${caller.subject} (API key ${caller.keyId})`;
    case 'jwt':
      return `${caller.subject} (token from ${caller.issuer})`;
    case 'trusted_local':
      return 'a trusted local caller';
  }
}

/**
 * A platform administrator: a subject the operator listed (AUTHZ_PLATFORM_ADMINS), signed in
 * with a token, or with a key the operator issued. Never through a key an organization minted
 * or a group it controls: an organization cannot make anyone a platform administrator.
 */
export function isPlatformAdmin(caller: Caller, admins: ReadonlySet<string>): boolean {
  if (!admins.has(caller.subject)) return false;
  return caller.kind === 'jwt' || (caller.kind === 'api_key' && caller.platform);
}
