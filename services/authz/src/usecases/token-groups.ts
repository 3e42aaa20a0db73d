/**
 * Groups from a token (AUTHZ_JWT_GROUPS_CLAIM, docs/model.md "Groups from the identity
 * provider"): in checks and searches about the token's own subject, each group joins the
 * subject's closure for that request.
 */
import type { Caller } from '../domain/caller.js';
import type { GrantView } from '../domain/engine.js';
import type { Binding } from '../domain/model.js';

/** The token's groups when `subject` is the token's own subject; undefined otherwise. */
export function tokenGroupsFor(caller: Caller, subject: string): readonly string[] | undefined {
  return caller.kind === 'jwt' && caller.subject === subject && caller.groups !== undefined && caller.groups.length > 0 ? caller.groups : undefined;
}

/**
 * A view in which `subject` is also a member of the token's `groups` (each with its own closure
 * in the organization), for one request. Bindings are read from whichever view holds the name
 * (all are at one revision).
 */
export class WithTokenGroups implements GrantView {
  readonly revision: number;
  constructor(
    private readonly inner: GrantView,
    private readonly subject: string,
    private readonly groups: readonly string[],
    private readonly groupViews: readonly GrantView[],
  ) {
    this.revision = inner.revision;
  }
  subjectsOf(subject: string, org: string): readonly string[] {
    const own = this.inner.subjectsOf(subject, org);
    if (subject !== this.subject) return own;
    const all = [...own];
    for (let i = 0; i < this.groups.length; i++) {
      for (const s of this.groupViews[i]!.subjectsOf(this.groups[i]!, org)) if (!all.includes(s)) all.push(s);
    }
    return all;
  }
  bindingsAt(subject: string, scope: string): readonly Binding[] {
    const own = this.inner.bindingsAt(subject, scope);
    if (own.length > 0) return own;
    for (const view of this.groupViews) {
      const found = view.bindingsAt(subject, scope);
      if (found.length > 0) return found;
    }
    return own;
  }
  bindingsBelow(subject: string, path: string): readonly Binding[] {
    const own = this.inner.bindingsBelow(subject, path);
    if (own.length > 0) return own;
    for (const view of this.groupViews) {
      const found = view.bindingsBelow(subject, path);
      if (found.length > 0) return found;
    }
    return own;
  }
  role(org: string, name: string) {
    return this.inner.role(org, name);
  }
  catalogue(org: string) {
    return this.inner.catalogue(org);
  }
  attributes(path: string) {
    return this.inner.attributes(path);
  }
  directory(org: string, subject: string) {
    return this.inner.directory(org, subject);
  }
}

