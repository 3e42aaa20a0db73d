/**
 * Pure helpers over the grant graph that every GrantView implementation shares: the group
 * closure of a subject and the canonical order of a view's indexes.
 */
import type { Binding } from './model.js';

/**
 * The subject that stands for every subject of `subject`'s type (`user:*` for `user:sarah`):
 * a binding naming it applies to each of them. Undefined for a wildcard itself.
 */
export function wildcardOf(subject: string): string | undefined {
  const colon = subject.indexOf(':');
  return colon < 0 || subject.endsWith(':*') ? undefined : `${subject.slice(0, colon)}:*`;
}

/**
 * The subject, every group reachable from it, and last the wildcard of its type; visits each
 * once, so cycles end.
 */
export function closure(subject: string, groupsOf: (subject: string) => readonly string[]): string[] {
  const seen = new Set<string>([subject]);
  const order = [subject];
  for (let i = 0; i < order.length; i++) {
    for (const group of groupsOf(order[i]!)) {
      if (!seen.has(group)) {
        seen.add(group);
        order.push(group);
      }
    }
  }
  const wildcard = wildcardOf(subject);
  if (wildcard !== undefined && !seen.has(wildcard)) order.push(wildcard);
  return order;
}

/**
 * Puts a view's indexes in a canonical order (bindings by effect then grant, groups
 * by name), so every store answers with the same reason whatever order its rows came in.
 */
export function sortViewIndexes(bindings: Map<string, Binding[]>, groups: Map<string, string[]>): void {
  const key = (b: Binding) => `${b.effect}\u0000${b.role ?? `~${(b.actions ?? []).join(',')}`}`;
  for (const list of bindings.values()) list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  for (const list of groups.values()) list.sort();
}

/**
 * The bindings strictly below `path` among a subject's bindings by scope (a view's
 * `bindingsBelow`): scopes that start with `path/`.
 */
export function bindingsBelowIn(byScope: ReadonlyMap<string, readonly Binding[]> | undefined, path: string): readonly Binding[] {
  if (byScope === undefined) return [];
  const prefix = `${path}/`;
  let scopes: string[] | undefined;
  for (const scope of byScope.keys()) if (scope.startsWith(prefix)) (scopes ??= []).push(scope);
  if (scopes === undefined) return [];
  // In scope order, so every view names the same binding as the reason.
  return scopes.sort().flatMap((scope) => byScope.get(scope)!);
}

/** A view's bindings keyed `subject\u0000scope`, regrouped per subject (for `bindingsBelow`). */
export function scopesBySubject(bindings: ReadonlyMap<string, readonly Binding[]>): Map<string, Map<string, readonly Binding[]>> {
  const out = new Map<string, Map<string, readonly Binding[]>>();
  for (const [key, list] of bindings) {
    const cut = key.indexOf('\u0000');
    const subject = key.slice(0, cut);
    let scopes = out.get(subject);
    if (scopes === undefined) out.set(subject, (scopes = new Map()));
    scopes.set(key.slice(cut + 1), list);
  }
  return out;
}
