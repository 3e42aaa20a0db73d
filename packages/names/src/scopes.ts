/**
 * The organization, project and environment a resource path sits in: the scopes the audit
 * trail filters by and Warden's settings are set on. Read from the path alone.
 */
import { InvalidArgumentError } from '@warden/errors';
import { parseResource, SEGMENT_ID_PATTERN, type ResourcePath } from './names.js';

export interface Scope {
  readonly org: string;
  /** '' when the path has no project segment right under the organization. */
  readonly project: string;
  /** '' when the path has no env segment right under the project. */
  readonly environment: string;
}

export function scopeOf(resource: ResourcePath | string, field = 'resource'): Scope {
  const path = typeof resource === 'string' ? parseResource(resource, field) : resource;
  const [, second, third] = path.segments;
  const project = second?.type === 'project' ? second.id : '';
  const environment = project !== '' && third?.type === 'env' ? third.id : '';
  return { org: path.org, project, environment };
}

/** `acme` or `org:acme` → `acme`. */
export function parseOrgId(value: string, field = 'org'): string {
  const id = typeof value === 'string' && value.startsWith('org:') ? value.slice(4) : value;
  if (typeof id !== 'string' || !SEGMENT_ID_PATTERN.test(id)) {
    throw new InvalidArgumentError(field, `${JSON.stringify(String(value))} is not an organization id`);
  }
  return id;
}

/** The resource path of an organization, project or environment scope. */
export function scopePath(scope: { readonly org: string; readonly project?: string | undefined; readonly environment?: string | undefined }): string {
  let path = `org:${scope.org}`;
  if (scope.project !== undefined && scope.project !== '') {
    path += `/project:${scope.project}`;
    if (scope.environment !== undefined && scope.environment !== '') path += `/env:${scope.environment}`;
  }
  return path;
}
