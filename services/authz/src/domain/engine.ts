/**
 * The decision engine: pure, synchronous, no I/O.
 *
 * Order of evaluation (docs/model.md):
 *   1. deny bindings          – a matching deny wins over every allow
 *   2. ceiling                – the organization membership role caps everything else
 *   3. protected resource     – sensitive actions only through bindings of named roles
 *   4. allow bindings         – with expiry and CEL conditions
 *   5. approval requirement   – an allowed action may become REQUIRES_APPROVAL
 */
import { compileActions, type ActionMatcher } from './actions.js';
import {
  APPROVAL_BYPASS_ACTION,
  DEFAULT_APPROVAL_ACTIONS,
  DEFAULT_PROTECTED_ROLES,
  DEFAULT_SENSITIVE_ACTIONS,
  READ_ACTION_FOR_VALUES,
  READ_VALUE_ACTION,
} from './catalogue.js';
import { evaluateCondition, type ConditionVariables } from './conditions.js';
import type { Attributes, Binding, CompiledRole, Decision, ResourceAttributes } from './model.js';
import type { Action, ResourcePath } from './names.js';

/**
 * The slice of the grant graph a decision reads. Stores and caches implement it;
 * it must answer from one consistent revision.
 */
export interface GrantView {
  readonly revision: number;
  /** The subject and every group it belongs to, transitively (cycle-safe); the subject first. */
  subjectsOf(subject: string): readonly string[];
  /** The bindings naming `subject` whose scope is exactly `scope`. */
  bindingsAt(subject: string, scope: string): readonly Binding[];
  /** A role visible in the organization: a system role or one of its custom roles. */
  role(org: string, name: string): CompiledRole | undefined;
  /** Stored attributes of one resource path. */
  attributes(path: string): ResourceAttributes | undefined;
}

/** A check whose names are already validated. */
export interface ValidCheck {
  readonly subject: string;
  readonly action: Action;
  readonly resource: ResourcePath;
  readonly context?: Attributes | undefined;
  readonly resourceAttributes?: Attributes | undefined;
  readonly subjectAttributes?: Attributes | undefined;
}

const inlineMatchers = new WeakMap<readonly string[], ActionMatcher>();

function matcherOf(view: GrantView, org: string, binding: Binding): ActionMatcher | undefined {
  if (binding.role !== undefined) return view.role(org, binding.role)?.matcher;
  const actions = binding.actions ?? [];
  let matcher = inlineMatchers.get(actions);
  if (matcher === undefined) {
    matcher = compileActions(actions);
    inlineMatchers.set(actions, matcher);
  }
  return matcher;
}

function isExpired(binding: Binding, now: number): boolean {
  return binding.expiresAt !== undefined && binding.expiresAt.getTime() <= now;
}

/** The nearest resource on the chain (the resource first, the organization last) that sets `key`. */
function nearest(view: GrantView, chain: readonly string[], key: keyof ResourceAttributes): { path: string; attrs: ResourceAttributes } | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const path = chain[i]!;
    const attrs = view.attributes(path);
    if (attrs !== undefined && attrs[key] !== undefined) return { path, attrs };
  }
  return undefined;
}

function describeBinding(binding: Binding): string {
  const what = binding.role !== undefined ? `role ${binding.role}` : `actions [${(binding.actions ?? []).join(', ')}]`;
  return `${binding.effect} binding ${binding.id} (${what} for ${binding.subject} on ${binding.scope})`;
}

