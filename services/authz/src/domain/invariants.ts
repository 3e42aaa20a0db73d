/**
 * Invariants every organization keeps, for all time, checked on the state after a change.
 *
 * A working owner: some actor (not a group) that holds the role `owner` on the organization
 * through a binding — its own or one of its groups' — with no condition and no expiry, and
 * that is surely allowed every management action there once every expiry has passed (no deny,
 * conditional or not, covers owner actions; the owner role still carries them). An owners
 * group counts through its members, so an emptied group keeps nobody owner.
 */
import { MANAGEMENT_ACTIONS } from './catalogue.js';
import { Decider } from './effect.js';
import type { OrgGraph } from './org-graph.js';

const FOREVER = 8.64e15; // the latest Date: every expiry has passed

/** The actors that hold `owner` on the organization through an unconditional, non-expiring binding. */
export function ownerCandidates(graph: OrgGraph): string[] {
  const orgPath = `org:${graph.org}`;
  const out = new Set<string>();
  for (const subject of graph.subjects()) {
    for (const b of graph.bindingsOf(subject)) {
      if (b.role !== 'owner' || b.effect !== 'allow' || b.scope !== orgPath || b.condition !== undefined || b.expiresAt !== undefined) continue;
      // A wildcard (user:*) is not an actor: it never counts as an owner.
      if (!subject.startsWith('group:') && !subject.endsWith(':*')) out.add(subject);
      for (const member of graph.members(subject)) if (!member.startsWith('group:')) out.add(member);
    }
  }
  return [...out].sort();
}

/** The organization's working owners at a time (see above). */
export function workingOwners(graph: OrgGraph, at: number): string[] {
  const decider = new Decider(graph, at);
  const orgPath = `org:${graph.org}`;
  return ownerCandidates(graph).filter((subject) => MANAGEMENT_ACTIONS.every((action) => decider.decision('min', subject, action, orgPath) === 'ALLOW'));
}

/**
 * Why the state breaks an invariant; undefined when it keeps them all. Decisions only change
 * when a binding expires, so "for all time" is: now, just after each later expiry, and forever.
 */
export function brokenInvariant(graph: OrgGraph, now: number): string | undefined {
  const times = new Set<number>([now, FOREVER]);
  for (const subject of graph.subjects()) {
    for (const b of graph.bindingsOf(subject)) {
      const expires = b.expiresAt?.getTime();
      if (expires !== undefined && expires > now) times.add(expires + 1);
    }
  }
  for (const at of [...times].sort((a, b) => a - b)) {
    if (workingOwners(graph, at).length > 0) continue;
    const when = at === now ? '' : at === FOREVER ? ' once every expiry has passed' : ` from ${new Date(at).toISOString()}`;
    return `org:${graph.org} would have no working owner${when} (an actor holding owner on the organization with no expiry and no condition, and no deny on owner actions); make another owner first`;
  }
  return undefined;
}
