/**
 * Warden's reserved resource settings, typed, and how they combine down a scope chain.
 *
 *  protected, sensitive_actions, protected_roles   sensitive actions only through named roles
 *  require_approval, approval_actions              an allowed change waits for approval
 *  required_approvals                              distinct approvals a change request needs there (default 1)
 *  show_values_to_readers                          readers see variable values
 *  visible_from_below                              an assignment below a resource makes it visible
 *
 * Settings only ever tighten downwards: a resource is protected if any resource on its chain
 * is; every protected resource on the chain adds its sensitive actions and a binding must be
 * of a role every one of them names; approval is required if any resource on the chain
 * requires it for the action; values show only if some resource on the chain says so and
 * none says false. So a setting below a scope can never weaken what the scope set.
 *
 * `visible_from_below` grants rather than restricts: at a resource R (not the organization) at
 * or below a resource that lists action A, a subject holding a live allow binding on a scope
 * strictly below R is allowed A on R (an environment assigned to a member makes its project
 * visible, and stops doing so when the assignment goes). Setting or clearing it is judged like
 * any change, by who gains and loses A where.
 */
import { z } from 'zod';
import { InvalidArgumentError } from '@warden/errors';
import { parseAction, parseRoleName } from '@warden/names';
import { DEFAULT_APPROVAL_ACTIONS, DEFAULT_PROTECTED_ROLES, DEFAULT_SENSITIVE_ACTIONS } from './catalogue.js';
import type { ResourceAttributes } from './model.js';

export const RESERVED_SETTINGS = [
  'protected',
  'sensitive_actions',
  'protected_roles',
  'require_approval',
  'approval_actions',
  'required_approvals',
  'show_values_to_readers',
  'visible_from_below',
] as const;
export type ReservedSetting = (typeof RESERVED_SETTINGS)[number];

const actionList = z.array(z.string()).max(200);
const settingsSchema = z.strictObject({
  protected: z.boolean().optional(),
  sensitive_actions: actionList.optional(),
  protected_roles: z.array(z.string()).max(50).optional(),
  require_approval: z.boolean().optional(),
  approval_actions: actionList.optional(),
  required_approvals: z.number().int().min(1).max(10).optional(),
  show_values_to_readers: z.boolean().optional(),
  visible_from_below: actionList.optional(),
});
export type Settings = z.infer<typeof settingsSchema>;

const MAX_ATTRIBUTES_BYTES = 16 * 1024;

/**
 * A resource's stored attributes from its typed settings and its free attributes (visible to
 * conditions). A reserved name is only ever a typed setting: `"true"` for `protected`, or
 * `protected` inside the free attributes, is INVALID_ARGUMENT naming the field.
 */
export function resourceAttributes(settings: unknown, attributes: unknown, field: string): ResourceAttributes {
  const parsed = settingsSchema.safeParse(settings ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const where = issue.path.length > 0 ? `${field}.${issue.path.join('.')}` : field;
    throw new InvalidArgumentError(where, issue.code === 'invalid_type' ? `must be ${issue.expected === 'array' ? 'a list' : `a ${issue.expected}`}` : issue.message);
  }
  const free: Record<string, unknown> = {};
  if (attributes !== undefined && attributes !== null) {
    if (typeof attributes !== 'object' || Array.isArray(attributes)) throw new InvalidArgumentError(`${field}.attributes`, 'must be an object');
    for (const [key, value] of Object.entries(attributes)) {
      if ((RESERVED_SETTINGS as readonly string[]).includes(key)) {
        throw new InvalidArgumentError(`${field}.attributes.${key}`, `${key} is a reserved setting: set it as a typed setting, not a free attribute`);
      }
      free[key] = value;
    }
    const size = Buffer.byteLength(JSON.stringify(free));
    if (size > MAX_ATTRIBUTES_BYTES) throw new InvalidArgumentError(`${field}.attributes`, `is ${size} bytes as JSON; at most ${MAX_ATTRIBUTES_BYTES} are allowed`);
  }
  const typed = parsed.data;
  const out: Record<string, unknown> = { ...free };
  if (typed.protected !== undefined) out['protected'] = typed.protected;
  if (typed.require_approval !== undefined) out['require_approval'] = typed.require_approval;
  if (typed.show_values_to_readers !== undefined) out['show_values_to_readers'] = typed.show_values_to_readers;
  if (typed.required_approvals !== undefined) out['required_approvals'] = typed.required_approvals;
  if (typed.sensitive_actions !== undefined) out['sensitive_actions'] = typed.sensitive_actions.map((a, i) => parseAction(a, `${field}.sensitive_actions[${i}]`).action);
  if (typed.approval_actions !== undefined) out['approval_actions'] = typed.approval_actions.map((a, i) => parseAction(a, `${field}.approval_actions[${i}]`).action);
  if (typed.visible_from_below !== undefined) out['visible_from_below'] = typed.visible_from_below.map((a, i) => parseAction(a, `${field}.visible_from_below[${i}]`).action);
  if (typed.protected_roles !== undefined) out['protected_roles'] = typed.protected_roles.map((r, i) => parseRoleName(r, `${field}.protected_roles[${i}]`));
  return out as ResourceAttributes;
}

