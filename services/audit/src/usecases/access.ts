/**
 * Who may read the log: every read is checked with the AccessPolicy port (authz
 * Check: `audit:read` / `audit:export` on the narrowest scope the request is confined
 * to), and key administration with `audit:manage_keys` (or `audit:read` to list) on
 * the configured scope. No caller is UNAUTHENTICATED; a no is PERMISSION_DENIED.
 */
import { FailedPreconditionError, PermissionDeniedError, UnauthenticatedError } from '@warden/errors';
import type { AccessPolicy, AuditAction, Caller } from '../domain/ports.js';

export type Access = {
  authorize(caller: Caller | undefined, action: AuditAction, scope: string, signal: AbortSignal): Promise<void>;
  /** FAILED_PRECONDITION when key administration is off (no scope configured). */
  authorizeKeyAdmin(caller: Caller | undefined, action: AuditAction, signal: AbortSignal): Promise<void>;
};

export function createAccess(policy: AccessPolicy, keyAdminScope: string | undefined): Access {
  const authorize: Access['authorize'] = async (caller, action, scope, signal) => {
    if (caller === undefined) throw new UnauthenticatedError('this call needs a caller: send an API key');
    if (!(await policy.allowed(caller, action, scope, { signal }))) throw new PermissionDeniedError(`${caller.subject} may not ${action} on ${scope}`);
  };
  return {
    authorize,
    async authorizeKeyAdmin(caller, action, signal) {
      if (keyAdminScope === undefined) throw new FailedPreconditionError('producer key administration is disabled (set AUDIT_KEY_ADMIN_SCOPE)');
      await authorize(caller, action, keyAdminScope, signal);
    },
  };
}
