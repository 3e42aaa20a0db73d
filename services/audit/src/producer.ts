/**
 * The producer side of the wire: an audit event, signed, as the AuditService Append
 * request carries it. The mirror of api/grpc/convert.ts's eventFromProto, shared by
 * every producer (the authz outbox relay, the Node SDK) so that what they sign is
 * exactly what the service rebuilds and verifies.
 */
import type { KeyObject } from 'node:crypto';
import type { Event, SignedEvent } from '@warden/proto/audit/v1';
import type { AuditEvent } from './domain/event.js';
import { signEvent } from './domain/keys.js';

export function eventToProto(event: AuditEvent): Event {
  return {
    id: event.id,
    occurredAt: new Date(event.occurredAt),
    actor: { type: event.actor.type, id: event.actor.id, ...(event.actor.onBehalfOf !== undefined ? { onBehalfOf: event.actor.onBehalfOf } : {}) },
    action: event.action,
    resource: event.resource,
    ...(event.before !== undefined ? { before: event.before } : {}),
    ...(event.after !== undefined ? { after: event.after } : {}),
    ...(event.reason !== undefined ? { reason: event.reason } : {}),
    ...(event.request !== undefined ? { request: { ...event.request } } : {}),
    producer: event.producer,
    keyId: event.keyId,
  };
}

/** Signs the event's canonical JSON (RFC 8785) with Ed25519 and wraps it for Append. */
export function signedEventToProto(event: AuditEvent, privateKey: KeyObject): SignedEvent {
  return { event: eventToProto(event), signature: signEvent(event, privateKey) };
}
