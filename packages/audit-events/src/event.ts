/**
 * The audit event: what a producer signs. Its wire form for signing is the
 * RFC 8785 canonical JSON of the object below (camelCase keys; optional fields
 * omitted when absent). Pure: no I/O.
 */
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { parseResource, parseSubject, SUBJECT_TYPES } from '@warden/names';
import { sha256Hex } from './merkle.js';

export const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** `Date.prototype.toISOString()` output: UTC, millisecond precision. */
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const ACTION = /^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63}){1,3}$/;
export const PRODUCER = /^[a-z][a-z0-9._:-]{0,63}$/;
export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.string(),
    z.number().refine(Number.isFinite, 'must be a finite number'),
    z.boolean(),
    z.null(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

const nonEmpty = (max: number) => z.string().min(1, 'must not be empty (omit it instead)').max(max);

export const auditEventSchema = z
  .object({
    id: z.string().regex(UUID_V7, 'must be a lowercase UUIDv7'),
    occurredAt: z
      .string()
      .regex(ISO_MS, 'must be an ISO 8601 UTC timestamp with milliseconds (toISOString())')
      .refine((s) => !Number.isNaN(Date.parse(s)), 'is not a valid date'),
    actor: z
      .object({
        type: z.enum(SUBJECT_TYPES),
        // The same rule authz grants by: anything authz can grant to, audit records.
        id: z.string().superRefine((value, ctx) => {
          try {
            parseSubject(`user:${value}`, 'id');
          } catch (error) {
            ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message.replace(/^id: /, '') : 'is not a valid subject id' });
          }
        }),
        onBehalfOf: nonEmpty(256).optional(),
      })
      .strict(),
    action: z.string().regex(ACTION, 'must look like area.verb (e.g. flag.enabled)'),
    resource: z.string().superRefine((value, ctx) => {
      try {
        parseResource(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message.replace(/^resource: /, '') : 'is malformed' });
      }
    }),
    before: jsonValue.optional(),
    after: jsonValue.optional(),
    reason: nonEmpty(4096).optional(),
    request: z
      .object({
        ip: nonEmpty(64).optional(),
        userAgent: nonEmpty(1024).optional(),
        traceId: nonEmpty(128).optional(),
      })
      .strict()
      .refine((r) => r.ip !== undefined || r.userAgent !== undefined || r.traceId !== undefined, 'must set at least one field (omit it instead)')
      .optional(),
    producer: z.string().regex(PRODUCER, 'must be a producer name like authz or flags'),
    keyId: z.string().regex(KEY_ID, 'must be 1-64 characters of A-Z a-z 0-9 . _ -'),
  })
  .strict();

export type AuditEvent = z.infer<typeof auditEventSchema>;

/** A parse failure: the dotted path of the first bad field and what is wrong. */
export type EventProblem = { readonly field: string; readonly message: string };

/**
 * Validates an event against {@link auditEventSchema}. The common, valid event takes a
 * hand-written path ({@link parseEventFast}) that accepts exactly what the schema accepts and
 * builds the same object; anything it is not sure of goes to the schema, so every refusal
 * (its field and message) is the schema's.
 */
export function parseEvent(input: unknown): { ok: true; event: AuditEvent } | { ok: false; problem: EventProblem } {
  const event = parseEventFast(input);
  return event !== undefined ? { ok: true, event } : parseEventWithSchema(input);
}

/** parseEvent through the zod schema only. Internal: the fast path is tested against it. */
export function parseEventWithSchema(input: unknown): { ok: true; event: AuditEvent } | { ok: false; problem: EventProblem } {
  const result = auditEventSchema.safeParse(input);
  if (result.success) return { ok: true, event: stripUndefined(result.data) };
  const issue = result.error.issues[0];
  const field = issue === undefined || issue.path.length === 0 ? 'event' : `event.${issue.path.map(String).join('.')}`;
  return { ok: false, problem: { field, message: issue?.message ?? 'is malformed' } };
}

