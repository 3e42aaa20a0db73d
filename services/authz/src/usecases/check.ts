/**
 * The Check use case: validate, read a consistent view from the grant source, decide.
 * Transport-free; api/grpc and api/http call it.
 */
import { validateBatch, validateCheck } from '../domain/check.js';
import { decide, type GrantView, type ValidCheck } from '../domain/engine.js';
import type { Caller } from '../auth/caller.js';
import { BATCH, countDecision, instruments, SINGLE } from '../instruments.js';
import { InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import type { CheckInput, CheckResult, Consistency } from '../domain/model.js';
import { parseAction } from '@warden/names';
import type { GrantSource, ViewRequest } from '../ports.js';

export interface Authorizer {
  /**
   * Decides one check. With a `caller`, the caller's right to ask is enforced too
   * (see `callerMayAsk`); without one the call is trusted (in-process use).
   */
  check(input: CheckInput, consistency?: Consistency, signal?: AbortSignal, caller?: Caller): Promise<CheckResult>;
  checkBatch(
    inputs: readonly CheckInput[],
    consistency?: Consistency,
    signal?: AbortSignal,
    caller?: Caller,
  ): Promise<{ results: CheckResult[]; revision: number }>;
}

/** The action a caller needs on a resource to ask about subjects other than itself. */
export const CHECK_OTHERS_ACTION = 'authz:check';

/**
 * A caller may ask about itself; about any other subject only if it holds
 * `authz:check` on the resource. An API key acts only inside its organization.
 * A trusted local caller (sidecar mode) may ask anything.
 */
export function callerMayAsk(view: GrantView, caller: Caller, check: ValidCheck, at: number, field: string): void {
  if (caller.kind === 'trusted_local') return;
  if (caller.kind === 'api_key' && check.resource.org !== caller.org) {
    throw new PermissionDeniedError(`${field}: the API key of ${caller.subject} acts only within org:${caller.org}`);
  }
  if (check.subject === caller.subject) return;
  const may = decide(view, { subject: caller.subject, action: parseAction(CHECK_OTHERS_ACTION), resource: check.resource }, at);
  if (may.decision !== 'ALLOW') {
    throw new PermissionDeniedError(`${field}: ${caller.subject} may ask only about itself here; asking about ${check.subject} needs ${CHECK_OTHERS_ACTION} on ${check.resource.path}`);
  }
}

export interface AuthorizerOptions {
  readonly source: GrantSource;
  /** Milliseconds since the epoch; injectable for tests of expiry. */
  readonly now?: () => number;
}

export function createAuthorizer({ source, now = Date.now }: AuthorizerOptions): Authorizer {
  async function evaluate(inputs: readonly CheckInput[], consistency: Consistency | undefined, signal: AbortSignal | undefined, caller?: Caller) {
    const checks = validateBatch(inputs);
    const requests: ViewRequest[] = checks.map((check) => ({ subject: check.subject, resource: check.resource }));
    // For a check about another subject, the request (index) holding the caller's own graph on its resource.
    const askers: number[] = [];
    if (caller !== undefined && caller.kind !== 'trusted_local') {
      checks.forEach((check, i) => {
        if (check.subject === caller.subject) return;
        askers[i] = requests.length;
        requests.push({ subject: caller.subject, resource: check.resource });
      });
    }
    // Every check an in-process hit: each is decided over its own view (no I/O, one revision).
    const local = source.localViews?.(requests, consistency);
    let viewFor: (i: number) => GrantView;
    let revision: number;
    if (local !== undefined && local.length > 0) {
      viewFor = (i) => local[i]!;
      revision = local[0]!.revision;
    } else {
      const view = await source.view(requests, signal, consistency);
      if (consistency?.kind === 'at_least_revision' && view.revision < consistency.revision) {
        throw new InvalidArgumentError(
          'consistency.at_least_revision',
          `revision ${consistency.revision} is newer than the newest committed revision ${view.revision}`,
        );
      }
      viewFor = () => view;
      revision = view.revision;
    }
    const at = now();
    if (caller !== undefined) checks.forEach((check, i) => callerMayAsk(viewFor(askers[i] ?? i), caller, check, at, `checks[${i}]`));
    const results: CheckResult[] = checks.map((check, i) => {
      const { decision, reason } = decide(viewFor(i), check, at);
      return { decision, reason, revision };
    });
    return { results, revision };
  }

  /**
   * One check: what `evaluate` does for a batch of one, without the arrays (the hot path of a
   * gateway calling Check per request).
   */
  async function evaluateOne(input: CheckInput, consistency: Consistency | undefined, signal: AbortSignal | undefined, caller: Caller | undefined): Promise<CheckResult> {
    const check = validateCheck(input);
    const requests: ViewRequest[] = [{ subject: check.subject, resource: check.resource }];
    if (caller !== undefined && caller.kind !== 'trusted_local' && check.subject !== caller.subject) requests.push({ subject: caller.subject, resource: check.resource });
    const view = await source.view(requests, signal, consistency);
    if (consistency?.kind === 'at_least_revision' && view.revision < consistency.revision) {
      throw new InvalidArgumentError(
        'consistency.at_least_revision',
        `revision ${consistency.revision} is newer than the newest committed revision ${view.revision}`,
      );
    }
    const at = now();
    if (caller !== undefined) callerMayAsk(view, caller, check, at, 'subject');
    const { decision, reason } = decide(view, check, at);
    return { decision, reason, revision: view.revision };
  }

  return {
    // Each records the time taken and each decision (metrics through @opentelemetry/api).
    async check(input, consistency, signal, caller) {
      const started = performance.now();
      const result = await evaluateOne(input, consistency, signal, caller);
      instruments().checkDuration.record((performance.now() - started) / 1000, SINGLE);
      countDecision(result.decision, result.reason.code);
      return result;
    },
    async checkBatch(inputs, consistency, signal, caller) {
      const started = performance.now();
      const outcome = await evaluate(inputs, consistency, signal, caller);
      instruments().checkDuration.record((performance.now() - started) / 1000, BATCH);
      for (const result of outcome.results) countDecision(result.decision, result.reason.code);
      return outcome;
    },
  };
}
