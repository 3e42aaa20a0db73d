/**
 * The Check use case: validate, read a consistent view from the grant source, decide.
 * Transport-free; api/grpc and api/http call it.
 */
import { validateBatch, validateCheck } from './domain/check.js';
import { decide, type GrantView, type ValidCheck } from './domain/engine.js';
import type { Caller } from './auth/caller.js';
import { BATCH, countDecision, instruments, SINGLE } from './instruments.js';
import { InvalidArgumentError, PermissionDeniedError } from './domain/errors.js';
import type { CheckInput, CheckResult, Consistency } from './domain/model.js';
import { parseAction } from './domain/names.js';
import type { GrantSource } from './domain/ports.js';

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
  async function evaluate(inputs: readonly CheckInput[], batch: boolean, consistency: Consistency | undefined, signal: AbortSignal | undefined, caller?: Caller) {
    const checks = batch ? validateBatch(inputs) : inputs.map((input) => validateCheck(input));
    const requests = checks.map((check) => ({ subject: check.subject, resource: check.resource }));
    if (caller !== undefined && caller.kind !== 'trusted_local') {
      for (const check of checks) if (check.subject !== caller.subject) requests.push({ subject: caller.subject, resource: check.resource });
    }
    const view = await source.view(requests, signal, consistency);
    if (consistency?.kind === 'at_least_revision' && view.revision < consistency.revision) {
      throw new InvalidArgumentError(
        'consistency.at_least_revision',
        `revision ${consistency.revision} is newer than the newest committed revision ${view.revision}`,
      );
    }
    const at = now();
    if (caller !== undefined) checks.forEach((check, i) => callerMayAsk(view, caller, check, at, batch ? `checks[${i}]` : 'subject'));
    const results = checks.map((check) => ({ ...decide(view, check, at), revision: view.revision }));
    return { results, revision: view.revision };
  }

  /** Decides, and records the time taken and each decision (metrics through @opentelemetry/api). */
  async function measured(inputs: readonly CheckInput[], batch: boolean, consistency: Consistency | undefined, signal: AbortSignal | undefined, caller: Caller | undefined) {
    const started = performance.now();
    const outcome = await evaluate(inputs, batch, consistency, signal, caller);
    instruments().checkDuration.record((performance.now() - started) / 1000, batch ? BATCH : SINGLE);
    for (const result of outcome.results) countDecision(result.decision, result.reason.code);
    return outcome;
  }

  return {
    async check(input, consistency, signal, caller) {
      const { results } = await measured([input], false, consistency, signal, caller);
      return results[0]!;
    },
    checkBatch(inputs, consistency, signal, caller) {
      return measured(inputs, true, consistency, signal, caller);
    },
  };
}