/** The millisecond Unix time a UUIDv7 (an event id) was minted at. */
export function uuidV7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

/** RFC 8785 canonical JSON of an event: the bytes producers sign. */
export function canonicalEvent(event: AuditEvent): string {
  const text = writeCanonicalEvent(event) ?? canonicalize(event);
  if (text === undefined) throw new TypeError('event cannot be canonicalized');
  return text;
}

/** Hex SHA-256 of the canonical event: same id + same content = duplicate. */
export function contentHash(event: AuditEvent): string {
  return canonicalContentHash(canonicalEvent(event));
}

/** {@link contentHash} of an event whose canonical JSON is already computed. */
export function canonicalContentHash(canonical: string): string {
  return sha256Hex(canonical);
}

/** Drops keys whose value is undefined at the levels zod builds (event, actor, request). */
function stripUndefined(event: AuditEvent): AuditEvent {
  const clean = <T extends object>(o: T): T => {
    for (const key of Object.keys(o) as (keyof T)[]) if (o[key] === undefined) delete o[key];
    return o;
  };
  clean(event.actor);
  if (event.request !== undefined) clean(event.request);
  return clean(event);
}

// ---------------------------------------------------------------------------------------
// The fast paths. Each answers only when it is sure to answer as the reference does (zod
// for parseEvent, `canonicalize` for canonicalEvent) and returns undefined otherwise.

type Fields = Record<string, unknown>;

