/**
 * World files, governed. A world file seeds: it creates, and it updates what it names, but it
 * never removes anything and never silently undoes a change made through the admin API.
 *
 *  - `seed` (start-up, `--world`): an organization that does not exist yet is created as the
 *    file says; one that exists is left alone and its drift from the file is reported.
 *  - `applyWorld` (`warden apply FILE`, the ApplyWorld RPC): per organization, the plan (the
 *    effect of the file's changes, judged like any other change by the caller's own rights;
 *    creating an organization needs a platform administrator) and the drift; with `apply`,
 *    every organization's changes, or none if any is refused.
 */
import { FailedPreconditionError, PermissionDeniedError } from '@warden/errors';
import type { Caller } from '../domain/caller.js';
import { changesOfWorld, type Change } from '../domain/changes.js';
import type { ChangeEffect } from '../domain/effect.js';
import { brokenInvariant } from '../domain/invariants.js';
import { OrgGraph } from '../domain/org-graph.js';
import { grantKey, type World } from '../domain/world.js';
import { parseWorldText } from '../domain/world-text.js';
import canonicalize from 'canonicalize';
import type { GrantQueries, GrantWriter, WriteResult } from '../ports.js';
import type { CallOptions } from './call.js';
import type { GovernedWrite } from './governed-write.js';
import { reasonOf } from './admin-plans.js';

export interface DriftItem {
  /** binding, member, role, resource or catalogue. */
  readonly kind: string;
  readonly key: string;
  readonly detail: string;
}

export interface OrgPlan {
  readonly org: string;
  readonly create: boolean;
  readonly effect: ChangeEffect;
  readonly drift: readonly DriftItem[];
  readonly allowed: boolean;
  readonly refusal: string | undefined;
  readonly brokenInvariant: string | undefined;
  /** Changes the file makes (upserts of what differs), before applying. */
  readonly changes: number;
}

export interface WorldApplyDeps {
  readonly queries: GrantQueries;
  readonly writer: GrantWriter;
  readonly governed: GovernedWrite;
  readonly isPlatformAdmin: (caller: Caller) => boolean;
  readonly onWrite: (result: WriteResult) => unknown;
}

/** The changes of one organization of a world. */
function changesOf(world: World, org: string): Change[] {
  return changesOfWorld(world).filter((c) => {
    switch (c.kind) {
      case 'binding.put':
        return c.binding.org === org;
      case 'role.put':
        return c.role.org === org;
      case 'binding.delete':
        return false;
      case 'request.put':
        return c.request.org === org;
      default:
        return c.org === org;
    }
  });
}

function orgsOf(world: World): string[] {
  return [...new Set(world.resources.filter((r) => !r.path.includes('/')).map((r) => r.org))];
}

/** Equal as JSON values, whatever the key order (JSONB keeps its own). */
const same = (a: unknown, b: unknown) => canonicalize(a ?? null) === canonicalize(b ?? null);

