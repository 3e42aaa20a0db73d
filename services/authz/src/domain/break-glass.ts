/**
 * The one exception to "the caller must be able to grant every gain" (governance.ts): a subject
 * allowed `approvals:break_glass` at a scope may take access there for itself, without approval,
 * for a bounded time. Judged on the change's effect like every other change:
 *
 *  - the change set is only allow bindings for the caller itself, at the scope or below it, each
 *    with an expiry no later than `until`, and no condition;
 *  - every gain is the caller's, at the scope or below, and of no owner-level action
 *    (MANAGEMENT_ACTIONS: break-glass never makes anyone an admin);
 *  - no loss, no loosened rule;
 *  - the caller holds approvals:break_glass on the scope, surely (min), before the change;
 *  - the state after keeps every invariant.
 * The use case adds the rest of the rule: a mandatory reason, and no open review of the caller's
 * last break-glass.
 */
import { MANAGEMENT_ACTIONS } from './catalogue.js';
import type { Change } from './changes.js';
import { computeEffect, Decider, scopeOfChanges } from './effect.js';
import type { Judgement } from './governance.js';
import { brokenInvariant } from './invariants.js';
import type { OrgGraph } from './org-graph.js';

export const BREAK_GLASS_ACTION = 'approvals:break_glass';
const MANAGEMENT = new Set(MANAGEMENT_ACTIONS);

const within = (resource: string, scope: string) => resource === scope || resource.startsWith(`${scope}/`);

export function judgeBreakGlass(input: { readonly caller: string; readonly scope: string; readonly until: number; readonly changes: readonly Change[]; readonly before: OrgGraph; readonly now: number }): Judgement {
  const { caller, scope, until, changes, before, now } = input;
  const after = before.withChanges(changes);
  const was = new Decider(before, now);
  const effect = computeEffect(was, new Decider(after, now), scopeOfChanges(changes, before, after));
  const refuse = (problem: string): Judgement => ({ effect, loosened: [], verdict: { ok: false, kind: 'permission', problem } });
  if (was.decision('min', caller, BREAK_GLASS_ACTION, scope) !== 'ALLOW') return refuse(`${caller} may not break glass on ${scope}: it lacks ${BREAK_GLASS_ACTION} there`);
  for (const change of changes) {
    if (change.kind === 'request.put') continue;
    if (change.kind !== 'binding.put') return refuse(`break-glass may only grant access, not ${change.kind}`);
    const b = change.binding;
    if (b.subject !== caller || b.effect !== 'allow' || b.condition !== undefined || !within(b.scope, scope)) {
      return refuse(`break-glass grants ${caller} itself an allow binding on ${scope} or below, nothing else`);
    }
    if (b.expiresAt === undefined || b.expiresAt.getTime() > until) return refuse(`break-glass access must expire by ${new Date(until).toISOString()}`);
  }
  for (const gain of effect.gains) {
    if (gain.subject !== caller || !within(gain.resource, scope)) return refuse(`break-glass would give ${gain.subject} ${gain.action} on ${gain.resource}, outside what ${caller} may take on ${scope}`);
    if (MANAGEMENT.has(gain.action)) return refuse(`break-glass never grants owner-level actions: ${caller} would gain ${gain.action} on ${gain.resource}`);
  }
  const loss = effect.losses[0];
  if (loss !== undefined) return refuse(`break-glass takes nothing away: ${loss.subject} would lose ${loss.action} on ${loss.resource}`);
  const broken = brokenInvariant(after, now);
  if (broken !== undefined) return { effect, loosened: [], verdict: { ok: false, kind: 'invariant', problem: broken } };
  return { effect, loosened: [], verdict: { ok: true } };
}
