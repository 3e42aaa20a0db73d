/**
 * The effect of a change set: which subjects gain or lose which actions on which resources.
 * Computed by deciding, with the same engine as Check, every (subject, action, resource)
 * the change can touch, once on the state before and once on the state after.
 *
 * What can change. A subject's decision on a path depends only on the bindings on the path's
 * scope chain and the attributes of the resources on it, so decisions are constant between
 * "break points": the scopes of the subject's (and its groups') bindings and the resources
 * that carry attributes. Deciding at every break point at or below one of the subject's
 * binding scopes, before and after, is exhaustive.
 *
 * Conditions and expiry. A condition depends on the request, so a conditional allow is a
 * possibility and a conditional deny a possible restriction: a gain is something the subject
 * may be allowed after that it could not be before (conditions read as true for allows and
 * false for denies), a loss something it was surely allowed before and no longer surely is
 * (conditions read the other way). Expiry is read at `now`: a grant that expires is still a
 * gain; what lasts for all time is the invariants' concern (invariants.ts).
 *
 * Groups are not actors: a group's members gain and lose; an empty group's binding affects
 * nobody until a member joins, and that change is judged then.
 */
import { parseAction, parseResource } from '@warden/names';
import { type Catalogue, DEFAULT_APPROVAL_ACTIONS, DEFAULT_SENSITIVE_ACTIONS, READ_VALUE_ACTION } from './catalogue.js';
import type { Change } from './changes.js';
import { decide, type GrantView } from './engine.js';
import type { Binding, CompiledRole, DecisionKind, ResourceAttributes } from './model.js';
import type { OrgGraph } from './org-graph.js';

export interface AccessChange {
  readonly subject: string;
  readonly action: string;
  readonly resource: string;
  readonly before: DecisionKind;
  readonly after: DecisionKind;
}

export interface ChangeEffect {
  readonly gains: readonly AccessChange[];
  readonly losses: readonly AccessChange[];
}

/** What a change set can affect: the actors to decide for, the actions, and paths it names. */
export interface EffectScope {
  readonly subjects: readonly string[];
  /** undefined: every action of the catalogue. */
  readonly actions: ReadonlySet<string> | undefined;
  readonly paths: readonly string[];
  /**
   * Where decisions can change: at or below these paths (the scopes of the bindings a change
   * adds, removes or redefines, the resources whose settings it writes); undefined: anywhere.
   */
  readonly roots: readonly string[] | undefined;
}

export const RANK: Readonly<Record<DecisionKind, number>> = { DENY: 0, REQUIRES_APPROVAL: 1, ALLOW: 2 };

const isGroup = (subject: string) => subject.startsWith('group:');

function under(path: string, scope: string): boolean {
  return path === scope || path.startsWith(`${scope}/`);
}

function actionsOfBinding(graph: OrgGraph, binding: Pick<Binding, 'role' | 'actions'>): { actions: string[] | undefined } {
  if (binding.role === undefined) return { actions: graph.catalogue().expand(binding.actions ?? []) };
  const role = graph.role(graph.org, binding.role);
  // A membership role with a ceiling caps everything; an unknown role denies everything (fail closed): all actions.
  if (role === undefined || (role.membership && role.ceiling !== undefined)) return { actions: undefined };
  return { actions: graph.catalogue().expand(role.actions) };
}

function roleActions(role: CompiledRole | undefined, catalogue: Catalogue): string[] | undefined {
  if (role === undefined || role.membership) return undefined;
  return catalogue.expand(role.actions);
}

function settingActions(attrs: ResourceAttributes | undefined): string[] {
  if (attrs === undefined) return [];
  return [...(attrs.sensitive_actions ?? DEFAULT_SENSITIVE_ACTIONS), ...(attrs.approval_actions ?? DEFAULT_APPROVAL_ACTIONS), READ_VALUE_ACTION, ...(attrs.visible_from_below ?? [])];
}

/**
 * The actors, actions and paths a change set can affect, on the state before it (which must
 * hold every subject the loader's spec named: see `loadSpec`).
 */
/** The scopes of the bindings a group gives its members: its own and those of every group it is in. */
function groupScopes(graph: OrgGraph, group: string): { scopes: string[]; actions: string[] | undefined } {
  const scopes: string[] = [];
  let actions: string[] | undefined = [];
  for (const g of graph.subjectsOf(group, graph.org)) {
    for (const b of graph.bindingsOf(g)) {
      scopes.push(b.scope);
      const carried = actionsOfBinding(graph, b).actions;
      actions = carried === undefined || actions === undefined ? undefined : [...actions, ...carried];
    }
  }
  return { scopes, actions };
}

/**
 * The actors, actions and paths a change set can affect, on the state before it (which must
 * hold every subject the loader's spec named: see `graphSpec`).
 */
