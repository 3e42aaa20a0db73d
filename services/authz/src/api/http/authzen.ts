/**
 * The OpenID AuthZEN Authorization API 1.0 on Warden (docs/authzen.md):
 *   POST /access/v1/evaluation, /access/v1/evaluations,
 *   POST /access/v1/search/subject, /search/resource, /search/action,
 *   GET  /.well-known/authzen-configuration.
 *
 * Mapping: subject {type, id} is the Warden subject `type:id` (type user, service or
 * group); resource {type, id}: `id` is the Warden resource path and `type` must be
 * the type of its last segment; action `name` is the Warden action (`flags:enable`);
 * subject/resource `properties` reach conditions as subject.attributes / resource.attributes;
 * `context` is `request`. A deny is 200 with decision false.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../../domain/caller.js';
import type { Authorizer } from '../../usecases/check.js';
import { validateCheck } from '../../domain/check.js';
import { InvalidArgumentError } from '@warden/errors';
import { isSubjectType, SUBJECT_TYPES } from '@warden/names';
import type { CheckInput, CheckResult } from '../../domain/model.js';
import type { Lookups, PageResult } from '../../usecases/lookups.js';
import { evaluationSchema, evaluationsSchema, searchActionSchema, searchResourceSchema, searchSubjectSchema } from './schemas.js';

export interface Entity {
  type: string;
  id?: string;
  properties?: Record<string, unknown>;
}
interface Action {
  name: string;
  properties?: Record<string, unknown>;
}
interface Tuple {
  subject?: Entity;
  action?: Action;
  resource?: Entity;
  context?: Record<string, unknown>;
}
interface PageIn {
  token?: string;
  limit?: number;
}

export function subjectName(subject: Entity, field: string): string {
  if (!isSubjectType(subject.type)) throw new InvalidArgumentError(`${field}.type`, `${JSON.stringify(subject.type)} is not one of ${SUBJECT_TYPES.join(', ')}`);
  return `${subject.type}:${subject.id ?? ''}`;
}

export function resourcePath(resource: Entity, field: string): string {
  const id = resource.id ?? '';
  const last = id.slice(id.lastIndexOf('/') + 1);
  const type = last.slice(0, last.indexOf(':'));
  if (type !== resource.type) {
    throw new InvalidArgumentError(`${field}.type`, `is ${JSON.stringify(resource.type)} but ${field}.id (a Warden path) ends in a ${JSON.stringify(type)} segment`);
  }
  return id;
}

function toCheck(tuple: Required<Pick<Tuple, 'subject' | 'action' | 'resource'>> & Tuple, field: string): CheckInput {
  return {
    subject: subjectName(tuple.subject, `${field}subject`),
    action: tuple.action.name,
    resource: resourcePath(tuple.resource, `${field}resource`),
    context: tuple.context,
    subjectAttributes: tuple.subject.properties,
    resourceAttributes: tuple.resource.properties,
  };
}

/** Makes a requestable-denial hint (docs/approvals.md, ARAP Draft 1) for a denial, or undefined when it is not requestable. */
export type RequestableHint = (check: CheckInput, result: CheckResult, base: string) => Record<string, unknown> | undefined;

function decisionOf(result: CheckResult, hint?: Record<string, unknown>) {
  return {
    decision: result.decision === 'ALLOW',
    context: {
      id: result.reason.code.toLowerCase(),
      reason_admin: { en: result.reason.message },
      warden: { decision: result.decision, revision: result.revision },
      // ARAP: the machine-readable reason the PEP echoes as denial.reason, and where to ask.
      ...(hint !== undefined ? { reason: result.reason.code.toLowerCase(), access_request: hint } : {}),
    },
  };
}

function pageOf<T>(page: PageResult<string>, map: (value: string) => T) {
  return { results: page.results.map(map), page: { next_token: page.nextToken, count: page.results.length } };
}

function splitSubject(subject: string) {
  const colon = subject.indexOf(':');
  return { type: subject.slice(0, colon), id: subject.slice(colon + 1) };
}

function lookupPage(page: PageIn | undefined) {
  return page === undefined ? undefined : { token: page.token, limit: page.limit };
}

export interface AuthzenDeps {
  readonly authorizer: Authorizer;
  readonly lookups: Lookups;
  /** The caller of a request, set by the authentication hook. */
  readonly callerOf: (request: FastifyRequest) => Caller;
  readonly publicUrl: string | undefined;
  /** ARAP: the hint a requestable denial carries (absent: no denial is requestable). */
  readonly requestable?: RequestableHint | undefined;
}

