/**
 * What to load of an organization's grant graph to judge a change set (org-graph.ts): the
 * subjects it names (and the caller, whose own access decides what it may grant), the roles
 * it redefines, the resources whose settings it writes, and the owners, for the invariant.
 */
import type { Change } from './changes.js';

export interface GraphSpec {
  readonly org: string;
  /** Subjects to load with their members and groups, transitively. */
  readonly subjects: readonly string[];
  /** Roles whose bound subjects to load. */
  readonly roles: readonly string[];
  /** Paths whose settings change: load the subjects bound on their scope chains or below them. */
  readonly near: readonly string[];
  /** Load the subjects bound `owner` on the organization (the working-owner invariant). */
  readonly owners: boolean;
}

/**
 * The spec for judging `changes` made by `caller` in `org`. `subjectOfBinding` names the
 * subject of a binding the change set deletes (read before the spec is built).
 */
export function graphSpec(org: string, caller: string, changes: readonly Change[], subjectOfBinding: (id: string) => string | undefined): GraphSpec {
  const subjects = new Set<string>([caller]);
  const roles = new Set<string>();
  const near = new Set<string>();
  for (const change of changes) {
    switch (change.kind) {
      case 'binding.put':
        subjects.add(change.binding.subject);
        break;
      case 'binding.delete': {
        const subject = subjectOfBinding(change.id);
        if (subject !== undefined) subjects.add(subject);
        break;
      }
      case 'member.add':
      case 'member.remove':
        subjects.add(change.group).add(change.member);
        break;
      case 'role.put':
        roles.add(change.role.name);
        break;
      case 'role.delete':
        roles.add(change.name);
        break;
      case 'resource.put':
        near.add(change.path);
        break;
      case 'directory.put':
        subjects.add(change.subject);
        break;
      case 'catalogue.put':
        // A declared action reaches every wildcard in the organization.
        near.add(`org:${org}`);
        break;
    }
  }
  return { org, subjects: [...subjects].sort(), roles: [...roles].sort(), near: [...near].sort(), owners: true };
}
