/** IdentityService over gRPC (identity.proto): transport only; the Identity use case decides. */
import type { IdentityServiceImplementation } from '@warden/proto/authz/v1/identity';
import type { Identity } from '../../usecases/identity.js';
import type { CallerContext } from './auth.js';
import { resultToProto } from './convert.js';

export function createIdentityServiceImpl(identity: Identity): IdentityServiceImplementation<CallerContext> {
  return {
    async authenticate(request, context) {
      const answer = await identity.authenticate(context.caller, request.credential);
      if ('refusal' in answer) return { cacheTtlMs: identity.cacheTtlMs, refusal: answer.refusal };
      const { caller } = answer;
      return {
        caller: { subject: caller.subject, kind: caller.kind, org: caller.org ?? '', keyId: caller.keyId ?? '', platformAdmin: caller.platformAdmin },
        cacheTtlMs: identity.cacheTtlMs,
        refusal: '',
      };
    },
    async checkCredential(request, context) {
      const result = await identity.checkCredential(context.caller, { credential: request.credential, action: request.action, resource: request.resource }, { signal: context.signal });
      return resultToProto(result);
    },
  };
}
