/**
 * The decision engine: pure, synchronous, no I/O.
 *
 * Order of evaluation (docs/model.md):
 *   0. the catalogue          – an action the organization's catalogue does not know is DENY
 *                               (UNKNOWN_ACTION); one it marks never grantable is DENY for everyone
 *   1. deny bindings          – a matching deny wins over every allow
 *   2. ceiling                – the organization membership role caps everything else
 *   3. protected resource     – sensitive actions only through bindings of named roles
 *   4. allow bindings         – with expiry and CEL conditions; where no binding on the chain
 *                               allows it, `visible_from_below` lets one strictly below the
 *                               resource allow the actions it lists (settings.ts)
 *   5. approval requirement   – an allowed action may become REQUIRES_APPROVAL
 *
 * Resource settings combine down the scope chain and only ever tighten (settings.ts): a
 * resource below a protected or approval-requiring scope cannot switch the rule off for
 * itself, and show_values_to_readers holds only where nothing above says false.
 */
import { compileActions, type ActionMatcher } from './actions.js';
import { APPROVAL_BYPASS_ACTION, NEVER_GRANTABLE, READ_ACTION_FOR_VALUES, READ_VALUE_ACTION, type Catalogue } from './catalogue.js';
import { approvalRule, protectionRule, showsValues, visibleFromBelow } from './settings.js';
import { evaluateCondition, type ConditionVariables } from './conditions.js';
import type { Attributes, Binding, CompiledRole, Decision, ResourceAttributes } from './model.js';
import type { Action, ResourcePath } from '@warden/names';

/**
 * The slice of the grant graph a decision reads. Stores and caches implement it;
 * it must answer from one consistent revision.
 */
export interface GrantView {
  readonly revision: number;
  /**
   * The subject and every group of the organization it belongs to, transitively (cycle-safe);
   * the subject first. Groups belong to one organization: another's groups never count.
   */
  subjectsOf(subject: string, org: string): readonly string[];
  /** The bindings naming `subject` whose scope is exactly `scope`. */
  bindingsAt(subject: string, scope: string): readonly Binding[];
  /**
   * The bindings naming `subject` whose scope is strictly below `path` (read only where a
   * `visible_from_below` setting asks; a view must hold them for the paths it was built for).
   */
  bindingsBelow(subject: string, path: string): readonly Binding[];
  /** A role visible in the organization: its own definition of the name, else the system role. */
  role(org: string, name: string): CompiledRole | undefined;
  /** The organization's action catalogue (built in, and what it declared). */
  catalogue(org: string): Catalogue;
  /** Stored attributes of one resource path. */
  attributes(path: string): ResourceAttributes | undefined;
  /** The subject's stored attributes in the organization's directory (for conditions). */
  directory(org: string, subject: string): Attributes | undefined;
}