export function scopeOfChanges(changes: readonly Change[], before: OrgGraph, after: OrgGraph): EffectScope {
  const seeds = new Set<string>();
  let actions: Set<string> | undefined = new Set();
  let roots: Set<string> | undefined = new Set();
  const paths: string[] = [];
  const addActions = (list: readonly string[] | undefined) => {
    if (list === undefined) actions = undefined;
    else if (actions !== undefined) for (const a of list) actions.add(a);
  };
  const addRoots = (list: readonly string[] | undefined) => {
    if (list === undefined) roots = undefined;
    else if (roots !== undefined) for (const r of list) roots.add(r);
  };
  for (const change of changes) {
    switch (change.kind) {
      case 'binding.put':
        seeds.add(change.binding.subject);
        addActions(actionsOfBinding(before, change.binding).actions);
        addActions(actionsOfBinding(after, change.binding).actions);
        addRoots([change.binding.scope]);
        break;
      case 'binding.delete': {
        const binding = before.binding(change.id);
        if (binding === undefined) break;
        seeds.add(binding.subject);
        addActions(actionsOfBinding(before, binding).actions);
        addRoots([binding.scope]);
        break;
      }
      case 'member.add':
      case 'member.remove': {
        seeds.add(change.member);
        // The member gains or loses what the group (and every group it is in) gives.
        const graph = change.kind === 'member.add' ? after : before;
        const given = groupScopes(graph, change.group);
        addActions(given.actions);
        addRoots(given.scopes);
        break;
      }
      case 'role.put':
      case 'role.delete': {
        const name = change.kind === 'role.put' ? change.role.name : change.name;
        for (const s of before.subjectsBoundTo(name)) {
          seeds.add(s);
          addRoots(before.bindingsOf(s).filter((b) => b.role === name).map((b) => b.scope));
        }
        const old = roleActions(before.role(before.org, name), before.catalogue());
        const now = roleActions(after.role(after.org, name), after.catalogue());
        if (old === undefined || now === undefined) addActions(undefined);
        else addActions([...old.filter((a) => !now.includes(a)), ...now.filter((a) => !old.includes(a))]);
        break;
      }
      case 'directory.put':
        // Owner-only (governance.ts): its effect on conditions is not computed.
        break;
      case 'catalogue.put': {
        for (const s of before.subjects()) seeds.add(s);
        const old = before.catalogue().actions;
        const now = after.catalogue().actions;
        addActions([...old.filter((a) => !now.includes(a)), ...now.filter((a) => !old.includes(a))]);
        addRoots(undefined);
        break;
      }
      case 'resource.put': {
        paths.push(change.path);
        for (const s of before.subjects()) {
          if (before.bindingsOf(s).some((b) => under(change.path, b.scope) || under(b.scope, change.path))) seeds.add(s);
        }
        addActions([...settingActions(before.attributes(change.path)), ...settingActions(change.attributes)]);
        addRoots([change.path]);
        break;
      }
    }
  }
  // A binding anywhere below a `visible_from_below` resource changes what it allows there.
  if (actions !== undefined) addActions([...before.visibleActions(), ...after.visibleActions()]);
  const subjects = new Set<string>();
  for (const seed of seeds) {
    subjects.add(seed);
    for (const graph of [before, after]) for (const member of graph.members(seed)) subjects.add(member);
  }
  const finalRoots: Set<string> | undefined = roots;
  return { subjects: [...subjects].filter((s) => !isGroup(s)).sort(), actions, paths, roots: finalRoots === undefined ? undefined : [...finalRoots] };
}

/** Actions a resource's rules single out (sensitive, approval, read_value): the only ones that can differ at a path that is not a binding scope. */
export function ruleActions(graph: OrgGraph, path: string): Set<string> {
  const out = new Set<string>();
  for (let at = path.indexOf('/'); ; at = path.indexOf('/', at + 1)) {
    const prefix = at < 0 ? path : path.slice(0, at);
    const attrs = graph.attributes(prefix);
    if (attrs !== undefined) {
      if (attrs.protected === true) for (const a of attrs.sensitive_actions ?? DEFAULT_SENSITIVE_ACTIONS) out.add(a);
      if (attrs.require_approval === true) for (const a of attrs.approval_actions ?? DEFAULT_APPROVAL_ACTIONS) out.add(a);
      if (attrs.show_values_to_readers !== undefined) out.add(READ_VALUE_ACTION);
      if (path.includes('/')) for (const a of attrs.visible_from_below ?? []) out.add(a);
    }
    if (at < 0) break;
  }
  return out;
}

