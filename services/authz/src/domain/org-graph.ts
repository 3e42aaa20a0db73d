/**
 * One organization's grant graph in memory — the part a management change can touch: the
 * bindings of the subjects it was loaded for (and of their groups), the organization's group
 * edges among them, its custom roles, its declared actions and the attributes of its
 * resources. It answers the engine as a GrantView, and `withChanges` gives the state after a
 * change set without touching the original. Used to compute a change's effect (effect.ts)
 * and to hold the invariants on the state after it (invariants.ts).
 */
import { BUILT_IN_CATALOGUE, Catalogue, COMPILED_SYSTEM_ROLES, compileRole, type OrgSchema } from './catalogue.js';
import type { Change } from './changes.js';
import type { GrantView } from './engine.js';
import { closure } from './grant-graph.js';
import type { Attributes, Binding, CompiledRole, ResourceAttributes, Role } from './model.js';
import { grantKey } from './world.js';

export interface OrgGraphData {
  readonly org: string;
  readonly revision: number;
  readonly bindings: readonly Binding[];
  /** The organization's group edges (member → group) among the loaded subjects. */
  readonly memberships: ReadonlyArray<{ readonly group: string; readonly member: string }>;
  /** The organization's own role definitions (they shadow system roles of the same name). */
  readonly roles: readonly Role[];
  readonly declaredActions: readonly string[];
  /** The subject and resource types it declares. */
  readonly schema?: OrgSchema | undefined;
  /** Stored attributes of the organization's resources that carry any. */
  readonly attributes: ReadonlyMap<string, ResourceAttributes>;
  /** Directory entries of the loaded subjects (those a change set names, at least). */
  readonly directory?: ReadonlyMap<string, Attributes> | undefined;
}

/** Ids of bindings a change set creates: unique across every graph of the process. */
let created = 0;

const naturalKey = (b: Omit<Binding, 'id'>) => `${b.subject}\u0000${b.scope}\u0000${b.effect}\u0000${grantKey(b)}`;

export class OrgGraph implements GrantView {
  readonly org: string;
  readonly revision: number;
  private readonly bindings: ReadonlyMap<string, Binding>;
  private readonly byScope = new Map<string, Binding[]>();
  private readonly bySubject = new Map<string, Binding[]>();
  private readonly groupsOf = new Map<string, string[]>();
  private readonly membersOf = new Map<string, string[]>();
  private readonly edges: ReadonlyArray<{ readonly group: string; readonly member: string }>;
  private readonly roleDefs: ReadonlyMap<string, Role>;
  private readonly compiled = new Map<string, CompiledRole>();
  private readonly attrs: ReadonlyMap<string, ResourceAttributes>;
  private readonly cat: Catalogue;
  private readonly dir: ReadonlyMap<string, Attributes>;

  constructor(data: OrgGraphData) {
    this.org = data.org;
    this.revision = data.revision;
    this.bindings = new Map(data.bindings.map((b) => [b.id, b]));
    for (const binding of data.bindings) {
      push(this.byScope, `${binding.subject}\u0000${binding.scope}`, binding);
      push(this.bySubject, binding.subject, binding);
    }
    this.edges = data.memberships;
    for (const { group, member } of data.memberships) {
      push(this.groupsOf, member, group);
      push(this.membersOf, group, member);
    }
    for (const list of this.groupsOf.values()) list.sort();
    this.roleDefs = new Map(data.roles.map((r) => [r.name, r]));
    this.attrs = data.attributes;
    this.dir = data.directory ?? new Map();
    this.cat = data.declaredActions.length === 0 && data.schema === undefined ? BUILT_IN_CATALOGUE : new Catalogue(data.declaredActions, data.schema);
  }

  private data(): OrgGraphData {
    return {
      org: this.org,
      revision: this.revision,
      bindings: [...this.bindings.values()],
      memberships: this.edges,
      roles: [...this.roleDefs.values()],
      declaredActions: this.cat.declared,
      schema: this.cat.schema,
      attributes: this.attrs,
      directory: this.dir,
    };
  }

  // GrantView -------------------------------------------------------------------------------

  subjectsOf(subject: string, org: string): readonly string[] {
    if (org !== this.org) return [subject];
    return closure(subject, (s) => this.groupsOf.get(s) ?? []);
  }

  bindingsAt(subject: string, scope: string): readonly Binding[] {
    return this.byScope.get(`${subject}\u0000${scope}`) ?? [];
  }

  bindingsBelow(subject: string, path: string): readonly Binding[] {
    const prefix = `${path}/`;
    return this.bindingsOf(subject)
      .filter((b) => b.scope.startsWith(prefix))
      .sort((a, b) => (a.scope < b.scope ? -1 : a.scope > b.scope ? 1 : 0));
  }

  role(org: string, name: string): CompiledRole | undefined {
    if (org !== this.org) return COMPILED_SYSTEM_ROLES.get(name);
    let role = this.compiled.get(name);
    if (role === undefined) {
      const def = this.roleDefs.get(name);
      role = def === undefined ? COMPILED_SYSTEM_ROLES.get(name) : compileRole(def);
      if (role !== undefined) this.compiled.set(name, role);
    }
    return role;
  }

