/**
 * What the guarded `change` hands to the audit trail, and the recorder that takes it: the
 * contract between client.ts (which calls it) and audit-client.ts (which implements it),
 * in a file of its own so neither imports the other for it.
 */
import type { Decision } from './decision.js';

/** What `change` records, signed, in the audit trail (see AuditRecorder). */
export interface ChangeRecord {
  readonly correlationId: string;
  readonly traceId: string | undefined;
  readonly actor: string;
  /** The audit action, e.g. `flag.enabled`. */
  readonly action: string;
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
  readonly reason: string | undefined;
  readonly outcome: 'success' | 'failure';
  readonly error: string | undefined;
  readonly decision: Decision;
}

/** Where `change` sends its audit events; the audit client implements it. */
export interface AuditRecorder {
  record(change: ChangeRecord): Promise<void>;
  /** Throws if this change could not be recorded — called before `apply` runs. */
  validate?(change: ChangeRecord): void;
  close(): Promise<void>;
}
