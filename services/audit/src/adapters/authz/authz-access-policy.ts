/**
 * Development only (AUDIT_AUTHZ_DISABLED=true): every authenticated caller may read
 * everything. In production the policy is AuthzIdentity (authz decides, asked as the
 * caller's credential).
 */
import type { AccessPolicy } from '../../domain/ports.js';

export const allowAuthenticatedPolicy: AccessPolicy = {
  async allowed() {
    return true;
  },
};
