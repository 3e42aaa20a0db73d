/** AuthzService over gRPC: transport only; the Authorizer decides. */
import type { AuthzServiceImplementation } from '@warden/proto/authz/v1';
import type { Authorizer } from '../../authorizer.js';
import { InvalidArgumentError } from '../../domain/errors.js';
import { checkFromProto, consistencyFromProto, resultToProto } from './convert.js';

export function createAuthzServiceImpl(authorizer: Authorizer): AuthzServiceImplementation {
  return {
    async check(request, context) {
      const result = await authorizer.check(checkFromProto(request), consistencyFromProto(request.consistency), context.signal);
      return resultToProto(result);
    },
    async checkBatch(request, context) {
      for (const [index, check] of request.checks.entries()) {
        if (check.consistency?.requirement !== undefined) {
          throw new InvalidArgumentError(`checks[${index}].consistency`, 'must be unset; set the batch consistency instead');
        }
      }
      const { results, revision } = await authorizer.checkBatch(
        request.checks.map(checkFromProto),
        consistencyFromProto(request.consistency),
        context.signal,
      );
      return { results: results.map(resultToProto), revision };
    },
  };
}
