/**
 * Warden's names: subjects (`type:id`), resources (`/`-joined `type:id` paths
 * rooted at an organization) and actions. Parsing is strict and every error says
 * which part of which field is wrong. docs/model.md ("Names") is the prose; the
 * grammar, in short:
 *
 *   subject     type:id      type: lowercase identifier (user, service, group are built in;
 *                            an organization declares more, e.g. identity); id: 1-254
 *                            characters, any Unicode but whitespace, control characters,
 *                            `"` and `\` (so `auth0|5f1c2a`, `CiRm…=`, `a/b`, `x:y` are ids);
 *                            the id `*` means every subject of the type
 *   resource    org:<id>(/type:id)*   at most 8 segments, 1024 characters; a segment id is
 *                            1-256 characters of the same alphabet where `/`, `%`, a leading
 *                            `.` and the excluded characters are percent-encoded (`%2F`), so
 *                            any client id maps into a segment and back (encodeSegmentId,
 *                            decodeSegmentId); organization ids stay 1-128 letters, digits
 *                            and . _ @ + -
 *   action      part(:part)*  1-128 characters; a part is letters, digits, _ . - (starting
 *                            with a letter, digit or _): `read`, `GET`, `can_read_user`,
 *                            `flags:enable`, `requirements:approve`. Its area is the part
 *                            before the first `:` ('' when none), its verb the rest
 */
import { InvalidArgumentError } from '@warden/errors';

/** The subject types every organization has; an organization declares more. */
export const SUBJECT_TYPES = ['user', 'service', 'group'] as const;
/** A subject type: one of SUBJECT_TYPES or one an organization declares. */
export type SubjectType = string;

