import { expect } from 'vitest';
import type { Decision } from '../../src/domain/model.js';
import type { ScenarioCase } from '../acme-scenario.js';

/** Asserts a decision matches a scenario case, including the binding named as its reason. */
export function expectCase(decision: Decision, c: ScenarioCase): void {
  expect({ decision: decision.decision, code: decision.reason.code }, decision.reason.message).toEqual({ decision: c.expect, code: c.code });
  expect(decision.reason.message.length).toBeGreaterThan(10);
  if (c.via !== undefined) {
    const binding = decision.reason.binding;
    expect(binding, 'the reason names a binding').toBeDefined();
    expect(binding!.subject).toBe(c.via.subject);
    if (c.via.role === 'actions') expect(binding!.role).toBeUndefined();
    else expect(binding!.role).toBe(c.via.role);
  }
  if (c.code === 'DENY_BINDING' || c.code === 'EXPIRED' || c.code === 'CONDITION_FALSE' || c.code === 'PROTECTED_RESOURCE') {
    expect(decision.reason.binding, 'the reason names the binding').toBeDefined();
  }
  if (c.code === 'PROTECTED_RESOURCE') expect(decision.reason.requiredRoles).toContain('release_manager');
  if (c.code === 'CEILING') expect(decision.reason.membershipRole).toBe('viewer');
}
