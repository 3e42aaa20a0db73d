/** The transport floor: an AuthzService whose Check answers a constant ALLOW with no work. */
import { createServer, ServerError, Status } from 'nice-grpc';
import { AuthzServiceDefinition, Decision, type CheckResponse } from '@warden/proto/authz/v1';

const constant: CheckResponse = { decision: Decision.DECISION_ALLOW, revision: 1, reason: undefined };
const server = createServer();
server.add(AuthzServiceDefinition, {
  check: async () => constant,
  checkBatch: async (request) => ({ results: request.checks.map(() => constant), revision: 1 }),
  lookupResources: async () => {
    throw new ServerError(Status.UNIMPLEMENTED, 'null server');
  },
  lookupSubjects: async () => {
    throw new ServerError(Status.UNIMPLEMENTED, 'null server');
  },
  lookupActions: async () => {
    throw new ServerError(Status.UNIMPLEMENTED, 'null server');
  },
});
const port = await server.listen('127.0.0.1:0');
process.stdout.write(`${JSON.stringify({ address: `127.0.0.1:${port}` })}\n`);
process.on('SIGTERM', () => {
  server.forceShutdown();
  process.exit(0);
});
