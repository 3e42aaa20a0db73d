/**
 * The Check use case, one pipeline for a single check and a batch: validate, read consistent
 * views from the grant source (in-process views when every request is a local hit, else one
 * assembled view), enforce the caller's right to ask, decide. Transport-free: api/grpc and
 * api/http call it with the same shape, `(caller, input, { consistency, signal })`.
 */
import { InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import { parseAction, parseResource } from '@warden/names';
import type { Catalogue } from '../domain/catalogue.js';
import type { Caller } from '../domain/caller.js';
import { MAX_BATCH, validateBatch, validateCheck } from '../domain/check.js';
import { decide, type GrantView, type ValidCheck } from '../domain/engine.js';
import type { CheckInput, CheckResult } from '../domain/model.js';
import { WithTokenGroups } from './token-groups.js';
import { BATCH, countDecision, instruments, SINGLE } from '../instruments.js';
import type { GrantSource, ViewRequest } from '../ports.js';
import { NO_OPTIONS, type CallOptions } from './call.js';

export interface Authorizer {
  /** Decides one check; the caller's right to ask is enforced too (see `callerMayAsk`). */
  check(caller: Caller, input: CheckInput, options?: CallOptions): Promise<CheckResult>;
  checkBatch(caller: Caller, inputs: readonly CheckInput[], options?: CallOptions): Promise<{ results: CheckResult[]; revision: number }>;
  /**
   * Decides each check on its own: an item that is invalid (InvalidArgumentError) or that the
   * caller may not ask about (PermissionDeniedError) is that item's error; the rest are decided
   * (AuthZEN batches, §7.2).
   */
  checkEach(caller: Caller, inputs: readonly CheckInput[], options?: CallOptions): Promise<ReadonlyArray<CheckResult | ItemError>>;
  /** The organization's catalogue (actions, subject and resource types) at the newest revision this source has. */
  catalogueOf(caller: Caller, org: string, options?: CallOptions): Promise<Catalogue>;
}

/** One item of a batch that could not be decided. */
export interface ItemError {
  readonly error: InvalidArgumentError | PermissionDeniedError;
}

/** The action a caller needs on a resource to ask about subjects other than itself. */
export const CHECK_OTHERS_ACTION = 'authz:check';
const CHECK_OTHERS = parseAction(CHECK_OTHERS_ACTION);

/**
 * A caller may ask about itself; about any other subject only if it holds `authz:check` on
 * the resource. An API key acts only inside its organization. A trusted local caller
 * (sidecar mode, in-process use) may ask anything.
 */
export function callerMayAsk(view: GrantView, caller: Caller, check: ValidCheck, at: number, field: string): void {
  if (caller.kind === 'trusted_local') return;
  if (caller.kind === 'api_key' && check.resource.org !== caller.org) {
    throw new PermissionDeniedError(`${field}: the API key of ${caller.subject} acts only within org:${caller.org}`);
  }
  if (check.subject === caller.subject) return;
  const may = decide(view, { subject: caller.subject, action: CHECK_OTHERS, resource: check.resource }, at);
  if (may.decision !== 'ALLOW') {
    throw new PermissionDeniedError(`${field}: ${caller.subject} may ask only about itself here; asking about ${check.subject} needs ${CHECK_OTHERS_ACTION} on ${check.resource.path}`);
  }
}

export interface AuthorizerOptions {
  readonly source: GrantSource;
  /** Milliseconds since the epoch; injectable for tests of expiry. */
  readonly now?: () => number;
}

const SINGLE_FIELD = (): string => 'subject';
/** Stands in for an item that is not decided (never returned). */
const FORBIDDEN_PLACEHOLDER: CheckResult = Object.freeze({ decision: 'DENY', reason: Object.freeze({ code: 'NO_BINDING', message: '' }), revision: 0 });
const BATCH_FIELD = (index: number): string => `checks[${index}]`;

export function createAuthorizer({ source, now = Date.now }: AuthorizerOptions): Authorizer {
  async function evaluate(
    caller: Caller,
    checks: readonly ValidCheck[],
    options: CallOptions,
    field: (index: number) => string,
    forbidden?: Array<PermissionDeniedError | undefined>,
  ): Promise<{ results: CheckResult[]; revision: number }> {
    const { consistency, signal } = options;
    const requests: ViewRequest[] = [];
    for (const check of checks) requests.push({ subject: check.subject, resource: check.resource });
    // For a check about another subject, the request (index) holding the caller's own graph on its resource.
    let askers: number[] | undefined;
    if (caller.kind !== 'trusted_local') {
      for (let i = 0; i < checks.length; i++) {
        const check = checks[i]!;
        if (check.subject === caller.subject) continue;
        (askers ??= [])[i] = requests.length;
        requests.push({ subject: caller.subject, resource: check.resource });
      }
    }
    // A token's groups (AUTHZ_JWT_GROUPS_CLAIM): in checks about the token's own subject, each
    // group joins the subject's closure for this request; their units are read like any subject's.
    let tokenGroups: Array<number[] | undefined> | undefined;
    if (caller.kind === 'jwt' && caller.groups !== undefined && caller.groups.length > 0) {
      for (let i = 0; i < checks.length; i++) {
        const check = checks[i]!;
        if (check.subject !== caller.subject) continue;
        const at: number[] = [];
        for (const group of caller.groups) {
          at.push(requests.length);
          requests.push({ subject: group, resource: check.resource });
        }
        (tokenGroups ??= [])[i] = at;
      }
    }
    // Every request an in-process hit: each check is decided over its own view (no I/O, one revision).
    const local = source.localViews?.(requests, consistency);
    let views: readonly GrantView[];
    if (local !== undefined && local.length > 0) {
      views = local;
    } else {
      const view = await source.view(requests, signal, consistency);
      if (consistency?.kind === 'at_least_revision' && view.revision < consistency.revision) {
        throw new InvalidArgumentError('consistency.at_least_revision', `revision ${consistency.revision} is newer than the newest committed revision ${view.revision}`);
      }
      views = requests.map(() => view);
    }
    if (tokenGroups !== undefined && caller.kind === 'jwt') {
      const groups = caller.groups!;
      const withGroups = [...views];
      for (const [i, at] of tokenGroups.entries()) {
        if (at !== undefined) withGroups[i] = new WithTokenGroups(views[i]!, caller.subject, groups, at.map((j) => views[j]!));
      }
      views = withGroups;
    }
    const revision = views[0]!.revision;
    const at = now();
    if (forbidden === undefined) {
      for (let i = 0; i < checks.length; i++) callerMayAsk(views[askers?.[i] ?? i]!, caller, checks[i]!, at, field(i));
    } else {
      for (let i = 0; i < checks.length; i++) {
        try {
          callerMayAsk(views[askers?.[i] ?? i]!, caller, checks[i]!, at, field(i));
        } catch (error) {
          if (!(error instanceof PermissionDeniedError)) throw error;
          forbidden[i] = error;
        }
      }
    }
    const results: CheckResult[] = [];
    for (let i = 0; i < checks.length; i++) {
      if (forbidden?.[i] !== undefined) {
        results.push(FORBIDDEN_PLACEHOLDER);
        continue;
      }
      const { decision, reason } = decide(views[i]!, checks[i]!, at);
      results.push({ decision, reason, revision });
    }
    return { results, revision };
  }

  return {
    // Each records the time taken and each decision (metrics through @opentelemetry/api).
    async check(caller, input, options = NO_OPTIONS) {
      const started = performance.now();
      const { results } = await evaluate(caller, [validateCheck(input)], options, SINGLE_FIELD);
      const result = results[0]!;
      instruments().checkDuration.record((performance.now() - started) / 1000, SINGLE);
      countDecision(result.decision, result.reason.code);
      return result;
    },
    async checkBatch(caller, inputs, options = NO_OPTIONS) {
      const started = performance.now();
      const outcome = await evaluate(caller, validateBatch(inputs), options, BATCH_FIELD);
      instruments().checkDuration.record((performance.now() - started) / 1000, BATCH);
      for (const result of outcome.results) countDecision(result.decision, result.reason.code);
      return outcome;
    },
    async checkEach(caller, inputs, options = NO_OPTIONS) {
      const started = performance.now();
      if (inputs.length > MAX_BATCH) throw new InvalidArgumentError('evaluations', `holds ${inputs.length} items; at most ${MAX_BATCH} are allowed`);
      const out: Array<CheckResult | ItemError> = [];
      const valid: ValidCheck[] = [];
      const at: number[] = [];
      for (const [i, input] of inputs.entries()) {
        try {
          valid.push(validateCheck(input));
          at.push(i);
          out.push(FORBIDDEN_PLACEHOLDER);
        } catch (error) {
          if (!(error instanceof InvalidArgumentError)) throw error;
          out.push({ error });
        }
      }
      if (valid.length === 0) return out;
      const forbidden: Array<PermissionDeniedError | undefined> = [];
      const { results } = await evaluate(caller, valid, options, (i) => `evaluations[${at[i]}]`, forbidden);
      for (const [j, result] of results.entries()) {
        const denied = forbidden[j];
        out[at[j]!] = denied === undefined ? result : { error: denied };
        if (denied === undefined) countDecision(result.decision, result.reason.code);
      }
      instruments().checkDuration.record((performance.now() - started) / 1000, BATCH);
      return out;
    },
    async catalogueOf(caller, org, options = NO_OPTIONS) {
      const requests: ViewRequest[] = [{ subject: caller.subject, resource: parseResource(`org:${org}`, 'org') }];
      const view = source.localViews?.(requests, options.consistency)?.[0] ?? (await source.view(requests, options.signal, options.consistency));
      return view.catalogue(org);
    },
  };
}
