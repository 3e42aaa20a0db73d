/**
 * Our test double of authz's IdentityService: a real nice-grpc server with a tiny policy
 * (subject → action on a scope and everything under it) and a key table (credential →
 * subject), reached over a real connection. Like authz, it authenticates the audit service
 * itself: a call without `serviceCredential` is UNAUTHENTICATED. The real authz is exercised
 * by identity-authz.int.test.ts.
 */
import { createServer, ServerError, Status, type Server } from 'nice-grpc';
import { Decision } from '@warden/proto/authz/v1';
import { IdentityServiceDefinition, type IdentityServiceImplementation } from '@warden/proto/authz/v1/identity';

export type Grant = { readonly subject: string; readonly action: string; readonly scope: string };
export type DoubleKey = { readonly subject: string; readonly key: string };

export const AUDIT_SERVICE_CREDENTIAL = 'audit-service-credential';

export async function startAuthzDouble(grants: readonly Grant[], keys: readonly DoubleKey[] = []): Promise<{ address: string; server: Server; checks: string[] }> {
  const checks: string[] = [];
  const subjectOf = (credential: string): string | undefined => keys.find((k) => k.key === credential)?.subject;
  const impl: IdentityServiceImplementation = {
    async authenticate(request, context) {
      if (context.metadata.get('authorization') !== `Bearer ${AUDIT_SERVICE_CREDENTIAL}`) throw new ServerError(Status.UNAUTHENTICATED, 'missing credentials');
      const subject = subjectOf(request.credential);
      if (subject === undefined) return { cacheTtlMs: 5000, refusal: 'the API key is not valid (unknown, revoked or expired)' };
      return { caller: { subject, kind: 'api_key', org: '', keyId: 'k', platformAdmin: false }, cacheTtlMs: 5000, refusal: '' };
    },
    async checkCredential(request, context) {
      if (context.metadata.get('authorization') !== `Bearer ${AUDIT_SERVICE_CREDENTIAL}`) throw new ServerError(Status.UNAUTHENTICATED, 'missing credentials');
      const subject = subjectOf(request.credential);
      checks.push(`${subject} ${request.action} ${request.resource}`);
      const allowed = subject !== undefined && grants.some((g) => g.subject === subject && g.action === request.action && (request.resource === g.scope || request.resource.startsWith(`${g.scope}/`)));
      return { decision: allowed ? Decision.DECISION_ALLOW : Decision.DECISION_DENY, revision: 1 };
    },
  };
  const server = createServer();
  server.add(IdentityServiceDefinition, impl);
  const port = await server.listen('127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, server, checks };
}
