/**
 * The units of the cached grant graph and their keys.
 *
 *   s:<subject>  the subject's direct groups and all its bindings (every scope)
 *   r:<path>     the stored attributes of one resource path (or "none")
 *   o:<org>      the custom roles of an organization
 *
 * A unit does not depend on the resource a Check asks about, so one unit serves
 * every Check of that subject, resource or organization. Redis keys are these with the
 * key prefix in front; the in-process layer keys a unit by its name alone (subjects,
 * paths and organization ids never collide). The cache maps the Postgres adapter's
 * change notices (what a revision touched) to these keys here, and nowhere else.
 */
import type { Touched } from '../postgres/grant-changes.js';

export const subjectKey = (subject: string): string => `s:${subject}`;
export const resourceKey = (path: string): string => `r:${path}`;
export const orgKey = (org: string): string => `o:${org}`;

/** The name a key stands for (the in-process layer's key). */
export const nameOf = (key: string): string => key.slice(2);

/**
 * The units a revision touched; null when it is not known (a notice without its list, or a
 * change nobody can read): the caller must then drop everything or read the changelog
 * (never keep a unit it cannot prove fresh).
 */
export function unitKeysOf(touched: Touched | null | undefined): string[] | null {
  if (touched === null || touched === undefined) return null;
  return [...touched.subjects.map(subjectKey), ...touched.resources.map(resourceKey), ...touched.orgs.map(orgKey)];
}

/** What each revision touched, as unit keys; undefined stays undefined (too many to list). */
export function unitKeysByRevision(touched: ReadonlyMap<number, Touched | null> | undefined): Map<number, string[] | null> | undefined {
  if (touched === undefined) return undefined;
  const out = new Map<number, string[] | null>();
  for (const [revision, t] of touched) out.set(revision, unitKeysOf(t));
  return out;
}

/** The Redis pub/sub channel (per key prefix) that carries change notices between replicas. */
export const redisChannel = (prefix: string): string => `${prefix}invalidate`;
