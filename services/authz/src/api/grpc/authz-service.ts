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
      const result = await authorizer.check(context.caller, checkFromProto(request), { consistency: consistencyFromProto(request.consistency), signal: context.signal });
      return resultToProto(result);
    },
    async checkBatch(request, context) {
      for (const [index, check] of request.checks.entries()) {
        if (check.consistency?.requirement !== undefined) {
          throw new InvalidArgumentError(`checks[${index}].consistency`, 'must be unset; set the batch consistency instead');
        }
      }
      const { results, revision } = await authorizer.checkBatch(context.caller, request.checks.map(checkFromProto), {
        consistency: consistencyFromProto(request.consistency),
        signal: context.signal,
      });
      return { results: results.map(resultToProto), revision };
    },
    async lookupResources(request, context) {
      const page = await lookups.lookupResources(context.caller, { subject: request.subject, action: request.action, resourceType: request.resourceType, scope: request.scope, context: request.context, page: pageFromProto(request.page) }, { signal: context.signal });
      return { resources: page.results, nextPageToken: page.nextToken, revision: page.revision };
    },
    async lookupSubjects(request, context) {
      const page = await lookups.lookupSubjects(context.caller, { action: request.action, resource: request.resource, subjectType: request.subjectType === '' ? undefined : request.subjectType, context: request.context, page: pageFromProto(request.page) }, { signal: context.signal });
      return { subjects: page.results, nextPageToken: page.nextToken, revision: page.revision };
    },
    async lookupActions(request, context) {
      const page = await lookups.lookupActions(context.caller, { subject: request.subject, resource: request.resource, context: request.context, page: pageFromProto(request.page) }, { signal: context.signal });
      return { actions: page.results, nextPageToken: page.nextToken, revision: page.revision };
    },
  };
}