/** A plain object as zod's z.object and z.record see one (not an array, no exotic prototype). */
function isPlainObject(value: unknown): value is Fields {
  if (typeof value !== 'object' || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

const EVENT_KEYS = new Set(['id', 'occurredAt', 'actor', 'action', 'resource', 'before', 'after', 'reason', 'request', 'producer', 'keyId']);
const ACTOR_KEYS = new Set(['type', 'id', 'onBehalfOf']);
const REQUEST_KEYS = new Set(['ip', 'userAgent', 'traceId']);

/**
 * How many enumerable keys `o` has (own, and inherited, as `for…in` and zod's strict check
 * see them), or -1 when one of them is not in `known`. The callers compare it with the
 * number of fields they found set: a key that holds undefined (zod keeps it as undefined,
 * or refuses it) or that is set but not enumerable makes them differ, and the schema decides.
 */
function countKnownKeys(o: Fields, known: ReadonlySet<string>): number {
  let n = 0;
  for (const key in o) {
    if (!known.has(key)) return -1;
    n += 1;
  }
  return n;
}

const isString = (value: unknown, min: number, max: number): value is string => typeof value === 'string' && value.length >= min && value.length <= max;

/** Deeper values go to the schema (which also meets any cycle there). */
const MAX_FAST_DEPTH = 64;
const NOT_JSON = Symbol('not JSON');

/** A copy of a JSON value as the schema's jsonValue builds it, or NOT_JSON when unsure. */
function copyJson(value: unknown, depth: number): JsonValue | typeof NOT_JSON {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : NOT_JSON;
    case 'object': {
      if (value === null) return null;
      if (depth >= MAX_FAST_DEPTH) return NOT_JSON;
      if (Array.isArray(value)) {
        const items = value as unknown[];
        const out = new Array<JsonValue>(items.length);
        for (let i = 0; i < items.length; i += 1) {
          const item = copyJson(items[i], depth + 1);
          if (item === NOT_JSON) return NOT_JSON;
          out[i] = item;
        }
        return out;
      }
      if (!isPlainObject(value)) return NOT_JSON;
      // The keys z.record takes: its own enumerable string keys, as Object.keys lists them,
      // but __proto__ (skipped there); a symbol key is an error there. Those two go to the schema.
      if (Object.getOwnPropertySymbols(value).length !== 0) return NOT_JSON;
      const out: Record<string, JsonValue> = {};
      for (const key of Object.keys(value)) {
        if (key === '__proto__') return NOT_JSON;
        const item = copyJson(value[key], depth + 1);
        if (item === NOT_JSON) return NOT_JSON;
        out[key] = item;
      }
      return out;
    }
    default:
      return NOT_JSON;
  }
}

/**
 * Actor ids the schema's subject-id rule has accepted: a valid id stays valid, and a set
 * lookup by the id itself is cheaper than building `user:<id>` for parseSubject's memo
 * every time. Bounded: when full it starts over.
 */
const validActorIds = new Set<string>();
const MAX_VALID_ACTOR_IDS = 20_000;

/** The schema's subject-id rule, called as the schema calls it. */
function isSubjectId(id: string): boolean {
  if (validActorIds.has(id)) return true;
  try {
    parseSubject(`user:${id}`, 'id');
  } catch {
    return false;
  }
  if (validActorIds.size >= MAX_VALID_ACTOR_IDS) validActorIds.clear();
  validActorIds.add(id);
  return true;
}

function isResource(value: string): boolean {
  try {
    parseResource(value);
    return true;
  } catch {
    return false;
  }
}

/**
 * {@link auditEventSchema} for the common, valid event, by hand: the same keys, types,
 * lengths, regular expressions and name checks, building the object the schema builds
 * (shape order, absent fields omitted, before/after copied). Undefined when the input is
 * invalid or anything is unusual: the schema then decides, with its own messages.
 * Internal (exported for the tests, not from the package).
 */
export function parseEventFast(input: unknown): AuditEvent | undefined {
  if (!isPlainObject(input)) return undefined;
  const { id, occurredAt, actor, action, resource, before, after, reason, request, producer, keyId } = input;
  if (typeof id !== 'string' || !UUID_V7.test(id)) return undefined;
  if (typeof occurredAt !== 'string' || !ISO_MS.test(occurredAt) || Number.isNaN(Date.parse(occurredAt))) return undefined;
  if (!isPlainObject(actor)) return undefined;
  const { type, id: actorId, onBehalfOf } = actor;
  // SUBJECT_TYPES spelled out (a type added there only takes the schema path until added here).
  if (type !== 'user' && type !== 'service' && type !== 'group') return undefined;
  if (typeof actorId !== 'string' || !isSubjectId(actorId)) return undefined;
  if (onBehalfOf !== undefined && !isString(onBehalfOf, 1, 256)) return undefined;
  if (countKnownKeys(actor, ACTOR_KEYS) !== (onBehalfOf === undefined ? 2 : 3)) return undefined;
  if (typeof action !== 'string' || !ACTION.test(action)) return undefined;
  if (typeof resource !== 'string' || !isResource(resource)) return undefined;
  if (reason !== undefined && !isString(reason, 1, 4096)) return undefined;
  if (typeof producer !== 'string' || !PRODUCER.test(producer)) return undefined;
  if (typeof keyId !== 'string' || !KEY_ID.test(keyId)) return undefined;
  let fields = 7;
  let requestOut: NonNullable<AuditEvent['request']> | undefined;
  if (request !== undefined) {
    if (!isPlainObject(request)) return undefined;
    const { ip, userAgent, traceId } = request;
    if (ip !== undefined && !isString(ip, 1, 64)) return undefined;
    if (userAgent !== undefined && !isString(userAgent, 1, 1024)) return undefined;
    if (traceId !== undefined && !isString(traceId, 1, 128)) return undefined;
    const present = (ip === undefined ? 0 : 1) + (userAgent === undefined ? 0 : 1) + (traceId === undefined ? 0 : 1);
    if (present === 0 || countKnownKeys(request, REQUEST_KEYS) !== present) return undefined;
    requestOut = {};
    if (ip !== undefined) requestOut.ip = ip;
    if (userAgent !== undefined) requestOut.userAgent = userAgent;
    if (traceId !== undefined) requestOut.traceId = traceId;
    fields += 1;
  }
  const beforeOut = before === undefined ? undefined : copyJson(before, 0);
  const afterOut = after === undefined ? undefined : copyJson(after, 0);
  if (beforeOut === NOT_JSON || afterOut === NOT_JSON) return undefined;
  fields += (before === undefined ? 0 : 1) + (after === undefined ? 0 : 1) + (reason === undefined ? 0 : 1);
  if (countKnownKeys(input, EVENT_KEYS) !== fields) return undefined;
  // The schema's shape order.
  const event: AuditEvent = {
    id,
    occurredAt,
    actor: onBehalfOf === undefined ? { type, id: actorId } : { type, id: actorId, onBehalfOf },
    action,
    resource,
  } as AuditEvent;
  if (beforeOut !== undefined) event.before = beforeOut;
  if (afterOut !== undefined) event.after = afterOut;
  if (reason !== undefined) event.reason = reason;
  if (requestOut !== undefined) event.request = requestOut;
  event.producer = producer;
  event.keyId = keyId;
  return event;
}

const isWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** A string JSON.stringify writes as it is, between quotes: no `"`, `\`, control character or surrogate. */
// eslint-disable-next-line no-control-regex
const PLAIN_STRING = /^[^"\\\u0000-\u001f\uD800-\uDFFF]*$/;

/**
 * A string as RFC 8785 (and `canonicalize`) writes it, or undefined for anything else:
 * JSON.stringify's escaping is RFC 8785's for well-formed strings; `canonicalize`
 * refuses a lone surrogate (it throws, and so will canonicalEvent, through it).
 */
function jsonString(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  if (PLAIN_STRING.test(value)) return `"${value}"`;
  if (isWellFormed !== undefined ? !isWellFormed.call(value) : LONE_SURROGATE.test(value)) return undefined;
  return JSON.stringify(value);
}

/** JSON.stringify(value), cheaper for the common string that needs no escaping. Internal. */
export function jsonQuote(value: string): string {
  return PLAIN_STRING.test(value) ? `"${value}"` : JSON.stringify(value);
}

/** How many enumerable keys of `o` hold a value (canonicalize omits undefined ones), or -1 for an unknown key. */
function countDefinedKeys(o: Fields, known: ReadonlySet<string>): number {
  let n = 0;
  for (const key in o) {
    if (!known.has(key)) return -1;
    if (o[key] !== undefined) n += 1;
  }
  return n;
}

/** A plain object canonicalize would write as it is (no toJSON of its own to call). */
const isPlainData = (value: unknown): value is Fields => isPlainObject(value) && typeof value.toJSON !== 'function';

function actorJson(actor: unknown): string | undefined {
  if (!isPlainData(actor)) return undefined;
  const id = jsonString(actor.id);
  const type = jsonString(actor.type);
  if (id === undefined || type === undefined) return undefined;
  if (actor.onBehalfOf === undefined) return countDefinedKeys(actor, ACTOR_KEYS) === 2 ? `{"id":${id},"type":${type}}` : undefined;
  const onBehalfOf = jsonString(actor.onBehalfOf);
  if (onBehalfOf === undefined) return undefined;
  return countDefinedKeys(actor, ACTOR_KEYS) === 3 ? `{"id":${id},"onBehalfOf":${onBehalfOf},"type":${type}}` : undefined;
}

const REQUEST_ORDER = ['ip', 'traceId', 'userAgent'] as const;

function requestJson(request: unknown): string | undefined {
  if (!isPlainData(request)) return undefined;
  let text = '';
  let written = 0;
  for (const key of REQUEST_ORDER) {
    const value = request[key];
    if (value === undefined) continue;
    const json = jsonString(value);
    if (json === undefined) return undefined;
    text += `${written === 0 ? '' : ','}"${key}":${json}`;
    written += 1;
  }
  return countDefinedKeys(request, REQUEST_KEYS) === written ? `{${text}}` : undefined;
}

/** canonicalize(value) for a JSON-like value; undefined for what canonicalize writes oddly (a function) or refuses. */
function freeJson(value: unknown): string | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'object') {
    const fast = plainJson(value, 0);
    if (fast !== undefined) return fast;
    try {
      return canonicalize(value);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * `canonicalize(value)` written directly for plain data (what parseEvent builds: plain
 * objects and arrays of strings, finite numbers, booleans and null), without its Set of
 * seen objects and its per-character surrogate scan of every key; the same text: keys
 * sorted by UTF-16 code units (Array.prototype.sort), numbers and well-formed strings as
 * JSON.stringify writes them, undefined members skipped. Undefined for anything else (a
 * toJSON, a non-plain object or array, a hole, a symbol, NaN, a lone surrogate, a deep
 * value): the caller then runs `canonicalize`, which gives its own answer or error.
 */
function plainJson(value: unknown, depth: number): string | undefined {
  switch (typeof value) {
    case 'string':
      return jsonString(value);
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : undefined;
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (depth >= MAX_FAST_DEPTH) return undefined;
      if (Array.isArray(value)) {
        if (Object.getPrototypeOf(value) !== Array.prototype || typeof (value as { toJSON?: unknown }).toJSON === 'function') return undefined;
        const items = value as unknown[];
        let text = '[';
        for (let i = 0; i < items.length; i += 1) {
          if (!(i in items)) return undefined;
          const item = items[i];
          // canonicalize writes an undefined or symbol item as null.
          const json = item === undefined ? 'null' : plainJson(item, depth + 1);
          if (json === undefined) return undefined;
          text += i === 0 ? json : `,${json}`;
        }
        return `${text}]`;
      }
      if (!isPlainData(value)) return undefined;
      let text = '{';
      let first = true;
      for (const key of Object.keys(value).sort()) {
        const item = value[key];
        if (item === undefined) continue;
        const name = jsonString(key);
        const json = plainJson(item, depth + 1);
        if (name === undefined || json === undefined) return undefined;
        text += first ? `${name}:${json}` : `,${name}:${json}`;
        first = false;
      }
      return `${text}}`;
    }
    default:
      return undefined;
  }
}

/** `,"name":<json>` for an optional member that is set, '' when it is not, undefined when it has no canonical form. */
function member(name: string, value: unknown, json: (value: unknown) => string | undefined): string | undefined {
  if (value === undefined) return '';
  const text = json(value);
  return text === undefined ? undefined : `,"${name}":${text}`;
}

/**
 * `canonicalize(event)` for an event of the known shape, written directly: the keys in
 * RFC 8785 order (UTF-16 code units: action < actor < after < before < id < keyId <
 * occurredAt < producer < reason < request < resource), `canonicalize` itself only for the
 * free-form before and after. Undefined when the event is not of that shape (an unknown
 * key, a non-string field, a lone surrogate, a toJSON, NaN, …): the caller then runs
 * `canonicalize(event)`, which gives its own answer or error.
 */
function writeCanonicalEvent(event: AuditEvent): string | undefined {
  const e: unknown = event;
  if (!isPlainData(e)) return undefined;
  const action = jsonString(e.action);
  const actor = actorJson(e.actor);
  const id = jsonString(e.id);
  const keyId = jsonString(e.keyId);
  const occurredAt = jsonString(e.occurredAt);
  const producer = jsonString(e.producer);
  const resource = jsonString(e.resource);
  if (action === undefined || actor === undefined || id === undefined || keyId === undefined || occurredAt === undefined || producer === undefined || resource === undefined) return undefined;
  const after = member('after', e.after, freeJson);
  const before = member('before', e.before, freeJson);
  const reason = member('reason', e.reason, jsonString);
  const request = member('request', e.request, requestJson);
  if (after === undefined || before === undefined || reason === undefined || request === undefined) return undefined;
  const fields = 7 + (after === '' ? 0 : 1) + (before === '' ? 0 : 1) + (reason === '' ? 0 : 1) + (request === '' ? 0 : 1);
  if (countDefinedKeys(e, EVENT_KEYS) !== fields) return undefined;
  return `{"action":${action},"actor":${actor}${after}${before},"id":${id},"keyId":${keyId},"occurredAt":${occurredAt},"producer":${producer}${reason}${request},"resource":${resource}}`;
}
