/**
 * Our test double of the authz service: a real nice-grpc server implementing
 * AuthzService.Check with a tiny policy (subject → action on a scope and
 * everything under it), reached over a real connection.
 */
import { createServer, ServerError, Status, type Server } from 'nice-grpc';
import { AuthzServiceDefinition, Decision, type AuthzServiceImplementation } from '@warden/proto/authz/v1';

export type Grant = { readonly subject: string; readonly action: string; readonly scope: string };

export async function startAuthzDouble(grants: readonly Grant[]): Promise<{ address: string; server: Server; checks: string[] }> {
  const checks: string[] = [];
  const check: AuthzServiceImplementation['check'] = async (request) => {
    checks.push(`${request.subject} ${request.action} ${request.resource}`);
    const allowed = grants.some(
      (g) => g.subject === request.subject && g.action === request.action && (request.resource === g.scope || request.resource.startsWith(`${g.scope}/`)),
    );
    return { decision: allowed ? Decision.DECISION_ALLOW : Decision.DECISION_DENY, revision: 1 };
  };
  // Every other method of the (growing) AuthzService answers UNIMPLEMENTED.
  const impl: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(AuthzServiceDefinition.methods)) {
    impl[name] = method.responseStream
      ? async function* () {
          yield* [];
          throw new ServerError(Status.UNIMPLEMENTED, 'not in the test double');
        }
      : async () => {
          throw new ServerError(Status.UNIMPLEMENTED, 'not in the test double');
        };
  }
  impl.check = check;
  const server = createServer();
  server.add(AuthzServiceDefinition, impl as unknown as AuthzServiceImplementation);
  const port = await server.listen('127.0.0.1:0');
  return { address: `127.0.0.1:${port}`, server, checks };
}