/** A view that reads every condition one way: `max` allows what may be allowed, `min` what surely is. */
class Bounded implements GrantView {
  private readonly memo = new Map<string, readonly Binding[]>();
  readonly revision: number;
  constructor(
    private readonly inner: OrgGraph,
    private readonly mode: 'max' | 'min',
  ) {
    this.revision = inner.revision;
  }
  subjectsOf(subject: string, org: string) {
    return this.inner.subjectsOf(subject, org);
  }
  role(org: string, name: string) {
    return this.inner.role(org, name);
  }
  attributes(path: string) {
    return this.inner.attributes(path);
  }
  catalogue() {
    return this.inner.catalogue();
  }
  directory(org: string, subject: string) {
    return this.inner.directory(org, subject);
  }
  bindingsAt(subject: string, scope: string): readonly Binding[] {
    return this.bounded(`${subject}\u0000${scope}`, () => this.inner.bindingsAt(subject, scope));
  }
  bindingsBelow(subject: string, path: string): readonly Binding[] {
    return this.bounded(`${subject}\u0000${path}\u0000below`, () => this.inner.bindingsBelow(subject, path));
  }
  private bounded(key: string, read: () => readonly Binding[]): readonly Binding[] {
    let found = this.memo.get(key);
    if (found === undefined) {
      const list: Binding[] = [];
      for (const b of read()) {
        if (b.condition === undefined) list.push(b);
        else if ((b.effect === 'allow') === (this.mode === 'max')) list.push({ ...b, condition: undefined });
      }
      found = list;
      this.memo.set(key, found);
    }
    return found;
  }
}

/** Decisions of one state, both ways of reading conditions, remembered. */
export class Decider {
  private readonly max: Bounded;
  private readonly min: Bounded;
  private readonly memo = new Map<string, number>();
  constructor(
    readonly graph: OrgGraph,
    private readonly now: number,
  ) {
    this.max = new Bounded(graph, 'max');
    this.min = new Bounded(graph, 'min');
  }

  decision(mode: 'max' | 'min', subject: string, action: string, path: string): DecisionKind {
    const key = `${mode}\u0000${subject}\u0000${action}\u0000${path}`;
    let rank = this.memo.get(key);
    if (rank === undefined) {
      const view = mode === 'max' ? this.max : this.min;
      rank = RANK[decide(view, { subject, action: parseAction(action), resource: parseResource(path) }, this.now).decision];
      this.memo.set(key, rank);
    }
    return rank === 2 ? 'ALLOW' : rank === 1 ? 'REQUIRES_APPROVAL' : 'DENY';
  }

  /** The scopes of a subject's (and its groups') bindings. */
  scopes(subject: string): Set<string> {
    const scopes = new Set<string>();
    for (const s of this.graph.subjectsOf(subject, this.graph.org)) for (const b of this.graph.bindingsOf(s)) scopes.add(b.scope);
    return scopes;
  }

  /**
   * The break points of a subject at or below `roots` (anywhere when undefined): its binding
   * scopes and the attributed resources at or below them, and `extra` paths below them.
   */
  paths(subject: string, extra: readonly string[], roots?: readonly string[]): string[] {
    const scopes = [...this.scopes(subject)];
    const out = new Set(scopes);
    for (const path of [...this.graph.attributedPaths(), ...extra]) if (scopes.some((scope) => under(path, scope))) out.add(path);
    // With `visible_from_below` in the organization, a binding also decides above its scope.
    const upward = this.graph.visibleActions().length > 0;
    if (upward) for (const scope of scopes) for (const above of ancestors(scope)) out.add(above);
    if (roots === undefined) return [...out];
    return [...out].filter((path) => roots.some((root) => under(path, root) || (upward && under(root, path))));
  }
}

/** The strict ancestors of a path below the organization (the organization itself excluded). */
function ancestors(path: string): string[] {
  const out: string[] = [];
  const first = path.indexOf('/');
  if (first < 0) return out;
  for (let at = path.indexOf('/', first + 1); at >= 0; at = path.indexOf('/', at + 1)) out.push(path.slice(0, at));
  return out;
}

export function computeEffect(before: Decider, after: Decider, scope: EffectScope): ChangeEffect {
  const gains: AccessChange[] = [];
  const losses: AccessChange[] = [];
  const actions = scope.actions !== undefined ? [...scope.actions].sort() : [...new Set([...before.graph.catalogue().actions, ...after.graph.catalogue().actions])].sort();
  for (const subject of scope.subjects) {
    const scopes = new Set([...before.scopes(subject), ...after.scopes(subject), ...(scope.roots ?? [])]);
    const paths = [...new Set([...before.paths(subject, scope.paths, scope.roots), ...after.paths(subject, scope.paths, scope.roots)])].sort();
    for (const path of paths) {
      // Below a binding scope, only the actions a resource rule singles out can differ from the scope's decision.
      let at: readonly string[] = actions;
      if (!scopes.has(path)) {
        const ruled = new Set([...ruleActions(before.graph, path), ...ruleActions(after.graph, path)]);
        at = actions.filter((a) => ruled.has(a));
      }
      for (const action of at) {
        const wasMax = before.decision('max', subject, action, path);
        const isMax = after.decision('max', subject, action, path);
        if (RANK[isMax] > RANK[wasMax]) gains.push({ subject, action, resource: path, before: wasMax, after: isMax });
        const wasMin = before.decision('min', subject, action, path);
        const isMin = after.decision('min', subject, action, path);
        if (RANK[isMin] < RANK[wasMin]) losses.push({ subject, action, resource: path, before: wasMin, after: isMin });
      }
    }
  }
  return { gains, losses };
}
