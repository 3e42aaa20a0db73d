/**
 * Names as clients use them (AuthZEN `{type, id}`) and Warden's paths, both ways
 * (docs/model.md "Resource types", docs/authzen.md "Mapping names").
 *
 *   id is a Warden path (starts with `org:`)  →  used as it is; its last segment's type must be `type`
 *   type declared under the organization      →  org:<org>/<type>:<encodeSegmentId(id)>
 *   type declared under a project, an
 *   environment or another declared type      →  <parent path>/<type>:<encodeSegmentId(id)>, the parent
 *                                                 from `properties.parent` (a Warden path, or `{type, id}`
 *                                                 mapped the same way)
 *
 * The organization is the caller's (its API key's). Every path built here maps back to the
 * same `{type, id}` (clientResourceOf), so answers and search results come back in the caller's form.
 */
import { InvalidArgumentError } from '@warden/errors';
import { decodeSegmentId, encodeSegmentId, MAX_SEGMENT_ID_LENGTH, parseResource, type ResourcePath } from '@warden/names';
import type { Catalogue } from './catalogue.js';

export interface ClientEntity {
  readonly type: string;
  readonly id: string;
  readonly properties?: Readonly<Record<string, unknown>> | undefined;
}

/** How deep `properties.parent` may nest (a path has at most eight segments). */
const MAX_PARENT_DEPTH = 6;

function wardenPath(entity: ClientEntity, field: string): ResourcePath {
  const path = parseResource(entity.id, `${field}.id`);
  const last = path.segments[path.segments.length - 1]!;
  if (last.type !== entity.type) {
    throw new InvalidArgumentError(`${field}.type`, `is ${JSON.stringify(entity.type)} but ${field}.id (a Warden path) ends in a ${JSON.stringify(last.type)} segment`);
  }
  return path;
}

function segmentOf(id: string, field: string): string {
  let segment: string;
  try {
    segment = encodeSegmentId(id);
  } catch {
    throw new InvalidArgumentError(`${field}.id`, 'is not well-formed Unicode');
  }
  if (id.length === 0 || segment.length > MAX_SEGMENT_ID_LENGTH) {
    throw new InvalidArgumentError(`${field}.id`, `must be 1 to ${MAX_SEGMENT_ID_LENGTH} characters once percent-encoded (it is ${segment.length})`);
  }
  return segment;
}

/** The Warden path of a client's resource in `org` (throws InvalidArgumentError naming the field). */
export function resourcePathOf(org: string, catalogue: Catalogue, entity: ClientEntity, field: string, depth = 0): string {
  if (entity.id.startsWith('org:')) return wardenPath(entity, field).path;
  const parent = catalogue.parentOf(entity.type);
  if (parent === undefined) {
    throw new InvalidArgumentError(
      `${field}.type`,
      `${JSON.stringify(entity.type)} is not a resource type org:${org} declares (resource_types), and ${field}.id is not a Warden path (org:…)`,
    );
  }
  const segment = `${entity.type}:${segmentOf(entity.id, field)}`;
  if (parent === 'org') return parseResource(`org:${org}/${segment}`, `${field}.id`).path;
  const given = entity.properties?.['parent'];
  const where = `${field}.properties.parent`;
  if (given === undefined) throw new InvalidArgumentError(where, `is required: resources of type ${entity.type} hang under a ${parent} (a Warden path, or {type, id})`);
  if (depth >= MAX_PARENT_DEPTH) throw new InvalidArgumentError(where, 'nests too deep');
  let parentPath: string;
  if (typeof given === 'string') {
    if (!given.startsWith('org:')) throw new InvalidArgumentError(where, 'a string parent must be a Warden path (org:…)');
    parentPath = wardenPath({ type: parent, id: given }, where).path;
  } else if (typeof given === 'object' && given !== null && typeof (given as ClientEntity).type === 'string' && typeof (given as ClientEntity).id === 'string') {
    const p = given as ClientEntity;
    if (p.type !== parent) throw new InvalidArgumentError(`${where}.type`, `is ${JSON.stringify(p.type)}; resources of type ${entity.type} hang under a ${parent}`);
    parentPath = p.id.startsWith('org:') || catalogue.parentOf(p.type) === undefined ? wardenPath(p, where).path : resourcePathOf(org, catalogue, p, where, depth + 1);
  } else {
    throw new InvalidArgumentError(where, 'must be a Warden path or an object {type, id}');
  }
  if (parseResource(parentPath, where).org !== org) throw new InvalidArgumentError(where, `is outside org:${org}`);
  return parseResource(`${parentPath}/${segment}`, `${field}.id`).path;
}

/**
 * A Warden path in the caller's form: a resource of a declared type, where its declaration
 * puts it, is `{type, id}` with the client's id; anything else keeps its Warden path as id.
 */
export function clientResourceOf(path: string, catalogue: Catalogue): { type: string; id: string } {
  const parsed = parseResource(path);
  const segments = parsed.segments;
  const last = segments[segments.length - 1]!;
  const parent = catalogue.parentOf(last.type);
  const above = segments[segments.length - 2];
  if (parent !== undefined && above !== undefined && above.type === parent) return { type: last.type, id: decodeSegmentId(last.id) };
  return { type: last.type, id: path };
}
