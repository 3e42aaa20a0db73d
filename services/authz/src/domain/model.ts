/**
 * The grant model: roles, bindings, resource attributes and decisions.
 * Plain data; see engine.ts for the rules and docs/model.md for the prose.
 */
import type { ActionMatcher } from './actions.js';

export type Effect = 'allow' | 'deny';

export interface Role {
  readonly name: string;
  /** The organization that defined it; undefined for system roles. */
  readonly org?: string | undefined;
  readonly description?: string | undefined;
  /** Action patterns: `flags:enable`, `flags:*`, `*:read`, `*`. */
  readonly actions: readonly string[];
  /**
   * A membership role is an organization-level role (owner, admin, member, viewer).
   * Bound at the organization scope, it may cap the subject with `ceiling`.
   */
  readonly membership: boolean;
  /** Action patterns a subject with this membership can ever be allowed, whatever else it holds. */
  readonly ceiling?: readonly string[] | undefined;
}

/** A role with its patterns compiled for matching. */
export interface CompiledRole extends Role {
  readonly matcher: ActionMatcher;
  readonly ceilingMatcher?: ActionMatcher | undefined;
}

export interface Binding {
  readonly id: string;
  /** The subject it names: a user, a service or a group. */
  readonly subject: string;
  /** The role it grants (or denies); exactly one of role and actions is set. */
  readonly role?: string | undefined;
  /** Actions it grants (or denies) directly. */
  readonly actions?: readonly string[] | undefined;
  /** The resource path it applies to, and everything under it. */
  readonly scope: string;
  readonly effect: Effect;
  readonly expiresAt?: Date | undefined;
  /** A CEL expression over `request`, `resource` and `subject`. */
  readonly condition?: string | undefined;
  readonly grantedBy?: string | undefined;
  readonly reason?: string | undefined;
}

/** The attributes Warden's own rules read on a resource (an environment, usually). */
export interface ResourceAttributes {
  /** Sensitive actions here are allowed only through bindings of `protected_roles`. */
  readonly protected?: boolean;
  readonly sensitive_actions?: readonly string[];
  readonly protected_roles?: readonly string[];
  /** Grants of `variables:read` also grant `variables:read_value` here. */
  readonly show_values_to_readers?: boolean;
  /** An allowed action in `approval_actions` becomes REQUIRES_APPROVAL. */
  readonly require_approval?: boolean;
  readonly approval_actions?: readonly string[];
  /** At a resource below (not the organization): allowed to whoever holds an allow binding strictly below it. */
  readonly visible_from_below?: readonly string[];
  /** Distinct approvals a change request here needs (the most any resource on the chain asks; default 1). */
  readonly required_approvals?: number;
  /** Anything else: visible to conditions as `resource.attributes`. */
  readonly [key: string]: unknown;
}

export type DecisionKind = 'ALLOW' | 'DENY' | 'REQUIRES_APPROVAL';

export type ReasonCode =
  | 'ALLOWED'
  | 'UNKNOWN_ACTION'
  | 'NOT_GRANTABLE'
  | 'NO_BINDING'
  | 'DENY_BINDING'
  | 'CEILING'
  | 'PROTECTED_RESOURCE'
  | 'CONDITION_FALSE'
  | 'EXPIRED'
  | 'APPROVAL_REQUIRED';

export interface Reason {
  readonly code: ReasonCode;
  readonly message: string;
  readonly binding?: Binding | undefined;
  readonly ruleResource?: string | undefined;
  readonly membershipRole?: string | undefined;
  readonly requiredRoles?: readonly string[] | undefined;
}

export interface Decision {
  readonly decision: DecisionKind;
  readonly reason: Reason;
}

export type Attributes = Readonly<Record<string, unknown>>;

export interface CheckInput {
  readonly subject: string;
  readonly action: string;
  readonly resource: string;
  readonly context?: Attributes | undefined;
  readonly resourceAttributes?: Attributes | undefined;
  readonly subjectAttributes?: Attributes | undefined;
  /** AuthZEN `action.properties`: visible to conditions as `action.attributes`. */
  readonly actionAttributes?: Attributes | undefined;
}

export type Consistency =
  | { readonly kind: 'minimize_latency' }
  | { readonly kind: 'at_least_revision'; readonly revision: number }
  | { readonly kind: 'fully_consistent' };

export interface CheckResult extends Decision {
  readonly revision: number;
}