/** What the store holds that the file does not say, or says otherwise (the file would not remove it). */
export function driftOf(store: OrgGraph, changes: readonly Change[]): DriftItem[] {
  const drift: DriftItem[] = [];
  const fileBindings = new Set(changes.flatMap((c) => (c.kind === 'binding.put' ? [`${c.binding.subject} ${c.binding.scope} ${c.binding.effect} ${grantKey(c.binding)}`] : [])));
  for (const subject of store.subjects()) {
    for (const b of store.bindingsOf(subject)) {
      const key = `${b.subject} ${b.scope} ${b.effect} ${grantKey(b)}`;
      if (!fileBindings.has(key)) drift.push({ kind: 'binding', key: b.id, detail: `${b.effect} ${b.role ?? `[${(b.actions ?? []).join(', ')}]`} for ${b.subject} on ${b.scope} is not in the file` });
    }
  }
  const fileEdges = new Set(changes.flatMap((c) => (c.kind === 'member.add' ? [`${c.group}<-${c.member}`] : [])));
  for (const group of store.subjects().filter((s) => s.startsWith('group:'))) {
    for (const member of store.directMembers(group)) {
      if (!fileEdges.has(`${group}<-${member}`)) drift.push({ kind: 'member', key: `${group}<-${member}`, detail: `${member} is in ${group}, which the file does not say` });
    }
  }
  const fileRoles = new Map(changes.flatMap((c) => (c.kind === 'role.put' ? [[c.role.name, c.role] as const] : [])));
  for (const role of store.customRoles()) {
    const mine = fileRoles.get(role.name);
    if (mine === undefined) drift.push({ kind: 'role', key: role.name, detail: `role ${role.name} is not in the file` });
    else if (!same([...mine.actions].sort(), [...role.actions].sort())) drift.push({ kind: 'role', key: role.name, detail: `role ${role.name} differs: the store has [${role.actions.join(', ')}]` });
  }
  const fileResources = new Map(changes.flatMap((c) => (c.kind === 'resource.put' ? [[c.path, c.attributes] as const] : [])));
  for (const path of store.attributedPaths()) {
    const mine = fileResources.get(path);
    if (mine === undefined) drift.push({ kind: 'resource', key: path, detail: `${path} has settings the file does not name` });
    else if (!same(mine, store.attributes(path))) drift.push({ kind: 'resource', key: path, detail: `${path}'s settings differ from the file's` });
  }
  const fileCatalogue = changes.find((c) => c.kind === 'catalogue.put');
  const declared = store.catalogue().declared;
  if (declared.length > 0 && (fileCatalogue === undefined || !same([...fileCatalogue.actions].sort(), [...declared].sort()))) {
    drift.push({ kind: 'catalogue', key: store.org, detail: `the organization declares [${declared.join(', ')}]` });
  }
  const schema = store.catalogue().schema;
  if ((schema.subjectTypes.length > 0 || schema.resourceTypes.length > 0) && (fileCatalogue === undefined || !same(fileCatalogue.schema, schema))) {
    drift.push({ kind: 'catalogue', key: store.org, detail: 'the organization declares subject or resource types the file does not' });
  }
  return drift;
}

/** The file's changes that would write something (the rest are already so). */
export function pendingChanges(store: OrgGraph, changes: readonly Change[], existing: ReadonlySet<string>): Change[] {
  const bindings = new Map<string, unknown>();
  for (const subject of store.subjects()) {
    for (const b of store.bindingsOf(subject)) bindings.set(`${b.subject} ${b.scope} ${b.effect} ${grantKey(b)}`, [b.expiresAt?.getTime(), b.condition, b.reason]);
  }
  return changes.filter((c) => {
    switch (c.kind) {
      case 'binding.put': {
        const b = c.binding;
        return !same(bindings.get(`${b.subject} ${b.scope} ${b.effect} ${grantKey(b)}`), [b.expiresAt?.getTime(), b.condition, b.reason]);
      }
      case 'member.add':
        return !store.directMembers(c.group).includes(c.member);
      case 'role.put': {
        const role = store.customRole(c.role.name);
        return role === undefined || !same([role.actions, role.membership, role.ceiling ?? null, role.description ?? null], [c.role.actions, c.role.membership, c.role.ceiling ?? null, c.role.description ?? null]);
      }
      case 'resource.put':
        return !existing.has(c.path) || !same(store.attributes(c.path) ?? {}, c.attributes);
      case 'catalogue.put':
        return !same([...store.catalogue().declared].sort(), [...c.actions].sort()) || !same(store.catalogue().schema, c.schema);
      case 'directory.put':
        return !same(store.directory(store.org, c.subject) ?? {}, c.attributes);
      default:
        return true;
    }
  });
}

