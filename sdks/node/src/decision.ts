/** Decisions as the SDK returns them: plain objects with the reason Warden gave. */
import {
  Decision as PbDecision,
  decisionToJSON,
  Effect,
  reasonCodeToJSON,
  type CheckResponse,
} from '@warden/proto/authz/v1';

export type DecisionKind = 'ALLOW' | 'DENY' | 'REQUIRES_APPROVAL';

export interface Reason {
  /** `ALLOWED`, `NO_BINDING`, `DENY_BINDING`, `CEILING`, `PROTECTED_RESOURCE`, `CONDITION_FALSE`, `EXPIRED`, `APPROVAL_REQUIRED`. */
  readonly code: string;
  readonly message: string;
  readonly binding?: {
    readonly id: string;
    readonly subject: string;
    readonly role?: string | undefined;
    readonly actions?: readonly string[] | undefined;
    readonly scope: string;
    readonly effect: 'allow' | 'deny';
  } | undefined;
  readonly ruleResource?: string | undefined;
  readonly requiredRoles?: readonly string[] | undefined;
  readonly membershipRole?: string | undefined;
}

export interface Decision {
  /** True only for ALLOW. */
  readonly allowed: boolean;
  readonly decision: DecisionKind;
  readonly reason: Reason;
  /** The revision of the grant graph the decision was made at. */
  readonly revision: number;
}

export function decisionFromProto(response: CheckResponse): Decision {
  const kind = decisionToJSON(response.decision).replace('DECISION_', '');
  if (response.decision === PbDecision.DECISION_UNSPECIFIED || !['ALLOW', 'DENY', 'REQUIRES_APPROVAL'].includes(kind)) {
    // An answer we cannot read is no permission.
    return { allowed: false, decision: 'DENY', reason: { code: 'UNREADABLE', message: 'the service sent a decision this SDK does not know' }, revision: response.revision };
  }
  const reason = response.reason;
  const binding = reason?.binding;
  return {
    allowed: response.decision === PbDecision.DECISION_ALLOW,
    decision: kind as DecisionKind,
    revision: response.revision,
    reason: {
      code: reasonCodeToJSON(reason?.code ?? 0).replace('REASON_CODE_', ''),
      message: reason?.message ?? '',
      binding:
        binding === undefined
          ? undefined
          : {
              id: binding.id,
              subject: binding.subject,
              role: binding.role === '' ? undefined : binding.role,
              actions: binding.actions.length === 0 ? undefined : binding.actions,
              scope: binding.scope,
              effect: binding.effect === Effect.EFFECT_DENY ? 'deny' : 'allow',
            },
      ruleResource: reason?.ruleResource === '' ? undefined : reason?.ruleResource,
      requiredRoles: reason?.requiredRoles.length ? reason.requiredRoles : undefined,
      membershipRole: reason?.membershipRole === '' ? undefined : reason?.membershipRole,
    },
  };
}
