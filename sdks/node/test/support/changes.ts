/** The change the audit tests record: step `i` of a flag's rollout, allowed at revision 1. */
import { newCorrelationId, type ChangeRecord } from '../../src/index.js';

export const rolloutChange = (i: number): ChangeRecord => ({
  correlationId: newCorrelationId(),
  traceId: undefined,
  actor: 'user:sarah@acme.com',
  action: 'flag.rollout_changed',
  resource: 'org:acme/project:checkout/env:production/flag:checkout-v2',
  before: { rollout: i },
  after: { rollout: i + 1 },
  reason: `step ${i}`,
  outcome: 'success',
  error: undefined,
  decision: { allowed: true, decision: 'ALLOW', reason: { code: 'ALLOWED', message: '' }, revision: 1 },
});