export function createWorldApply(deps: WorldApplyDeps) {
  async function storeOf(org: string, signal?: AbortSignal): Promise<OrgGraph> {
    return deps.queries.orgGraph({ org, subjects: [], roles: [], near: [`org:${org}`], owners: true }, signal);
  }

  async function plan(caller: Caller, world: World, signal?: AbortSignal): Promise<OrgPlan[]> {
    const plans: OrgPlan[] = [];
    for (const org of orgsOf(world)) {
      const changes = changesOf(world, org);
      if (!(await deps.queries.orgExists(org, signal))) {
        const empty = new OrgGraph({ org, revision: 0, bindings: [], memberships: [], roles: [], declaredActions: [], attributes: new Map() });
        const broken = brokenInvariant(empty.withChanges(changes), Date.now());
        const platform = deps.isPlatformAdmin(caller);
        plans.push({
          org, create: true, effect: { gains: [], losses: [] }, drift: [], changes: changes.length,
          allowed: platform && broken === undefined,
          refusal: platform ? undefined : `${caller.subject} may not create org:${org} (only platform administrators may)`,
          brokenInvariant: broken,
        });
        continue;
      }
      const store = await storeOf(org, signal);
      const existing = await deps.queries.existingResources(changes.flatMap((c) => (c.kind === 'resource.put' ? [c.path] : [])), signal);
      const pending = pendingChanges(store, changes, existing);
      const preview = await deps.governed.preview(caller, org, pending);
      plans.push({
        org, create: false, effect: preview.effect, drift: driftOf(store, changes),
        allowed: preview.allowed, refusal: preview.refusal, brokenInvariant: preview.brokenInvariant,
        changes: pending.length,
      });
    }
    return plans;
  }

  return {
    async applyWorld(caller: Caller, input: { world: string; reason?: string | undefined; apply: boolean }, options: CallOptions = {}): Promise<{ orgs: OrgPlan[]; applied: boolean; revision: number }> {
      if (caller.kind === 'trusted_local') throw new PermissionDeniedError('a trusted local caller may check and look up, not administer: authenticate with a key or token');
      const world = parseWorldText(input.world, 'world');
      const orgs = plan(caller, world, options.signal);
      const plans = await orgs;
      for (const p of plans) {
        if (caller.kind === 'api_key' && p.org !== caller.org) throw new PermissionDeniedError(`world: the API key of ${caller.subject} acts only within org:${caller.org}, not org:${p.org}`);
      }
      if (!input.apply) return { orgs: plans, applied: false, revision: await deps.queries.revision(options.signal) };
      const refused = plans.find((p) => !p.allowed);
      if (refused !== undefined) {
        if (refused.brokenInvariant !== undefined) throw new FailedPreconditionError(`org:${refused.org}: ${refused.brokenInvariant}`);
        throw new PermissionDeniedError(`org:${refused.org}: ${refused.refusal ?? 'refused'}`);
      }
      let revision = 0;
      const meta = { actor: caller.subject, reason: reasonOf(input.reason) };
      for (const p of plans) {
        const changes = changesOf(world, p.org);
        const pending = p.create ? changes : pendingChanges(await storeOf(p.org, options.signal), changes, await deps.queries.existingResources(changes.flatMap((c) => (c.kind === 'resource.put' ? [c.path] : [])), options.signal));
        if (pending.length === 0) continue;
        const result = p.create ? await deps.writer.apply(changes, meta) : await deps.governed.apply(caller, p.org, pending, meta);
        deps.onWrite(result);
        revision = Math.max(revision, result.revision);
      }
      return { orgs: plans, applied: true, revision };
    },

  };
}

export type WorldApply = ReturnType<typeof createWorldApply>;

/** What start-up seeding did for one organization: `pending` counts the file's changes the store lacks (a plan would write them), `drift` what the store has that the file does not say. */
export interface SeedResult {
  readonly org: string;
  readonly created: boolean;
  readonly revision: number;
  readonly drift: readonly DriftItem[];
  readonly pending: number;
}

/**
 * Start-up seeding (`--world`): creates the organizations that do not exist yet; reports the
 * drift of the others and changes nothing there.
 */
export async function seedWorld(
  queries: GrantQueries,
  writer: GrantWriter,
  world: World,
  meta: { actor: string; reason: string },
): Promise<SeedResult[]> {
  const out: SeedResult[] = [];
  for (const org of orgsOf(world)) {
    const changes = changesOf(world, org);
    if (await queries.orgExists(org)) {
      const store = await queries.orgGraph({ org, subjects: [], roles: [], near: [`org:${org}`], owners: true });
      const existing = await queries.existingResources(changes.flatMap((c) => (c.kind === 'resource.put' ? [c.path] : [])));
      out.push({ org, created: false, revision: await queries.revision(), drift: driftOf(store, changes), pending: pendingChanges(store, changes, existing).length });
      continue;
    }
    const empty = new OrgGraph({ org, revision: 0, bindings: [], memberships: [], roles: [], declaredActions: [], attributes: new Map() });
    const broken = brokenInvariant(empty.withChanges(changes), Date.now());
    if (broken !== undefined) throw new FailedPreconditionError(`world file: ${broken}`);
    const result = await writer.apply(changes, meta);
    out.push({ org, created: true, revision: result.revision, drift: [], pending: 0 });
  }
  return out;
}
