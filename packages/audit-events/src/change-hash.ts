/**
 * The content hash of a proposed change: what an approval is bound to. The service computes it
 * when a change request is opened, and the Node SDK recomputes it from the change it is about
 * to apply; only a change whose hash equals the approved one may be applied with the approval.
 *
 * `sha256:` + hex SHA-256 of the RFC 8785 (JCS) canonical JSON of
 * `{ action, resource, before, after }` (undefined before/after are null).
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export interface ProposedChange {
  readonly action: string;
  readonly resource: string;
  readonly before: unknown;
  readonly after: unknown;
}

export const CHANGE_HASH = /^sha256:[0-9a-f]{64}$/;

export function changeContentHash(change: ProposedChange): string {
  const text = canonicalize({ action: change.action, resource: change.resource, before: change.before ?? null, after: change.after ?? null });
  if (text === undefined) throw new TypeError('the change cannot be canonicalized (it must be JSON)');
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}
