/**
 * The one rule every management change is judged by, on its effect (effect.ts):
 *
 *  1. The caller must be able to grant every gain: hold the action on that resource at least
 *     as well as the subject gains it (an approval-gated caller cannot hand out a free allow),
 *     and be a working owner where the gain is owner-level (a management action).
 *  2. Loosening a resource's own rules (protection or approval off, fewer sensitive or approval
 *     actions, more protected roles) needs an owner; tightening is open to whoever may manage
 *     the resource's settings.
 *  3. The caller may cause every loss: it holds the lost action there, and a loss aimed at an
 *     owner or an admin (someone holding a management action on the organization) — by a
 *     binding, a group membership or a role definition — needs an owner.
 *  4. The organization's names (declared subject and resource types), its directory and
 *     bindings naming every subject of a type (`user:*`) are an owner's to change.
 *  5. The state after the change keeps every invariant (invariants.ts), for all time.
 *
 * Minting a credential for a subject is the caller gaining everything that subject holds.
 * A refused change is refused whole, naming the first gain or loss the caller may not cause.
 */
import { MANAGEMENT_ACTIONS, type OrgSchema } from './catalogue.js';
import type { Change } from './changes.js';
import { computeEffect, Decider, RANK, ruleActions, scopeOfChanges, type AccessChange, type ChangeEffect } from './effect.js';
import { brokenInvariant, workingOwners } from './invariants.js';
import type { OrgGraph } from './org-graph.js';
import { weakenings } from './settings.js';

const MANAGEMENT = new Set(MANAGEMENT_ACTIONS);

export type Verdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: 'permission'; readonly problem: string }
  | { readonly ok: false; readonly kind: 'invariant'; readonly problem: string };

export interface Judgement {
  readonly effect: ChangeEffect;
  /** How the change loosens resource rules, per resource path. */
  readonly loosened: ReadonlyArray<{ readonly resource: string; readonly how: readonly string[] }>;
  readonly verdict: Verdict;
}

function describe(change: AccessChange, verb: 'gain' | 'lose'): string {
  const level = change[verb === 'gain' ? 'after' : 'before'] === 'REQUIRES_APPROVAL' ? ' (with approval)' : '';
  return `${change.subject} would ${verb} ${change.action}${level} on ${change.resource}`;
}

/** Whether the subject holds a management action on the organization (surely, now). */
function isAdminLevel(decider: Decider, subject: string): boolean {
  const orgPath = `org:${decider.graph.org}`;
  return MANAGEMENT_ACTIONS.some((action) => decider.decision('min', subject, action, orgPath) === 'ALLOW');
}

export interface JudgeInput {
  /** The subject making the change (it must be in `before`: the loader loads it). */
  readonly caller: string;
  readonly changes: readonly Change[];
  readonly before: OrgGraph;
  readonly now: number;
}

export function judgeChange(input: JudgeInput): Judgement {
  const { caller, changes, before, now } = input;
  const after = before.withChanges(changes);
  const was = new Decider(before, now);
  const will = new Decider(after, now);
  const effect = computeEffect(was, will, scopeOfChanges(changes, before, after));
  const loosened = changes.flatMap((c) => {
    if (c.kind !== 'resource.put') return [];
    const how = weakenings(before.attributes(c.path), c.attributes);
    return how.length > 0 ? [{ resource: c.path, how }] : [];
  });
  return { effect, loosened, verdict: verdictOf(input, after, was, effect, loosened) };
}

