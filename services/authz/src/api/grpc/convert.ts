/** Protobuf ⇄ domain conversion for the authz gRPC API. The only place that sees generated types. */
import {
  Decision as PbDecision,
  Effect as PbEffect,
  ReasonCode as PbReasonCode,
  type BindingRef,
  type CheckRequest,
  type CheckResponse,
  type Consistency as PbConsistency,
  type PageRequest,
} from '@warden/proto/authz/v1';
import type { Page } from '../../usecases/lookups.js';
import { InvalidArgumentError } from '@warden/errors';
import type { Binding, CheckInput, CheckResult, Consistency, DecisionKind, ReasonCode } from '../../domain/model.js';

/** proto3 strings are never absent: an empty one is "not given". */
export const optional = (value: string): string | undefined => (value === '' ? undefined : value);

export function consistencyFromProto(value: PbConsistency | undefined, field = 'consistency'): Consistency | undefined {
  const requirement = value?.requirement;
  if (requirement === undefined) return undefined;
  switch (requirement.$case) {
    case 'minimizeLatency':
      return { kind: 'minimize_latency' };
    case 'fullyConsistent':
      return { kind: 'fully_consistent' };
    case 'atLeastRevision':
      if (!Number.isSafeInteger(requirement.value) || requirement.value < 0) {
        throw new InvalidArgumentError(`${field}.at_least_revision`, 'must be a non-negative revision');
      }
      return { kind: 'at_least_revision', revision: requirement.value };
  }
}

export function checkFromProto(request: CheckRequest): CheckInput {
  // A CheckRequest carries every CheckInput field under the same name (absent bags are
  // undefined); the validator reads only those, so the message is the input, uncopied.
  return request;
}

const DECISIONS: Record<DecisionKind, PbDecision> = {
  ALLOW: PbDecision.DECISION_ALLOW,
  DENY: PbDecision.DECISION_DENY,
  REQUIRES_APPROVAL: PbDecision.DECISION_REQUIRES_APPROVAL,
};

const REASONS: Record<ReasonCode, PbReasonCode> = {
  ALLOWED: PbReasonCode.REASON_CODE_ALLOWED,
  NO_BINDING: PbReasonCode.REASON_CODE_NO_BINDING,
  DENY_BINDING: PbReasonCode.REASON_CODE_DENY_BINDING,
  CEILING: PbReasonCode.REASON_CODE_CEILING,
  PROTECTED_RESOURCE: PbReasonCode.REASON_CODE_PROTECTED_RESOURCE,
  CONDITION_FALSE: PbReasonCode.REASON_CODE_CONDITION_FALSE,
  EXPIRED: PbReasonCode.REASON_CODE_EXPIRED,
  APPROVAL_REQUIRED: PbReasonCode.REASON_CODE_APPROVAL_REQUIRED,
  UNKNOWN_ACTION: PbReasonCode.REASON_CODE_UNKNOWN_ACTION,
  NOT_GRANTABLE: PbReasonCode.REASON_CODE_NOT_GRANTABLE,
};

export function decisionToProto(decision: DecisionKind): PbDecision {
  return DECISIONS[decision];
}

const EMPTY: readonly string[] = Object.freeze([]);

export function bindingToProto(binding: Binding): BindingRef {
  return {
    id: binding.id,
    subject: binding.subject,
    role: binding.role ?? '',
    // The binding's own array: encoding only reads it.
    actions: (binding.actions ?? EMPTY) as string[],
    scope: binding.scope,
    effect: binding.effect === 'allow' ? PbEffect.EFFECT_ALLOW : PbEffect.EFFECT_DENY,
    expiresAt: binding.expiresAt,
    condition: binding.condition ?? '',
  };
}

export function resultToProto(result: CheckResult): CheckResponse {
  const { reason } = result;
  return {
    decision: DECISIONS[result.decision],
    revision: result.revision,
    reason: {
      code: REASONS[reason.code],
      message: reason.message,
      binding: reason.binding === undefined ? undefined : bindingToProto(reason.binding),
      ruleResource: reason.ruleResource ?? '',
      membershipRole: reason.membershipRole ?? '',
      requiredRoles: (reason.requiredRoles ?? EMPTY) as string[],
    },
  };
}

export function pageFromProto(page: PageRequest | undefined): Page | undefined {
  if (page === undefined) return undefined;
  return { token: page.token === '' ? undefined : page.token, limit: page.limit === 0 ? undefined : page.limit };
}
