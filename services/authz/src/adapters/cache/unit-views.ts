/**
 * GrantViews over units: one assembled from units found in any layer (`viewOf`), and the
 * small one the in-process hot path builds for a single request (`SingleRequestView`).
 * Both answer at the revision they are given, which the caller proved every unit current at.
 */
import { BUILT_IN_CATALOGUE, COMPILED_SYSTEM_ROLES, type Catalogue } from '../../domain/catalogue.js';
import type { GrantView } from '../../domain/engine.js';
import { bindingsBelowIn, closure } from '../../domain/grant-graph.js';
import type { Attributes, Binding, CompiledRole, ResourceAttributes } from '../../domain/model.js';
import type { AttrUnit, Entry, OrgUnit, SubjectUnit } from './units.js';

const EMPTY: readonly Binding[] = [];
const EMPTY_GROUPS: readonly string[] = [];

/** A view over units by name: subjects', resource paths' and organizations'. */
export function viewOf(revision: number, subjects: ReadonlyMap<string, Entry>, attributes: ReadonlyMap<string, Entry>, orgs: ReadonlyMap<string, Entry>): GrantView {
  const closures = new Map<string, string[]>();
  const subjectUnit = (subject: string) => subjects.get(subject)?.unit as SubjectUnit | undefined;
  const orgUnit = (org: string) => orgs.get(org)?.unit as OrgUnit | undefined;
  return {
    revision,
    subjectsOf(subject, org) {
      const key = `${org}\u0000${subject}`;
      let found = closures.get(key);
      if (found === undefined) {
        found = closure(subject, (s) => subjectUnit(s)?.groupsByOrg.get(org) ?? EMPTY_GROUPS);
        closures.set(key, found);
      }
      return found;
    },
    bindingsAt: (subject, scope) => subjectUnit(subject)?.byScope.get(scope) ?? EMPTY,
    bindingsBelow: (subject, path) => bindingsBelowIn(subjectUnit(subject)?.byScope, path),
    role: (org, name) => orgUnit(org)?.roles.get(name) ?? COMPILED_SYSTEM_ROLES.get(name),
    attributes: (path) => (attributes.get(path)?.unit as AttrUnit | undefined)?.attrs,
    catalogue: (org) => orgUnit(org)?.catalogue ?? BUILT_IN_CATALOGUE,
    directory: (org, subject) => subjectUnit(subject)?.directory?.get(org),
  };
}

/**
 * The view of one request served from the in-process layer: plain arrays (a subject's
 * closure is a handful of names, a chain at most eight paths), so a hit allocates little.
 * The only GrantView class `decide` sees on a replica's hot path: keep it one shape.
 */
export class SingleRequestView implements GrantView {
  constructor(
    readonly revision: number,
    /** The subject, then its groups in closure() order. */
    private readonly names: readonly string[],
    private readonly units: readonly SubjectUnit[],
    private readonly org: string,
    private readonly roles: ReadonlyMap<string, CompiledRole>,
    private readonly orgCatalogue: Catalogue,
    private readonly chain: readonly string[],
    private readonly attrs: ReadonlyArray<ResourceAttributes | undefined>,
  ) {}

  subjectsOf(subject: string, org: string): readonly string[] {
    // The closure the view was built with is of this.org's groups.
    if (subject === this.names[0] && org === this.org) return this.names;
    return closure(subject, (s) => {
      const i = this.names.indexOf(s);
      return i < 0 ? EMPTY_GROUPS : (this.units[i]!.groupsByOrg.get(org) ?? EMPTY_GROUPS);
    });
  }

  bindingsAt(subject: string, scope: string): readonly Binding[] {
    const i = this.names.indexOf(subject);
    return i < 0 ? EMPTY : (this.units[i]!.byScope.get(scope) ?? EMPTY);
  }

  bindingsBelow(subject: string, path: string): readonly Binding[] {
    const i = this.names.indexOf(subject);
    return i < 0 ? EMPTY : bindingsBelowIn(this.units[i]!.byScope, path);
  }

  role(org: string, name: string): CompiledRole | undefined {
    return (org === this.org ? this.roles.get(name) : undefined) ?? COMPILED_SYSTEM_ROLES.get(name);
  }

  catalogue(org: string): Catalogue {
    return org === this.org ? this.orgCatalogue : BUILT_IN_CATALOGUE;
  }

  attributes(path: string): ResourceAttributes | undefined {
    const i = this.chain.indexOf(path);
    return i < 0 ? undefined : this.attrs[i];
  }

  directory(org: string, subject: string): Attributes | undefined {
    const i = this.names.indexOf(subject);
    return i < 0 ? undefined : this.units[i]!.directory?.get(org);
  }
}