export function decide(view: GrantView, check: ValidCheck, now: number): Decision {
  const { resource, action } = check;
  const org = resource.org;
  const chain = resource.chain;
  const subjects = view.subjectsOf(check.subject);

  // Every binding of the subject and its groups on the scope chain, most specific scope first.
  const bindings: Binding[] = [];
  for (let i = chain.length - 1; i >= 0; i--) {
    const scope = chain[i]!;
    for (const subject of subjects) {
      const found = view.bindingsAt(subject, scope);
      for (const binding of found) bindings.push(binding);
    }
  }

  const showValues = action.action === READ_VALUE_ACTION && nearest(view, chain, 'show_values_to_readers')?.attrs.show_values_to_readers === true;

  const grants = (binding: Binding, wanted: string): boolean | undefined => {
    const matcher = matcherOf(view, org, binding);
    if (matcher === undefined) return undefined; // unknown role
    if (matcher.matches(wanted)) return true;
    return wanted === READ_VALUE_ACTION && showValues && matcher.matches(READ_ACTION_FOR_VALUES);
  };

  let vars: ConditionVariables | undefined;
  const conditionOf = (binding: Binding): 'true' | 'false' | 'error' => {
    if (binding.condition === undefined) return 'true';
    vars ??= conditionVariables(view, check);
    return evaluateCondition(binding.condition, vars);
  };

  // 1. Deny bindings. An unknown role or a failing condition on a deny counts as matching: fail closed.
  for (const binding of bindings) {
    if (binding.effect !== 'deny' || isExpired(binding, now)) continue;
    const matches = grants(binding, action.action);
    if (matches === false) continue;
    if (conditionOf(binding) === 'false') continue;
    return {
      decision: 'DENY',
      reason: { code: 'DENY_BINDING', message: `denied by ${describeBinding(binding)}`, binding },
    };
  }

  // 2. Ceiling: membership roles bound at the organization. If every one has a ceiling, their union caps the action.
  const orgScope = chain[0]!;
  let capped = false;
  let capping: string[] = [];
  for (const binding of bindings) {
    if (binding.effect !== 'allow' || binding.scope !== orgScope || binding.role === undefined) continue;
    const role = view.role(org, binding.role);
    if (role === undefined || !role.membership || isExpired(binding, now) || conditionOf(binding) !== 'true') continue;
    if (role.ceilingMatcher === undefined) {
      capped = false;
      capping = [];
      break;
    }
    if (role.ceilingMatcher.matches(action.action)) {
      capped = false;
      capping = [];
      break;
    }
    capped = true;
    capping.push(role.name);
  }
  if (capped) {
    const roles = [...new Set(capping)];
    return {
      decision: 'DENY',
      reason: {
        code: 'CEILING',
        message: `the organization membership role ${roles.join(', ')} can never be allowed ${action.action}`,
        membershipRole: roles.join(','),
      },
    };
  }

  // 3. Protected resource: sensitive actions only through bindings of the named roles.
  const protectedAt = nearest(view, chain, 'protected');
  let requiredRoles: readonly string[] | undefined;
  if (protectedAt !== undefined && protectedAt.attrs.protected === true) {
    const sensitive = protectedAt.attrs.sensitive_actions ?? DEFAULT_SENSITIVE_ACTIONS;
    if (sensitive.includes(action.action)) {
      requiredRoles = protectedAt.attrs.protected_roles ?? DEFAULT_PROTECTED_ROLES;
    }
  }

  // 4. Allow bindings.
  let allowedBy: Binding | undefined;
  let sawCandidate = false;
  let blockedByProtection: Binding | undefined;
  let conditionFalse: Binding | undefined;
  let expired: Binding | undefined;
  for (const binding of bindings) {
    if (binding.effect !== 'allow' || grants(binding, action.action) !== true) continue;
    sawCandidate = true;
    if (requiredRoles !== undefined && (binding.role === undefined || !requiredRoles.includes(binding.role))) {
      blockedByProtection ??= binding;
      continue;
    }
    if (isExpired(binding, now)) {
      expired ??= binding;
      continue;
    }
    if (conditionOf(binding) !== 'true') {
      conditionFalse ??= binding;
      continue;
    }
    allowedBy = binding;
    break;
  }

  if (allowedBy === undefined) {
    if (conditionFalse !== undefined) {
      return {
        decision: 'DENY',
        reason: {
          code: 'CONDITION_FALSE',
          message: `the condition ${JSON.stringify(conditionFalse.condition)} of ${describeBinding(conditionFalse)} is not satisfied`,
          binding: conditionFalse,
        },
      };
    }
    if (expired !== undefined) {
      return {
        decision: 'DENY',
        reason: {
          code: 'EXPIRED',
          message: `${describeBinding(expired)} expired at ${expired.expiresAt!.toISOString()}`,
          binding: expired,
        },
      };
    }
    if (blockedByProtection !== undefined && protectedAt !== undefined && requiredRoles !== undefined) {
      return {
        decision: 'DENY',
        reason: {
          code: 'PROTECTED_RESOURCE',
          message: `${action.action} in protected ${protectedAt.path} needs a binding of one of the roles ${requiredRoles.join(', ')}; ${describeBinding(blockedByProtection)} does not reach it`,
          binding: blockedByProtection,
          ruleResource: protectedAt.path,
          requiredRoles,
        },
      };
    }
    return {
      decision: 'DENY',
      reason: {
        code: 'NO_BINDING',
        message: sawCandidate
          ? `no usable binding allows ${action.action} on ${resource.path}`
          : `no binding of ${check.subject}${subjects.length > 1 ? ` or its groups (${subjects.slice(1).join(', ')})` : ''} allows ${action.action} on ${resource.path}`,
      },
    };
  }

  // 5. Approval requirement.
  const approvalAt = nearest(view, chain, 'require_approval');
  if (approvalAt !== undefined && approvalAt.attrs.require_approval === true) {
    const needing = approvalAt.attrs.approval_actions ?? DEFAULT_APPROVAL_ACTIONS;
    if (needing.includes(action.action) && !canBypassApproval(bindings, grants, conditionOf, now)) {
      return {
        decision: 'REQUIRES_APPROVAL',
        reason: {
          code: 'APPROVAL_REQUIRED',
          message: `${describeBinding(allowedBy)} allows ${action.action}, but ${approvalAt.path} requires approval for it`,
          binding: allowedBy,
          ruleResource: approvalAt.path,
        },
      };
    }
  }

  return {
    decision: 'ALLOW',
    reason: { code: 'ALLOWED', message: `allowed by ${describeBinding(allowedBy)}`, binding: allowedBy },
  };
}

function canBypassApproval(
  bindings: readonly Binding[],
  grants: (binding: Binding, wanted: string) => boolean | undefined,
  conditionOf: (binding: Binding) => 'true' | 'false' | 'error',
  now: number,
): boolean {
  for (const binding of bindings) {
    if (binding.effect === 'deny' && !isExpired(binding, now) && grants(binding, APPROVAL_BYPASS_ACTION) !== false && conditionOf(binding) !== 'false') {
      return false;
    }
  }
  for (const binding of bindings) {
    if (binding.effect === 'allow' && !isExpired(binding, now) && grants(binding, APPROVAL_BYPASS_ACTION) === true && conditionOf(binding) === 'true') {
      return true;
    }
  }
  return false;
}

function conditionVariables(view: GrantView, check: ValidCheck): ConditionVariables {
  const last = check.resource.segments[check.resource.segments.length - 1]!;
  const colon = check.subject.indexOf(':');
  return {
    request: check.context ?? {},
    resource: {
      path: check.resource.path,
      type: last.type,
      id: last.id,
      // Stored attributes win over caller-supplied ones.
      attributes: { ...check.resourceAttributes, ...view.attributes(check.resource.path) },
    },
    subject: {
      id: check.subject,
      type: check.subject.slice(0, colon),
      attributes: check.subjectAttributes ?? {},
    },
  };
}
