/**
 * Resource paths (`org:acme/project:checkout/env:production/flag:checkout-v2`)
 * and subjects (`user:sarah@acme.com`), validated strictly. The path is the
 * hierarchy: org, project and environment are read from it.
 */
import { InvalidArgumentError } from './errors.js';

const SEGMENT_TYPE = /^[a-z][a-z0-9_]{0,31}$/;
const SEGMENT_ID = /^[A-Za-z0-9][A-Za-z0-9._@+\-]{0,127}$/;
const ACTOR_TYPES = new Set(['user', 'service', 'group']);
const MAX_SEGMENTS = 8;

export type ResourceScope = {
  readonly org: string;
  /** '' when the path has no project segment. */
  readonly project: string;
  /** '' when the path has no env segment. */
  readonly environment: string;
};

export function parseResource(path: string, field = 'resource'): ResourceScope {
  if (path.length === 0) throw new InvalidArgumentError(field, 'is empty');
  if (path.length > 1024) throw new InvalidArgumentError(field, 'is longer than 1024 characters');
  const segments = path.split('/');
  if (segments.length > MAX_SEGMENTS) throw new InvalidArgumentError(field, `has more than ${MAX_SEGMENTS} segments`);
  let project = '';
  let environment = '';
  segments.forEach((segment, i) => {
    const colon = segment.indexOf(':');
    if (colon < 0) throw new InvalidArgumentError(field, `segment ${i + 1} "${segment}" is not type:id`);
    const type = segment.slice(0, colon);
    const id = segment.slice(colon + 1);
    if (!SEGMENT_TYPE.test(type)) throw new InvalidArgumentError(field, `segment ${i + 1} has an invalid type "${type}"`);
    if (!SEGMENT_ID.test(id)) throw new InvalidArgumentError(field, `segment ${i + 1} has an invalid id "${id}"`);
    if (i === 0 && type !== 'org') throw new InvalidArgumentError(field, 'must start with an org:<id> segment');
    if (i === 1 && type === 'project') project = id;
    if (i === 2 && type === 'env' && project !== '') environment = id;
  });
  const org = segments[0]!.slice(4);
  return { org, project, environment };
}

/** `acme` or `org:acme` → `acme`. */
export function parseOrgId(value: string, field = 'org'): string {
  const id = value.startsWith('org:') ? value.slice(4) : value;
  if (!SEGMENT_ID.test(id)) throw new InvalidArgumentError(field, `"${value}" is not an organization id`);
  return id;
}

export function parseSubject(value: string, field = 'subject'): { type: string; id: string } {
  const colon = value.indexOf(':');
  if (colon < 0) throw new InvalidArgumentError(field, `"${value}" is not type:id`);
  const type = value.slice(0, colon);
  const id = value.slice(colon + 1);
  if (!ACTOR_TYPES.has(type)) throw new InvalidArgumentError(field, `type "${type}" is not one of user, service, group`);
  if (!SEGMENT_ID.test(id)) throw new InvalidArgumentError(field, `id "${id}" is malformed`);
  return { type, id };
}

export function isActorType(value: string): boolean {
  return ACTOR_TYPES.has(value);
}

export const ID_PATTERN = SEGMENT_ID;

/** The resource path of an org/project/environment scope. */
export function scopePath(scope: { org: string; project?: string | undefined; environment?: string | undefined }): string {
  let path = `org:${scope.org}`;
  if (scope.project !== undefined && scope.project !== '') {
    path += `/project:${scope.project}`;
    if (scope.environment !== undefined && scope.environment !== '') path += `/env:${scope.environment}`;
  }
  return path;
}
