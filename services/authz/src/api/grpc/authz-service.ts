/** AuthzService over gRPC: transport only; the Authorizer decides. */
import type { AuthzServiceImplementation } from '@warden/proto/authz/v1';
import type { Authorizer } from '../../usecases/check.js';
import { InvalidArgumentError } from '@warden/errors';
import type { Lookups } from '../../usecases/lookups.js';
import type { CallerContext } from './auth.js';
import { checkFromProto, consistencyFromProto, pageFromProto, resultToProto } from './convert.js';

export function createAuthzServiceImpl(authorizer: Authorizer, lookups: Lookups): AuthzServiceImplementation<CallerContext> {
  return {
    async check(request, context) {
      const result = await authorizer.check(checkFromProto(request), consistencyFromProto(request.consistency), context.signal, context.caller);
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
        context.caller,
      );
      return { results: results.map(resultToProto), revision };
    },
    async lookupResources(request, context) {
      const page = await lookups.lookupResources(
        { subject: request.subject, action: request.action, resourceType: request.resourceType, scope: request.scope, context: request.context, page: pageFromProto(request.page) },
        context.caller,
        context.signal,
      );
      return { resources: page.results, nextPageToken: page.nextToken, revision: page.revision };
    },
    async lookupSubjects(request, context) {
      const page = await lookups.lookupSubjects(
        { action: request.action, resource: request.resource, subjectType: request.subjectType === '' ? undefined : request.subjectType, context: request.context, page: pageFromProto(request.page) },
        context.caller,
        context.signal,
      );
      return { subjects: page.results, nextPageToken: page.nextToken, revision: page.revision };
    },
    async lookupActions(request, context) {
      const page = await lookups.lookupActions(
        { subject: request.subject, resource: request.resource, context: request.context, page: pageFromProto(request.page) },
        context.caller,
        context.signal,
      );
      return { actions: page.results, nextPageToken: page.nextToken, revision: page.revision };
    },
  };
}
