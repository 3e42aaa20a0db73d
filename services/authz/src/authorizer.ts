/**
 * The Check use case: validate, read a consistent view from the grant source, decide.
 * Transport-free; api/grpc and api/http call it.
 */
import { validateBatch, validateCheck } from './domain/check.js';
import { decide } from './domain/engine.js';
import { InvalidArgumentError } from './domain/errors.js';
import type { CheckInput, CheckResult, Consistency } from './domain/model.js';
import type { GrantSource } from './domain/ports.js';

export interface Authorizer {
  check(input: CheckInput, consistency?: Consistency, signal?: AbortSignal): Promise<CheckResult>;
  checkBatch(
    inputs: readonly CheckInput[],
    consistency?: Consistency,
    signal?: AbortSignal,
  ): Promise<{ results: CheckResult[]; revision: number }>;
}

export interface AuthorizerOptions {
  readonly source: GrantSource;
  /** Milliseconds since the epoch; injectable for tests of expiry. */
  readonly now?: () => number;
}

export function createAuthorizer({ source, now = Date.now }: AuthorizerOptions): Authorizer {
  async function evaluate(inputs: readonly CheckInput[], batch: boolean, consistency: Consistency | undefined, signal: AbortSignal | undefined) {
    const checks = batch ? validateBatch(inputs) : inputs.map((input) => validateCheck(input));
    const view = await source.view(
      checks.map((check) => ({ subject: check.subject, resource: check.resource })),
      signal,
    );
    if (consistency?.kind === 'at_least_revision' && view.revision < consistency.revision) {
      throw new InvalidArgumentError(
        'consistency.at_least_revision',
        `revision ${consistency.revision} is newer than the newest committed revision ${view.revision}`,
      );
    }
    const at = now();
    const results = checks.map((check) => ({ ...decide(view, check, at), revision: view.revision }));
    return { results, revision: view.revision };
  }

  return {
    async check(input, consistency, signal) {
      const { results } = await evaluate([input], false, consistency, signal);
      return results[0]!;
    },
    checkBatch(inputs, consistency, signal) {
      return evaluate(inputs, true, consistency, signal);
    },
  };
}