/** A check whose names are already validated. */
export interface ValidCheck {
  readonly subject: string;
  readonly action: Action;
  readonly resource: ResourcePath;
  readonly context?: Attributes | undefined;
  readonly resourceAttributes?: Attributes | undefined;
  readonly subjectAttributes?: Attributes | undefined;
  readonly actionAttributes?: Attributes | undefined;
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

function describeBinding(binding: Binding): string {
  const what = binding.role !== undefined ? `role ${binding.role}` : `actions [${(binding.actions ?? []).join(', ')}]`;
  return `${binding.effect} binding ${binding.id} (${what} for ${binding.subject} on ${binding.scope})`;
}

/**
 * What one decision has resolved so far. The rules below take it instead of closing over
 * locals, so a decision allocates this and its bindings list, not a closure per rule.
 */
interface Decider {
  readonly view: GrantView;
  readonly check: ValidCheck;
  readonly org: string;
  readonly showValues: boolean;
  vars: ConditionVariables | undefined;
}

/** Whether the binding grants `wanted`: undefined for an unknown role. */
function grants(d: Decider, binding: Binding, wanted: string): boolean | undefined {
  const matcher = matcherOf(d.view, d.org, binding);
  if (matcher === undefined) return undefined;
  if (matcher.matches(wanted)) return true;
  return wanted === READ_VALUE_ACTION && d.showValues && matcher.matches(READ_ACTION_FOR_VALUES);
}

function conditionOf(d: Decider, binding: Binding): 'true' | 'false' | 'error' {
  if (binding.condition === undefined) return 'true';
  d.vars ??= conditionVariables(d.view, d.check);
  return evaluateCondition(binding.condition, d.vars);
}

export function decide(view: GrantView, check: ValidCheck, now: number): Decision {
  const { resource, action } = check;
  const org = resource.org;
  const chain = resource.chain;
  const catalogue = view.catalogue(org);
  if (!catalogue.has(action.action)) {
    return { decision: 'DENY', reason: { code: 'UNKNOWN_ACTION', message: `${action.action} is not in the action catalogue of org:${org}` } };
  }
  if (NEVER_GRANTABLE.has(action.action)) {
    return { decision: 'DENY', reason: { code: 'NOT_GRANTABLE', message: `${action.action} is never allowed to anyone, whatever is granted` } };
  }
  const subjects = view.subjectsOf(check.subject, org);
  const attributesOf = (path: string) => view.attributes(path);

  // Every binding of the subject and its groups on the scope chain, most specific scope first.
  const bindings: Binding[] = [];
  for (let i = chain.length - 1; i >= 0; i--) {
    const scope = chain[i]!;
    for (const subject of subjects) {
      const found = view.bindingsAt(subject, scope);
      for (const binding of found) bindings.push(binding);
    }
  }

  const showValues = action.action === READ_VALUE_ACTION && showsValues(chain, attributesOf);
  const d: Decider = { view, check, org, showValues, vars: undefined };

  // 1. Deny bindings. An unknown role or a failing condition on a deny counts as matching: fail closed.
  for (const binding of bindings) {
    if (binding.effect !== 'deny' || isExpired(binding, now)) continue;
    const matches = grants(d, binding, action.action);
    if (matches === false) continue;
    if (conditionOf(d, binding) === 'false') continue;
    return {
      decision: 'DENY',
      reason: { code: 'DENY_BINDING', message: `denied by ${describeBinding(binding)}`, binding },
    };
  }

  // 2. Ceiling: membership roles bound at the organization. Any one with a ceiling caps the
  //    action, whatever other memberships say ("the Viewer role always overrides access levels").
  const orgScope = chain[0]!;
  let capping: string[] | undefined;
  for (const binding of bindings) {
    if (binding.effect !== 'allow' || binding.scope !== orgScope || binding.role === undefined) continue;
    const role = view.role(org, binding.role);
    if (role === undefined || !role.membership || role.ceilingMatcher === undefined || isExpired(binding, now)) continue;
    // Where values show to readers, reading a value is a read for the ceiling as for grants.
    if (role.ceilingMatcher.matches(action.action) || (showValues && role.ceilingMatcher.matches(READ_ACTION_FOR_VALUES))) continue;
    if (conditionOf(d, binding) === 'false') continue;
    (capping ??= []).push(role.name);
  }
  if (capping !== undefined) {
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
  const protection = protectionRule(chain, attributesOf, action.action);
  const requiredRoles = protection?.roles;

  // 4. Allow bindings.
  let allowedBy: Binding | undefined;
  let sawCandidate = false;
  let blockedByProtection: Binding | undefined;
  let conditionFalse: Binding | undefined;
  let expired: Binding | undefined;
  for (const binding of bindings) {
    if (binding.effect !== 'allow' || grants(d, binding, action.action) !== true) continue;
    sawCandidate = true;
    if (requiredRoles !== undefined && (binding.role === undefined || !requiredRoles.includes(binding.role))) {
      blockedByProtection ??= binding;
      continue;
    }
    if (isExpired(binding, now)) {
      expired ??= binding;
      continue;
    }
    if (conditionOf(d, binding) !== 'true') {
      conditionFalse ??= binding;
      continue;
    }
    allowedBy = binding;
    break;
  }
  let visibleVia: string | undefined;
  if (allowedBy === undefined) {
    visibleVia = visibleFromBelow(chain, attributesOf, action.action);
    if (visibleVia !== undefined) allowedBy = allowBelow(d, subjects, requiredRoles, now);
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
    if (blockedByProtection !== undefined && protection !== undefined) {
      const { path: protectedPath, roles: requiredRoles } = protection;
      return {
        decision: 'DENY',
        reason: {
          code: 'PROTECTED_RESOURCE',
          message: `${action.action} in protected ${protectedPath} needs a binding of one of the roles ${requiredRoles.length > 0 ? requiredRoles.join(', ') : '(none: the protecting scopes name no role in common)'}; ${describeBinding(blockedByProtection)} does not reach it`,
          binding: blockedByProtection,
          ruleResource: protectedPath,
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
          : noBindingMessage(check.subject, subjects, action.action, resource.path),
      },
    };
  }

  // 5. Approval requirement.
  const approvalPath = approvalRule(chain, attributesOf, action.action);
  if (approvalPath !== undefined && !canBypassApproval(d, bindings, now)) {
    return {
      decision: 'REQUIRES_APPROVAL',
      reason: {
        code: 'APPROVAL_REQUIRED',
        message: `${describeBinding(allowedBy)} allows ${action.action}, but ${approvalPath} requires approval for it`,
        binding: allowedBy,
        ruleResource: approvalPath,
      },
    };
  }

  const via = visibleVia === undefined ? '' : ` below it (visible_from_below of ${visibleVia})`;
  return {
    decision: 'ALLOW',
    reason: { code: 'ALLOWED', message: `allowed by ${describeBinding(allowedBy)}${via}`, binding: allowedBy },
  };
}

/** Names the subject's groups (not the wildcard of its type: whether a view lists it depends on whether it holds bindings). */
function noBindingMessage(subject: string, subjects: readonly string[], action: string, path: string): string {
  const groups = subjects.slice(1).filter((s) => !s.endsWith(':*'));
  return `no binding of ${subject}${groups.length > 0 ? ` or its groups (${groups.join(', ')})` : ''} allows ${action} on ${path}`;
}

/** A live allow binding of the subject or its groups strictly below the resource: it makes the resource visible. */
function allowBelow(d: Decider, subjects: readonly string[], requiredRoles: readonly string[] | undefined, now: number): Binding | undefined {
  const path = d.check.resource.path;
  for (const subject of subjects) {
    for (const binding of d.view.bindingsBelow(subject, path)) {
      if (binding.effect !== 'allow' || isExpired(binding, now)) continue;
      if (binding.role !== undefined && d.view.role(d.org, binding.role) === undefined) continue;
      if (requiredRoles !== undefined && (binding.role === undefined || !requiredRoles.includes(binding.role))) continue;
      if (conditionOf(d, binding) === 'true') return binding;
    }
  }
  return undefined;
}

function canBypassApproval(d: Decider, bindings: readonly Binding[], now: number): boolean {
  for (const binding of bindings) {
    if (binding.effect === 'deny' && !isExpired(binding, now) && grants(d, binding, APPROVAL_BYPASS_ACTION) !== false && conditionOf(d, binding) !== 'false') {
      return false;
    }
  }
  for (const binding of bindings) {
    if (binding.effect === 'allow' && !isExpired(binding, now) && grants(d, binding, APPROVAL_BYPASS_ACTION) === true && conditionOf(d, binding) === 'true') {
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
      // Stored (directory) attributes win over caller-supplied ones, as for resources.
      attributes: { ...check.subjectAttributes, ...view.directory(check.resource.org, check.subject) },
    },
    action: { name: check.action.action, attributes: check.actionAttributes ?? {} },
  };
}
