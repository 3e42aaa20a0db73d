/**
 * CEL conditions on bindings, evaluated with `@bufbuild/cel` over
 * `request` (the check's context), `resource`, `subject` and `action`.
 *
 * Expressions are parsed and planned once and kept in a bounded cache.
 * An expression that fails at run time (e.g. a missing field) counts as *not
 * satisfied* for an allow binding and as *satisfied* for a deny binding:
 * an error never widens access.
 */
import { celEnv, isCelError, parse, plan } from '@bufbuild/cel';
import { LRUCache } from 'lru-cache';
import { InvalidArgumentError } from '@warden/errors';

export const MAX_CONDITION_LENGTH = 2048;

export interface ConditionVariables {
  readonly request: Readonly<Record<string, unknown>>;
  readonly resource: Readonly<Record<string, unknown>>;
  readonly subject: Readonly<Record<string, unknown>>;
  /** The action: `name` and the caller's `attributes` (AuthZEN action.properties). */
  readonly action: Readonly<Record<string, unknown>>;
}

export type ConditionOutcome = 'true' | 'false' | 'error';

type Program = (vars: ConditionVariables) => unknown;

const env = celEnv();
const programs = new LRUCache<string, Program>({ max: 10_000 });

function compile(expression: string): Program {
  let program = programs.get(expression);
  if (program === undefined) {
    const planned = plan(env, parse(expression));
    program = (vars) => planned(vars as unknown as Parameters<typeof planned>[0]);
    programs.set(expression, program);
  }
  return program;
}

/** Validates a condition when a binding is written; throws InvalidArgumentError. */
export function validateCondition(expression: string, field = 'condition'): string {
  if (expression.length > MAX_CONDITION_LENGTH) {
    throw new InvalidArgumentError(field, `is ${expression.length} characters long; at most ${MAX_CONDITION_LENGTH} are allowed`);
  }
  try {
    compile(expression);
  } catch (error) {
    throw new InvalidArgumentError(field, `is not a valid CEL expression: ${(error as Error).message}`);
  }
  return expression;
}

export function evaluateCondition(expression: string, vars: ConditionVariables): ConditionOutcome {
  let result: unknown;
  try {
    result = compile(expression)(vars);
  } catch {
    return 'error';
  }
  if (isCelError(result)) return 'error';
  if (result === true) return 'true';
  if (result === false) return 'false';
  return 'error';
}
