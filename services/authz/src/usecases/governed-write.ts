/**
 * Every management write goes through here: its change set is judged by its effect
 * (domain/governance.ts) inside the write's transaction, under the writers' lock, on the state
 * the write will change — so what is judged is what is written, and two concurrent changes
 * cannot each pass a check the pair would fail. A preview runs the same judgement on the
 * newest committed state and writes nothing.
 */
import { FailedPreconditionError, PermissionDeniedError } from '@warden/errors';
import type { Caller } from '../domain/caller.js';
import type { Change } from '../domain/changes.js';
import type { AccessChange, ChangeEffect } from '../domain/effect.js';
import { judgeBreakGlass } from '../domain/break-glass.js';
import { judgeChange, judgeCredential, type Judgement } from '../domain/governance.js';
import { graphSpec } from '../domain/graph-spec.js';
import type { OrgGraph } from '../domain/org-graph.js';
import type { GraphReader, GrantQueries, GrantWriter, WriteMeta, WriteResult } from '../ports.js';

export interface Preview {
  readonly effect: ChangeEffect;
  readonly loosened: Judgement['loosened'];
  readonly allowed: boolean;
  readonly refusal: string | undefined;
  readonly brokenInvariant: string | undefined;
  readonly revision: number;
}

export interface GovernedWriteDeps {
  readonly writer: GrantWriter;
  readonly queries: GrantQueries;
  readonly now: () => number;
  /** Platform administrators act in any organization without holding its grants; invariants still hold. */
  readonly isPlatformAdmin: (caller: Caller) => boolean;
}

function refusalOf(judgement: Judgement): Error | undefined {
  const { verdict } = judgement;
  if (verdict.ok) return undefined;
  return verdict.kind === 'invariant' ? new FailedPreconditionError(verdict.problem) : new PermissionDeniedError(verdict.problem);
}

export function previewOf(judgement: Judgement, revision: number): Preview {
  const { verdict } = judgement;
  return {
    effect: judgement.effect,
    loosened: judgement.loosened,
    allowed: verdict.ok,
    refusal: !verdict.ok && verdict.kind === 'permission' ? verdict.problem : undefined,
    brokenInvariant: !verdict.ok && verdict.kind === 'invariant' ? verdict.problem : undefined,
    revision,
  };
}

export function createGovernedWrite(deps: GovernedWriteDeps) {
  /** The graph a change set needs, read through `read` (inside a write, or for a preview). */
  async function graphFor(caller: Caller, org: string, changes: readonly Change[], reader: Pick<GraphReader, 'binding' | 'orgGraph'>): Promise<OrgGraph> {
    const deleted = new Map<string, string>();
    for (const change of changes) {
      if (change.kind !== 'binding.delete') continue;
      const stored = await reader.binding(change.id);
      if (stored !== undefined) deleted.set(change.id, stored.binding.subject);
    }
    return reader.orgGraph(graphSpec(org, caller.subject, changes, (id) => deleted.get(id)));
  }

  function judge(caller: Caller, changes: readonly Change[], graph: OrgGraph): Judgement {
    const judgement = judgeChange({ caller: caller.subject, changes, before: graph, now: deps.now() });
    if (judgement.verdict.ok || !deps.isPlatformAdmin(caller) || judgement.verdict.kind === 'invariant') return judgement;
    return { ...judgement, verdict: { ok: true } };
  }

  return {
    /** Applies `changes` in `org` if the caller may cause their effect; `extra` runs first under the same lock. */
    apply(caller: Caller, org: string, changes: readonly Change[], meta: WriteMeta, extra?: (state: GraphReader) => Promise<void>): Promise<WriteResult> {
      return deps.writer.apply(changes, meta, async (state) => {
        await extra?.(state);
        const refusal = refusalOf(judge(caller, changes, await graphFor(caller, org, changes, state)));
        if (refusal !== undefined) throw refusal;
      });
    },

    /**
     * A break-glass grant (domain/break-glass.ts): the caller takes access for itself at `scope`
     * until `until`, judged by that rule instead of "could grant it" — never by a platform override.
     */
    applyBreakGlass(caller: Caller, org: string, scope: string, until: number, changes: readonly Change[], meta: WriteMeta, extra?: (state: GraphReader) => Promise<void>): Promise<WriteResult> {
      return deps.writer.apply(changes, meta, async (state) => {
        await extra?.(state);
        const graph = await graphFor(caller, org, changes, state);
        const refusal = refusalOf(judgeBreakGlass({ caller: caller.subject, scope, until, changes, before: graph, now: deps.now() }));
        if (refusal !== undefined) throw refusal;
      });
    },

    /** The same judgement on the newest committed state; writes nothing. */
    async preview(caller: Caller, org: string, changes: readonly Change[]): Promise<Preview> {
      const graph = await graphFor(caller, org, changes, {
        binding: (id) => deps.queries.binding(id),
        orgGraph: (spec) => deps.queries.orgGraph(spec),
      });
      return previewOf(judge(caller, changes, graph), graph.revision);
    },

    /** Minting a credential for `subject`: the caller gains all of it. */
    async judgeCredential(caller: Caller, org: string, subject: string): Promise<Judgement> {
      const graph = await deps.queries.orgGraph({ org, subjects: [caller.subject, subject], roles: [], near: [], owners: true });
      const judgement = judgeCredential({ caller: caller.subject, subject, graph, now: deps.now() });
      if (!judgement.verdict.ok && deps.isPlatformAdmin(caller)) return { ...judgement, verdict: { ok: true } };
      return judgement;
    },

    refusalOf,
  };
}

export type GovernedWrite = ReturnType<typeof createGovernedWrite>;

/** At most this many gains and losses each go back to a caller; the totals stay exact. */
export const MAX_LISTED = 10_000;

export function listed(changes: readonly AccessChange[]): readonly AccessChange[] {
  return changes.length > MAX_LISTED ? changes.slice(0, MAX_LISTED) : changes;
}