  attributes(path: string): ResourceAttributes | undefined {
    return this.attrs.get(path);
  }

  catalogue(): Catalogue {
    return this.cat;
  }

  /**
   * The directory entries of the loaded subjects (a world apply compares the file's with them).
   * Changing the directory is owner-only (governance.ts), whatever conditions read there.
   */
  directory(org: string, subject: string): Attributes | undefined {
    return org === this.org ? this.dir.get(subject) : undefined;
  }

  // Queries a change's effect needs ---------------------------------------------------------

  binding(id: string): Binding | undefined {
    return this.bindings.get(id);
  }

  private visible: readonly string[] | undefined;
  /** Every action some resource's `visible_from_below` lists. */
  visibleActions(): readonly string[] {
    if (this.visible === undefined) {
      const out = new Set<string>();
      for (const attrs of this.attrs.values()) for (const a of attrs.visible_from_below ?? []) out.add(a);
      this.visible = [...out].sort();
    }
    return this.visible;
  }

  /** The bindings naming this subject itself (not its groups). */
  bindingsOf(subject: string): readonly Binding[] {
    return this.bySubject.get(subject) ?? [];
  }

  /** Every member of the group, transitively (cycle-safe), the group excluded. */
  members(group: string): string[] {
    const seen = new Set<string>([group]);
    const order: string[] = [];
    const queue = [group];
    while (queue.length > 0) {
      for (const member of this.membersOf.get(queue.shift()!) ?? []) {
        if (seen.has(member)) continue;
        seen.add(member);
        order.push(member);
        queue.push(member);
      }
    }
    return order;
  }

  /** Subjects that name a role in some binding. */
  subjectsBoundTo(role: string): string[] {
    return [...new Set([...this.bindings.values()].filter((b) => b.role === role).map((b) => b.subject))];
  }

  /** Every subject the graph knows: bound, or a member or group in an edge. */
  subjects(): string[] {
    const all = new Set<string>(this.bySubject.keys());
    for (const { group, member } of this.edges) all.add(group).add(member);
    return [...all];
  }

  /** Paths whose stored attributes carry something. */
  attributedPaths(): string[] {
    return [...this.attrs.keys()];
  }

  /** The group's direct members. */
  directMembers(group: string): readonly string[] {
    return this.membersOf.get(group) ?? [];
  }

  /** The organization's own role definitions. */
  customRoles(): readonly Role[] {
    return [...this.roleDefs.values()];
  }

  /** The role's own definition in this organization, if it defined one. */
  customRole(name: string): Role | undefined {
    return this.roleDefs.get(name);
  }

  /**
   * The state after a change set, as the GrantWriter would leave it: bindings upserted by
   * (subject, scope, effect, grant) or deleted by id, edges added or removed, roles defined or
   * deleted, attributes replaced. New bindings get ids `new:<n>`, never reused.
   */
  withChanges(changes: readonly Change[]): OrgGraph {
    const data = this.data();
    const bindings = new Map(data.bindings.map((b) => [naturalKey(b), b]));
    const edges = new Map(data.memberships.map((e) => [`${e.member}\u0000${e.group}`, e]));
    const roles = new Map(data.roles.map((r) => [r.name, r]));
    const attributes = new Map(data.attributes);
    let declared = data.declaredActions;
    let schema = data.schema;
    const directory = new Map(data.directory);
    for (const change of changes) {
      switch (change.kind) {
        case 'binding.put': {
          const key = naturalKey(change.binding);
          const old = bindings.get(key);
          const { org: _org, ...binding } = change.binding;
          bindings.set(key, { ...binding, id: old?.id ?? `new:${++created}` });
          break;
        }
        case 'binding.delete':
          for (const [key, b] of bindings) if (b.id === change.id) bindings.delete(key);
          break;
        case 'member.add':
          if (change.org === this.org) edges.set(`${change.member}\u0000${change.group}`, { group: change.group, member: change.member });
          break;
        case 'member.remove':
          if (change.org === this.org) edges.delete(`${change.member}\u0000${change.group}`);
          break;
        case 'role.put':
          if (change.role.org === this.org) roles.set(change.role.name, change.role);
          break;
        case 'role.delete':
          if (change.org === this.org) roles.delete(change.name);
          break;
        case 'resource.put':
          if (change.org === this.org) attributes.set(change.path, change.attributes);
          break;
        case 'catalogue.put':
          if (change.org === this.org) {
            declared = change.actions;
            schema = change.schema;
          }
          break;
        case 'directory.put':
          if (change.org !== this.org) break;
          if (Object.keys(change.attributes).length === 0) directory.delete(change.subject);
          else directory.set(change.subject, change.attributes);
          break;
      }
    }
    return new OrgGraph({
      ...data,
      bindings: [...bindings.values()],
      memberships: [...edges.values()],
      roles: [...roles.values()],
      declaredActions: declared,
      schema,
      attributes,
      directory,
    });
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
