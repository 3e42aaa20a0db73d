export {
  createWarden,
  toWardenError,
  type Warden,
  type CheckInput,
  type ChangeInput,
  type ChangeContext,
  type Page,
  type Attributes,
} from './client.js';
export type { ChangeRecord, AuditRecorder } from './audit-recorder.js';
export { isPendingChange, ApprovalMismatchError, type PendingChange, type ApprovedChange, type ApplyApprovedOptions } from './approvals.js';
export type { Decision, DecisionKind, Reason } from './decision.js';
export type { WardenOptions, AuthzOptions, CallerCredentials, CacheOptions } from './options.js';
export {
  WardenError,
  WardenAuthError,
  WardenInvalidArgumentError,
  WardenUnavailableError,
  PermissionDeniedError,
  ApprovalRequiredError,
} from './errors.js';
export { createAuditClient, newCorrelationId, type AuditClient, type AuditClientOptions } from './audit-client.js';