/** Reads a chain's stored attributes (the organization first, the resource last). */
export type AttributesOf = (path: string) => ResourceAttributes | undefined;

export interface ProtectionRule {
  /** The nearest protected resource that makes the action sensitive. */
  readonly path: string;
  /** Roles a binding must be of to reach the action: every protecting resource's list, intersected. */
  readonly roles: readonly string[];
}

/** Whether the action is sensitive somewhere on the chain, and which roles still reach it; undefined when it is not. */
export function protectionRule(chain: readonly string[], attributesOf: AttributesOf, action: string): ProtectionRule | undefined {
  let path: string | undefined;
  let roles: readonly string[] | undefined;
  for (let i = 0; i < chain.length; i++) {
    const attrs = attributesOf(chain[i]!);
    if (attrs === undefined || attrs.protected !== true) continue;
    if (!(attrs.sensitive_actions ?? DEFAULT_SENSITIVE_ACTIONS).includes(action)) continue;
    path = chain[i]!;
    const named = attrs.protected_roles ?? DEFAULT_PROTECTED_ROLES;
    roles = roles === undefined ? named : roles.filter((role) => named.includes(role));
  }
  return path === undefined ? undefined : { path, roles: roles! };
}

/** The nearest resource on the chain that requires approval for the action; undefined when none does. */
export function approvalRule(chain: readonly string[], attributesOf: AttributesOf, action: string): string | undefined {
  for (let i = chain.length - 1; i >= 0; i--) {
    const attrs = attributesOf(chain[i]!);
    if (attrs !== undefined && attrs.require_approval === true && (attrs.approval_actions ?? DEFAULT_APPROVAL_ACTIONS).includes(action)) return chain[i]!;
  }
  return undefined;
}

/** Distinct approvals a change request at the end of the chain needs: the most any resource on the chain asks (at least 1). */
export function requiredApprovals(chain: readonly string[], attributesOf: AttributesOf): number {
  let required = 1;
  for (const path of chain) {
    const value = attributesOf(path)?.required_approvals;
    if (typeof value === 'number' && Number.isInteger(value) && value > required) required = value;
  }
  return required;
}

/** Readers see values: some resource on the chain says so and none says false. */
export function showsValues(chain: readonly string[], attributesOf: AttributesOf): boolean {
  let shown = false;
  for (let i = 0; i < chain.length; i++) {
    const value = attributesOf(chain[i]!)?.show_values_to_readers;
    if (value === false) return false;
    if (value === true) shown = true;
  }
  return shown;
}

/**
 * The resource on the chain whose `visible_from_below` lists the action (the nearest); undefined
 * when none does, or when the resource checked is the organization itself.
 */
export function visibleFromBelow(chain: readonly string[], attributesOf: AttributesOf, action: string): string | undefined {
  if (chain.length < 2) return undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const listed = attributesOf(chain[i]!)?.visible_from_below;
    if (listed !== undefined && listed.includes(action)) return chain[i]!;
  }
  return undefined;
}

/** How a settings change loosens a resource's own rules (what only an owner may do); empty when it does not. */
export function weakenings(before: ResourceAttributes | undefined, after: ResourceAttributes): string[] {
  const out: string[] = [];
  const was = before ?? {};
  const list = (value: readonly string[] | undefined, fallback: readonly string[]) => value ?? fallback;
  if (was.protected === true) {
    if (after.protected !== true) out.push('turns protection off');
    else {
      const dropped = list(was.sensitive_actions, DEFAULT_SENSITIVE_ACTIONS).filter((a) => !list(after.sensitive_actions, DEFAULT_SENSITIVE_ACTIONS).includes(a));
      if (dropped.length > 0) out.push(`makes ${dropped.join(', ')} no longer sensitive`);
      const added = list(after.protected_roles, DEFAULT_PROTECTED_ROLES).filter((r) => !list(was.protected_roles, DEFAULT_PROTECTED_ROLES).includes(r));
      if (added.length > 0) out.push(`lets the roles ${added.join(', ')} reach sensitive actions`);
    }
  }
  if (was.require_approval === true) {
    if (after.require_approval !== true) out.push('turns approval off');
    else {
      const dropped = list(was.approval_actions, DEFAULT_APPROVAL_ACTIONS).filter((a) => !list(after.approval_actions, DEFAULT_APPROVAL_ACTIONS).includes(a));
      if (dropped.length > 0) out.push(`no longer requires approval for ${dropped.join(', ')}`);
    }
  }
  const wasRequired = typeof was.required_approvals === 'number' ? was.required_approvals : 1;
  const nowRequired = typeof after.required_approvals === 'number' ? after.required_approvals : 1;
  if (nowRequired < wasRequired) out.push(`needs ${nowRequired} approval(s) instead of ${wasRequired}`);
  return out;
}