export function registerAuthzen(app: FastifyInstance, deps: AuthzenDeps): void {
  const { authorizer, lookups, callerOf } = deps;

  const baseOf = (request: FastifyRequest) => deps.publicUrl?.replace(/\/$/, '') ?? `${request.protocol}://${request.host}`;
  const decide = (request: FastifyRequest, check: CheckInput, result: CheckResult) =>
    decisionOf(result, result.decision === 'ALLOW' ? undefined : deps.requestable?.(check, result, baseOf(request)));

  app.get('/.well-known/authzen-configuration', { config: { public: true } }, async (request) => {
    const base = baseOf(request);
    return {
      ...(deps.requestable !== undefined ? { access_request_endpoint: `${base}/access/v1/requests` } : {}),
      policy_decision_point: base,
      access_evaluation_endpoint: `${base}/access/v1/evaluation`,
      access_evaluations_endpoint: `${base}/access/v1/evaluations`,
      search_subject_endpoint: `${base}/access/v1/search/subject`,
      search_resource_endpoint: `${base}/access/v1/search/resource`,
      search_action_endpoint: `${base}/access/v1/search/action`,
    };
  });

  app.post<{ Body: Required<Pick<Tuple, 'subject' | 'action' | 'resource'>> & Tuple }>('/access/v1/evaluation', { schema: { body: evaluationSchema } }, async (request) => {
    const check = toCheck(request.body, '');
    return decide(request, check, await authorizer.check(callerOf(request), check));
  });

  app.post<{ Body: Tuple & { evaluations?: Tuple[]; options?: { evaluations_semantic?: string } } }>(
    '/access/v1/evaluations',
    { schema: { body: evaluationsSchema } },
    async (request) => {
      const body = request.body;
      const caller = callerOf(request);
      if (body.evaluations === undefined || body.evaluations.length === 0) {
        // Without an evaluations array this is a single evaluation (AuthZEN §7.1).
        for (const key of ['subject', 'action', 'resource'] as const) {
          if (body[key] === undefined) throw new InvalidArgumentError(key, 'is required when there is no evaluations array');
        }
        const check = toCheck(body as Required<Tuple>, '');
        return decide(request, check, await authorizer.check(caller, check));
      }
      // Defaults from the top level; an item's own values take precedence.
      const items = body.evaluations.map((item) => ({
        subject: item.subject ?? body.subject,
        action: item.action ?? body.action,
        resource: item.resource ?? body.resource,
        context: item.context ?? body.context,
      }));
      type Item = { check: CheckInput } | { error: string };
      const prepared: Item[] = items.map((item, i) => {
        for (const key of ['subject', 'action', 'resource'] as const) {
          if (item[key] === undefined) throw new InvalidArgumentError(`evaluations[${i}].${key}`, 'is required (in the item or as a top-level default)');
        }
        try {
          const check = toCheck(item as Required<Tuple>, '');
          validateCheck(check);
          return { check };
        } catch (error) {
          if (error instanceof InvalidArgumentError) return { error: error.message };
          throw error;
        }
      });
      const valid = prepared.flatMap((p) => ('check' in p ? [p.check] : []));
      const decided = valid.length > 0 ? (await authorizer.checkBatch(caller, valid)).results : [];
      const results: Array<ReturnType<typeof decisionOf> | { decision: false; context: { error: { status: number; message: string } } }> = [];
      let next = 0;
      const semantic = body.options?.evaluations_semantic ?? 'execute_all';
      for (const p of prepared) {
        // Per-item problems with Warden names are that item's error, decided closed (AuthZEN §7.2 errors).
        const entry = 'check' in p ? decide(request, p.check, decided[next++]!) : { decision: false as const, context: { error: { status: 400, message: p.error } } };
        results.push(entry);
        if (semantic === 'deny_on_first_deny' && !entry.decision) break;
        if (semantic === 'permit_on_first_permit' && entry.decision) break;
      }
      return { evaluations: results };
    },
  );

  app.post<{ Body: { subject: Entity; action: Action; resource: Entity; context?: Record<string, unknown>; page?: PageIn } }>(
    '/access/v1/search/subject',
    { schema: { body: searchSubjectSchema } },
    async (request) => {
      const { subject, action, resource, context, page } = request.body;
      if (!isSubjectType(subject.type)) throw new InvalidArgumentError('subject.type', `${JSON.stringify(subject.type)} is not one of ${SUBJECT_TYPES.join(', ')}`);
      const found = await lookups.lookupSubjects(callerOf(request), { action: action.name, resource: resourcePath(resource, 'resource'), subjectType: subject.type, context, page: lookupPage(page) });
      return pageOf(found, splitSubject);
    },
  );

  app.post<{ Body: { subject: Entity; action: Action; resource: Entity; context?: Record<string, unknown>; page?: PageIn } }>(
    '/access/v1/search/resource',
    { schema: { body: searchResourceSchema } },
    async (request) => {
      const { subject, action, resource, context, page } = request.body;
      const caller = callerOf(request);
      const scope = resource.properties?.['scope'];
      if (scope !== undefined && typeof scope !== 'string') throw new InvalidArgumentError('resource.properties.scope', 'must be a string (a Warden path)');
      const under = scope ?? (caller.kind === 'api_key' ? `org:${caller.org}` : undefined);
      if (under === undefined) throw new InvalidArgumentError('resource.properties.scope', 'is required: the Warden path to search under, e.g. "org:acme"');
      const found = await lookups.lookupResources(caller, { subject: subjectName(subject, 'subject'), action: action.name, resourceType: resource.type, scope: under, context, page: lookupPage(page) });
      return pageOf(found, (id) => ({ type: resource.type, id }));
    },
  );

  app.post<{ Body: { subject: Entity; resource: Entity; context?: Record<string, unknown>; page?: PageIn } }>(
    '/access/v1/search/action',
    { schema: { body: searchActionSchema } },
    async (request) => {
      const { subject, resource, context, page } = request.body;
      const found = await lookups.lookupActions(callerOf(request), { subject: subjectName(subject, 'subject'), resource: resourcePath(resource, 'resource'), context, page: lookupPage(page) });
      return pageOf(found, (name) => ({ name }));
    },
  );
}