/** Lowercase identifier used for segment types, subject types and role names. */
const TYPE_RE = /^[a-z][a-z0-9_]{0,31}$/;
/** Organization ids (and the ids the world file gives projects and environments). */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/;
/** An organization id. */
export const SEGMENT_ID_PATTERN: RegExp = ID_RE;
/** Characters no name holds: whitespace, control characters, `"` and `\`. */
// eslint-disable-next-line no-control-regex
const EXCLUDED = /[\s\u0000-\u001f\u007f-\u009f"\\]/u;
/** What a segment id percent-encodes besides the excluded characters. */
// eslint-disable-next-line no-control-regex
const ENCODED = /[\s\u0000-\u001f\u007f-\u009f"\\%/]/gu;
/** A UTF-16 surrogate without its pair (not well-formed Unicode). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** One action part. */
const ACTION_PART = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;

export const MAX_RESOURCE_SEGMENTS = 8;
export const MAX_RESOURCE_LENGTH = 1024;
export const MAX_SEGMENT_ID_LENGTH = 256;
export const MAX_ACTION_LENGTH = 128;
export const MAX_SUBJECT_ID_LENGTH = 254;
export const MAX_SUBJECT_LENGTH = 287;

export interface Subject {
  readonly type: SubjectType;
  readonly id: string;
}

export interface ResourceSegment {
  readonly type: string;
  readonly id: string;
}

export interface ResourcePath {
  /** The path as given, e.g. `org:acme/project:checkout`. */
  readonly path: string;
  readonly segments: readonly ResourceSegment[];
  /** The organization id (first segment). */
  readonly org: string;
  /**
   * The scope chain from the organization down to the resource itself:
   * `org:acme`, `org:acme/project:checkout`, ….
   */
  readonly chain: readonly string[];
}

export interface Action {
  readonly action: string;
  readonly area: string;
  readonly verb: string;
}

/**
 * Valid names repeat (a gateway asks about the same few thousand resources all day):
 * each parse is remembered, so a repeated name costs one Map lookup instead of the
 * regular expressions and allocations, and the scope-chain strings it yields are the
 * same objects every time (their hashes are computed once, which makes every cache
 * lookup keyed by them cheaper). Bounded: when full it starts over. Only valid names
 * are remembered; results are frozen.
 */
class Memo<T> {
  private readonly entries = new Map<string, T>();
  constructor(private readonly max: number) {}
  get(key: string): T | undefined {
    return this.entries.get(key);
  }
  set(key: string, value: T): T {
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }
}
const subjects = new Memo<Subject>(20_000);
const resources = new Memo<ResourcePath>(50_000);
const actions = new Memo<Action>(2_000);

function describe(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** Whether `value` is one of the built-in subject types (user, service, group). */
export function isSubjectType(value: string): value is (typeof SUBJECT_TYPES)[number] {
  return (SUBJECT_TYPES as readonly string[]).includes(value);
}

/** Whether `value` is a subject type name (built in or declarable): a lowercase identifier. */
export function isSubjectTypeName(value: string): boolean {
  return typeof value === 'string' && TYPE_RE.test(value);
}

/** A subject id: 1-254 characters, well-formed Unicode, none excluded. */
function isNameId(id: string, max: number): boolean {
  return id.length > 0 && id.length <= max && !EXCLUDED.test(id) && !LONE_SURROGATE.test(id);
}

/**
 * A client's id as a resource segment id: `%`, `/`, a leading `.` and the excluded characters
 * percent-encoded (UTF-8, uppercase hex); everything else as it is. decodeSegmentId reverses it.
 */
export function encodeSegmentId(id: string): string {
  const encoded = id.replace(ENCODED, encodeURIComponent);
  return encoded.startsWith('.') ? `%2E${encoded.slice(1)}` : encoded;
}

/** The client id a segment id encodes (the inverse of encodeSegmentId). */
export function decodeSegmentId(id: string): string {
  return id.includes('%') ? decodeURIComponent(id) : id;
}

/** A segment id in its one canonical encoding. */
function isSegmentId(id: string): boolean {
  if (id.length === 0 || id.length > MAX_SEGMENT_ID_LENGTH || id.startsWith('.') || EXCLUDED.test(id) || !!LONE_SURROGATE.test(id)) return false;
  if (!id.includes('%')) return !id.includes('/');
  try {
    return encodeSegmentId(decodeSegmentId(id)) === id;
  } catch {
    return false;
  }
}

export function parseSubject(value: string, field = 'subject'): Subject {
  return (typeof value === 'string' ? subjects.get(value) : undefined) ?? subjects.set(value, Object.freeze(validSubject(value, field)));
}

function validSubject(value: string, field: string): Subject {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(field, 'is required (a subject like "user:sarah@acme.com")');
  }
  if (value.length > MAX_SUBJECT_LENGTH) {
    throw new InvalidArgumentError(field, `is ${value.length} characters long; at most ${MAX_SUBJECT_LENGTH} are allowed`);
  }
  const colon = value.indexOf(':');
  if (colon < 0) {
    throw new InvalidArgumentError(field, `${describe(value)} is not of the form type:id (e.g. "user:sarah@acme.com")`);
  }
  const type = value.slice(0, colon);
  const id = value.slice(colon + 1);
  if (!TYPE_RE.test(type)) {
    throw new InvalidArgumentError(field, `type ${describe(type)} is not a subject type (lowercase letters, digits and _, at most 32, e.g. user)`);
  }
  if (!isNameId(id, MAX_SUBJECT_ID_LENGTH)) {
    throw new InvalidArgumentError(field, `id ${describe(id)} must be 1-${MAX_SUBJECT_ID_LENGTH} characters with no whitespace, control characters, " or \\`);
  }
  return { type, id };
}

export function parseResource(value: string, field = 'resource'): ResourcePath {
  return (typeof value === 'string' ? resources.get(value) : undefined) ?? resources.set(value, validResource(value, field));
}

/** Segment types repeat (`org`, `project`, `env`, …): one string each, not one per path. Bounded. */
const segmentTypes = new Memo<string>(1_000);

function validResource(value: string, field: string): ResourcePath {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(field, 'is required (a path like "org:acme/project:checkout")');
  }
  if (value.length > MAX_RESOURCE_LENGTH) {
    throw new InvalidArgumentError(field, `is ${value.length} characters long; at most ${MAX_RESOURCE_LENGTH} are allowed`);
  }
  let segmentCount = 1;
  for (let at = value.indexOf('/'); at >= 0; at = value.indexOf('/', at + 1)) segmentCount++;
  if (segmentCount > MAX_RESOURCE_SEGMENTS) {
    throw new InvalidArgumentError(field, `has ${segmentCount} segments; at most ${MAX_RESOURCE_SEGMENTS} are allowed`);
  }
  // The parent is parsed (and remembered) first: its segments and scope-chain strings are
  // shared by every path under it, so a remembered path costs its last segment, not its chain.
  const slash = value.lastIndexOf('/');
  const parent = slash < 0 ? undefined : parseResource(value.slice(0, slash), field);
  const part = slash < 0 ? value : value.slice(slash + 1);
  const index = segmentCount - 1;
  const where = () => `segment ${index + 1} (${describe(part)})`;
  const colon = part.indexOf(':');
  if (colon < 0) {
    throw new InvalidArgumentError(field, `${where()} is not of the form type:id`);
  }
  const type = part.slice(0, colon);
  const id = part.slice(colon + 1);
  if (!TYPE_RE.test(type)) {
    throw new InvalidArgumentError(field, `${where()} has type ${describe(type)}; types are lowercase letters, digits and _ (at most 32)`);
  }
  if (index === 0 ? !ID_RE.test(id) : !isSegmentId(id)) {
    throw new InvalidArgumentError(
      field,
      index === 0
        ? `${where()} has id ${describe(id)}; organization ids are 1-128 letters, digits and . _ @ + - starting with a letter or digit`
        : `${where()} has id ${describe(id)}; segment ids are 1-${MAX_SEGMENT_ID_LENGTH} characters with /, %, a leading . and whitespace, control characters, " and \\ percent-encoded (%2F)`,
    );
  }
  if (index === 0 && type !== 'org') {
    throw new InvalidArgumentError(field, `must start with an organization segment "org:<id>", not ${describe(part)}`);
  }
  if (index > 0 && type === 'org') {
    throw new InvalidArgumentError(field, `${where()}: an organization can only be the first segment`);
  }
  const segment: ResourceSegment = Object.freeze({ type: segmentTypes.get(type) ?? segmentTypes.set(type, type), id });
  if (parent === undefined) {
    return Object.freeze({ path: value, segments: Object.freeze([segment]), org: id, chain: Object.freeze([value]) });
  }
  return Object.freeze({
    path: value,
    segments: Object.freeze([...parent.segments, segment]),
    org: parent.org,
    chain: Object.freeze([...parent.chain, value]),
  });
}

/** The scope chain of an already-validated path (no checks). */
export function chainOf(path: string): string[] {
  const chain: string[] = [];
  let at = path.indexOf('/');
  while (at >= 0) {
    chain.push(path.slice(0, at));
    at = path.indexOf('/', at + 1);
  }
  chain.push(path);
  return chain;
}

export function parseAction(value: string, field = 'action'): Action {
  return (typeof value === 'string' ? actions.get(value) : undefined) ?? actions.set(value, Object.freeze(validAction(value, field)));
}

function validAction(value: string, field: string): Action {
  if (typeof value !== 'string' || value.length === 0) {
    throw new InvalidArgumentError(field, 'is required (an action like "flags:enable" or "read")');
  }
  if (value.length > MAX_ACTION_LENGTH) {
    throw new InvalidArgumentError(field, `is ${value.length} characters long; at most ${MAX_ACTION_LENGTH} are allowed`);
  }
  const parts = value.split(':');
  for (const part of parts) {
    if (!ACTION_PART.test(part)) {
      throw new InvalidArgumentError(field, `${describe(value)} is not an action: parts separated by ":" are 1-64 letters, digits, _ . - starting with a letter, digit or _ (e.g. "read", "GET", "flags:enable")`);
    }
  }
  const colon = value.indexOf(':');
  return colon < 0 ? { action: value, area: '', verb: value } : { action: value, area: value.slice(0, colon), verb: value.slice(colon + 1) };
}

/**
 * An action pattern in a role: an action, `area:*`, `*:verb` or `*`.
 */
export function parseActionPattern(value: string, field = 'action'): string {
  if (value === '*') return value;
  if (typeof value === 'string' && value.length <= MAX_ACTION_LENGTH) {
    const colon = value.indexOf(':');
    if (colon > 0) {
      const area = value.slice(0, colon);
      const verb = value.slice(colon + 1);
      const wildArea = area === '*';
      const wildVerb = verb === '*';
      if ((wildArea || ACTION_PART.test(area)) && (wildVerb || verb.split(':').every((p) => ACTION_PART.test(p)))) return value;
    } else if (ACTION_PART.test(value)) {
      return value;
    }
  }
  throw new InvalidArgumentError(field, `${describe(String(value))} is not an action pattern (an action, area:*, *:verb or *)`);
}

/** Role and group names: lowercase identifiers. */
export function parseRoleName(value: string, field = 'role'): string {
  if (typeof value !== 'string' || !TYPE_RE.test(value)) {
    throw new InvalidArgumentError(field, `${describe(String(value))} is not a role name (lowercase letters, digits and _, at most 32)`);
  }
  return value;
}

export function subjectString(subject: Subject): string {
  return `${subject.type}:${subject.id}`;
}
