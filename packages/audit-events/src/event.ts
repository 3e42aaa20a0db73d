/**
 * The audit event: what a producer signs. Its wire form for signing is the
 * RFC 8785 canonical JSON of the object below (camelCase keys; optional fields
 * omitted when absent). Pure: no I/O.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { z } from 'zod';
import { parseResource, parseSubject, SUBJECT_TYPES } from '@warden/names';

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

export function parseEvent(input: unknown): { ok: true; event: AuditEvent } | { ok: false; problem: EventProblem } {
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
  const text = canonicalize(event);
  if (text === undefined) throw new TypeError('event cannot be canonicalized');
  return text;
}

/** Hex SHA-256 of the canonical event: same id + same content = duplicate. */
export function contentHash(event: AuditEvent): string {
  return createHash('sha256').update(canonicalEvent(event)).digest('hex');
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