function verdictOf(input: JudgeInput, after: OrgGraph, was: Decider, effect: ChangeEffect, loosened: Judgement['loosened']): Verdict {
  const { caller, changes, before, now } = input;
  const org = before.org;
  let owner: boolean | undefined;
  const isOwner = () => (owner ??= workingOwners(before, now).includes(caller));
  const holds = (action: string, resource: string) => RANK[was.decision('min', caller, action, resource)];

  for (const { resource, how } of loosened) {
    if (!isOwner()) return { ok: false, kind: 'permission', problem: `only an owner of org:${org} may loosen the rules of ${resource}: the change ${how.join('; ')}` };
  }
  const known = before.catalogue();
  // The organization's names (subject types, resource types) are its schema, and its directory
  // feeds every condition that reads subject.attributes: only an owner changes them.
  for (const c of changes) {
    // A binding naming every subject of a type (user:*) reaches owners and admins too: only an owner grants or revokes one.
    const wildcard = c.kind === 'binding.put' ? c.binding.subject : c.kind === 'binding.delete' ? before.binding(c.id)?.subject : undefined;
    if (wildcard !== undefined && wildcard.endsWith(':*') && !isOwner()) {
      return { ok: false, kind: 'permission', problem: `only an owner of org:${org} may grant or revoke a binding naming every subject of a type (${wildcard})` };
    }
    if (c.kind === 'directory.put' && !isOwner()) {
      return { ok: false, kind: 'permission', problem: `only an owner of org:${org} may change its directory (the stored attributes of ${c.subject})` };
    }
    if (c.kind === 'catalogue.put' && !sameSchema(known.schema, c.schema) && !isOwner()) {
      return { ok: false, kind: 'permission', problem: `only an owner of org:${org} may change the subject or resource types it declares` };
    }
  }
  for (const gain of effect.gains) {
    if (!known.has(gain.action)) {
      // An action the change declares: nobody held it before; an owner (who holds `*`) may hand it out.
      if (!isOwner()) return { ok: false, kind: 'permission', problem: `only an owner of org:${org} may declare actions: ${describe(gain, 'gain')}` };
      continue;
    }
    if (holds(gain.action, gain.resource) < RANK[gain.after]) {
      return { ok: false, kind: 'permission', problem: `${caller} may not cause this change: ${describe(gain, 'gain')}, which ${caller} does not hold there` };
    }
    if (MANAGEMENT.has(gain.action) && !isOwner()) {
      return { ok: false, kind: 'permission', problem: `only an owner of org:${org} may grant owner-level actions: ${describe(gain, 'gain')}` };
    }
  }
  const aimed = changes.some((c) => c.kind !== 'resource.put');
  const privileged = new Map<string, boolean>();
  for (const loss of effect.losses) {
    if (holds(loss.action, loss.resource) < RANK[loss.before]) {
      return { ok: false, kind: 'permission', problem: `${caller} may not cause this change: ${describe(loss, 'lose')}, which ${caller} does not hold there` };
    }
    if (!aimed || loss.subject === caller) continue;
    let high = privileged.get(loss.subject);
    if (high === undefined) {
      high = workingOwners(before, now).includes(loss.subject) || isAdminLevel(was, loss.subject);
      privileged.set(loss.subject, high);
    }
    if (high && !isOwner()) {
      return { ok: false, kind: 'permission', problem: `only an owner of org:${org} may take access from an owner or admin: ${describe(loss, 'lose')}` };
    }
  }
  const broken = brokenInvariant(after, now);
  if (broken !== undefined) return { ok: false, kind: 'invariant', problem: broken };
  return { ok: true };
}

function sameSchema(a: OrgSchema, b: OrgSchema): boolean {
  const key = (s: OrgSchema) => JSON.stringify([[...s.subjectTypes].sort(), s.resourceTypes.map((t) => `${t.name}<${t.parent}`).sort()]);
  return key(a) === key(b);
}

/**
 * Minting a credential that acts as `subject`: the caller gains everything the subject holds,
 * so the caller must hold all of it (owner-level actions only as an owner).
 */
export function judgeCredential(input: { readonly caller: string; readonly subject: string; readonly graph: OrgGraph; readonly now: number }): Judgement {
  const { caller, subject, graph, now } = input;
  const decider = new Decider(graph, now);
  const gains: AccessChange[] = [];
  const catalogue = graph.catalogue().actions;
  const scopes = new Set([...decider.scopes(subject), ...decider.scopes(caller)]);
  for (const resource of decider.paths(subject, [])) {
    // Below a binding scope only what a resource rule singles out can differ.
    const ruled = scopes.has(resource) ? undefined : ruleActions(graph, resource);
    for (const action of ruled === undefined ? catalogue : catalogue.filter((a) => ruled.has(a))) {
      const theirs = decider.decision('max', subject, action, resource);
      const mine = decider.decision('min', caller, action, resource);
      if (RANK[theirs] > RANK[mine]) gains.push({ subject: caller, action, resource, before: mine, after: theirs });
    }
  }
  const effect = { gains, losses: [] };
  const first = gains[0];
  if (first !== undefined) {
    return { effect, loosened: [], verdict: { ok: false, kind: 'permission', problem: `${caller} may not mint a credential for ${subject}: it would gain ${first.action} on ${first.resource}, which it does not hold there` } };
  }
  if (!workingOwners(graph, now).includes(caller)) {
    const orgPath = `org:${graph.org}`;
    const owned = MANAGEMENT_ACTIONS.find((action) => decider.decision('max', subject, action, orgPath) !== 'DENY');
    if (owned !== undefined) {
      return { effect, loosened: [], verdict: { ok: false, kind: 'permission', problem: `only an owner of org:${graph.org} may mint a credential for ${subject}: it holds the owner-level action ${owned}` } };
    }
  }
  return { effect, loosened: [], verdict: { ok: true } };
}
