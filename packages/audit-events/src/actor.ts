/**
 * The actor of an audit event, from the subject that made the change: one rule for
 * every producer (the authz writer and its outbox relay, the Node SDK).
 * `user:sarah@acme.com` → `{ type: 'user', id: 'sarah@acme.com' }`. The id is checked
 * by the event schema (parseEvent), not here. Pure.
 */
import { isSubjectType } from '@warden/names';
import type { AuditEvent } from './event.js';

export type AuditActor = AuditEvent['actor'];

export type ActorOptions = {
  /**
   * Warden's own components act as `system:<component>` (any other type, or a bare
   * name, counts as a component too): record them as the service account
   * `warden.<component>` instead of refusing them. Authz does; other producers record
   * only users, services and groups.
   * @defaultValue false
   */
  readonly wardenComponents?: boolean;
};

/** Throws a TypeError for a subject that is not a user, service or group (unless `wardenComponents`). */
export function actorFromSubject(subject: string, options: ActorOptions = {}): AuditActor {
  const colon = subject.indexOf(':');
  const type = colon < 0 ? '' : subject.slice(0, colon);
  const id = subject.slice(colon + 1);
  if (isSubjectType(type)) return { type, id };
  if (options.wardenComponents === true) return { type: 'service', id: `warden.${id}` };
  throw new TypeError(`the actor ${JSON.stringify(subject)} is not a user, service or group`);
}
