/**
 * The OpenID AuthZEN Authorization API 1.0 (final) on Warden (docs/authzen.md):
 *   POST /access/v1/evaluation, /access/v1/evaluations,
 *   POST /access/v1/search/subject, /search/resource, /search/action,
 *   GET  /.well-known/authzen-configuration.
 *
 * Names (domain/client-names.ts): subject {type, id} is the subject `type:id` (user, service,
 * group or a type the organization declares); resource {type, id} is a Warden path when id is
 * one (`org:…`), else the client's id of a resource type the organization declares, mapped into
 * its tree (the organization is the API key's); action `name` is the action (the organization's
 * closed catalogue decides it). Properties reach conditions as subject/resource/action
 * `attributes`; `context` is `request`. A deny is 200 with decision false. Results come back in
 * the caller's form.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Caller } from '../../domain/caller.js';
import type { Authorizer } from '../../usecases/check.js';
import { InvalidArgumentError, PermissionDeniedError } from '@warden/errors';
import { isSubjectTypeName } from '@warden/names';
import { BUILT_IN_CATALOGUE, type Catalogue } from '../../domain/catalogue.js';
import { clientResourceOf, resourcePathOf } from '../../domain/client-names.js';
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
type FullTuple = Required<Pick<Tuple, 'subject' | 'action' | 'resource'>> & Tuple;

/** How a request's names map: the organization (of the caller's key) and its catalogue, read once when needed. */
interface Names {
  readonly org: string | undefined;
  catalogue(): Promise<Catalogue>;
}

function namesOf(authorizer: Authorizer, caller: Caller): Names {
  // The organization client names are mapped into: the API key's, or the one the token names.
  const org = caller.kind === 'trusted_local' ? undefined : caller.org;
  let loaded: Promise<Catalogue> | undefined;
  return { org, catalogue: () => (loaded ??= org === undefined ? Promise.resolve(BUILT_IN_CATALOGUE) : authorizer.catalogueOf(caller, org)) };
}

const needsCatalogue = (entity: Entity | undefined): boolean => typeof entity?.id === 'string' && !entity.id.startsWith('org:');

/** A client resource of a type the organization does not declare: a search about it finds nothing (an empty 200). */
const undeclared = (entity: Entity, names: Names, catalogue: Catalogue): boolean =>
  needsCatalogue(entity) && names.org !== undefined && catalogue.parentOf(entity.type) === undefined;

export function subjectName(subject: Entity, field: string): string {
  if (!isSubjectTypeName(subject.type)) throw new InvalidArgumentError(`${field}.type`, `${JSON.stringify(subject.type)} is not a subject type (lowercase letters, digits and _, e.g. user)`);
  return `${subject.type}:${subject.id ?? ''}`;
}

export function resourcePath(resource: Entity, field: string, names: Names, catalogue: Catalogue): string {
  const entity = { type: resource.type, id: resource.id ?? '', properties: resource.properties };
  if (entity.id.startsWith('org:')) return resourcePathOf('', catalogue, entity, field);
  if (names.org === undefined) throw new InvalidArgumentError(`${field}.id`, 'is not a Warden path (org:…); client ids are mapped in the organization of the API key or token (AUTHZ_JWT_ORG_CLAIM), and this caller has none');
  return resourcePathOf(names.org, catalogue, entity, field);
}

/** The Warden path of a client's resource in the caller's organization (for the profile routes beside AuthZEN's). */
export async function resourcePathFor(authorizer: Authorizer, caller: Caller, resource: Entity, field: string): Promise<string> {
  const names = namesOf(authorizer, caller);
  const catalogue = needsCatalogue(resource) ? await names.catalogue() : BUILT_IN_CATALOGUE;
  return resourcePath(resource, field, names, catalogue);
}

/** An item of a batch is checked here, not by the body schema, so a malformed item is that item's error. */
function checkShape(tuple: FullTuple, field: string): void {
  const object = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
  for (const key of ['subject', 'resource'] as const) {
    const entity: unknown = tuple[key];
    if (!object(entity)) throw new InvalidArgumentError(`${field}${key}`, 'must be an object {type, id}');
    const e = entity as Record<string, unknown>;
    if (typeof e['type'] !== 'string' || e['type'] === '') throw new InvalidArgumentError(`${field}${key}.type`, 'must be a non-empty string');
    if (typeof e['id'] !== 'string' || e['id'] === '') throw new InvalidArgumentError(`${field}${key}.id`, 'must be a non-empty string');
    if (e['properties'] !== undefined && !object(e['properties'])) throw new InvalidArgumentError(`${field}${key}.properties`, 'must be an object');
  }
  const action: unknown = tuple.action;
  if (!object(action) || typeof (action as Action).name !== 'string' || (action as Action).name === '') throw new InvalidArgumentError(`${field}action.name`, 'must be a non-empty string');
  if ((action as Action).properties !== undefined && !object((action as Action).properties)) throw new InvalidArgumentError(`${field}action.properties`, 'must be an object');
  if (tuple.context !== undefined && !object(tuple.context)) throw new InvalidArgumentError(`${field}context`, 'must be an object');
}

function toCheck(tuple: FullTuple, field: string, names: Names, catalogue: Catalogue): CheckInput {
  return {
    subject: subjectName(tuple.subject, `${field}subject`),
    action: tuple.action.name,
    resource: resourcePath(tuple.resource, `${field}resource`, names, catalogue),
    context: tuple.context,
    subjectAttributes: tuple.subject.properties,
    resourceAttributes: tuple.resource.properties,
    actionAttributes: tuple.action.properties,
  };
}

/** Makes a requestable-denial hint (docs/approvals.md, ARAP Draft 1) for a denial, or undefined when it is not requestable. */
export type RequestableHint = (check: CheckInput, result: CheckResult, base: string) => Promise<Record<string, unknown> | undefined>;

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

function errorOf(error: InvalidArgumentError | PermissionDeniedError) {
  return { decision: false as const, context: { error: { status: error instanceof PermissionDeniedError ? 403 : 400, message: error.message } } };
}

function pageOf<T>(page: PageResult<string>, map: (value: string) => T) {
  return { page: { next_token: page.nextToken, count: page.results.length }, results: page.results.map(map) };
}

const EMPTY_PAGE = { page: { next_token: '', count: 0 }, results: [] as never[] };

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
  const decide = async (request: FastifyRequest, check: CheckInput, result: CheckResult) =>
    decisionOf(result, result.decision === 'ALLOW' ? undefined : await deps.requestable?.(check, result, baseOf(request)));

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

  app.post<{ Body: FullTuple }>('/access/v1/evaluation', { schema: { body: evaluationSchema } }, async (request) => {
    const caller = callerOf(request);
    const names = namesOf(authorizer, caller);
    const catalogue = needsCatalogue(request.body.resource) ? await names.catalogue() : BUILT_IN_CATALOGUE;
    const check = toCheck(request.body, '', names, catalogue);
    return decide(request, check, await authorizer.check(caller, check));
  });

  app.post<{ Body: Tuple & { evaluations?: Tuple[]; options?: { evaluations_semantic?: string } } }>(
    '/access/v1/evaluations',
    { schema: { body: evaluationsSchema } },
    async (request) => {
      const body = request.body;
      const caller = callerOf(request);
      const names = namesOf(authorizer, caller);
      if (body.evaluations === undefined || body.evaluations.length === 0) {
        // Without an evaluations array this is a single evaluation (AuthZEN §7.1).
        for (const key of ['subject', 'action', 'resource'] as const) {
          if (body[key] === undefined) throw new InvalidArgumentError(key, 'is required when there is no evaluations array');
        }
        const catalogue = needsCatalogue(body.resource) ? await names.catalogue() : BUILT_IN_CATALOGUE;
        const check = toCheck(body as FullTuple, '', names, catalogue);
        return decide(request, check, await authorizer.check(caller, check));
      }
      // Defaults from the top level; an item's own values take precedence.
      const items = body.evaluations.map((item) => ({
        subject: item.subject ?? body.subject,
        action: item.action ?? body.action,
        resource: item.resource ?? body.resource,
        context: item.context ?? body.context,
      }));
      const catalogue = items.some((item) => needsCatalogue(item.resource)) ? await names.catalogue() : BUILT_IN_CATALOGUE;
      // Each item stands alone (AuthZEN §7.2 "Errors"): one that is malformed or that the caller
      // may not ask about is that item's error, decided closed; the others are answered.
      type Prepared = { check: CheckInput } | { error: InvalidArgumentError };
      const prepared: Prepared[] = items.map((item, i) => {
        try {
          for (const key of ['subject', 'action', 'resource'] as const) {
            if (item[key] === undefined) throw new InvalidArgumentError(`evaluations[${i}].${key}`, 'is required (in the item or as a top-level default)');
          }
          checkShape(item as FullTuple, `evaluations[${i}].`);
          return { check: toCheck(item as FullTuple, `evaluations[${i}].`, names, catalogue) };
        } catch (error) {
          if (error instanceof InvalidArgumentError) return { error };
          throw error;
        }
      });
      const checks = prepared.flatMap((p) => ('check' in p ? [p.check] : []));
      const decided = checks.length > 0 ? await authorizer.checkEach(caller, checks) : [];
      const semantic = body.options?.evaluations_semantic ?? 'execute_all';
      const results: Array<ReturnType<typeof decisionOf> | ReturnType<typeof errorOf>> = [];
      let next = 0;
      for (const p of prepared) {
        let entry: ReturnType<typeof decisionOf> | ReturnType<typeof errorOf>;
        if ('error' in p) entry = errorOf(p.error);
        else {
          const outcome = decided[next++]!;
          entry = 'error' in outcome ? errorOf(outcome.error) : await decide(request, p.check, outcome);
        }
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
      const caller = callerOf(request);
      const names = namesOf(authorizer, caller);
      const catalogue = needsCatalogue(resource) ? await names.catalogue() : BUILT_IN_CATALOGUE;
      if (undeclared(resource, names, catalogue)) return EMPTY_PAGE;
      const path = resourcePath(resource, 'resource', names, catalogue);
      // A subject type the organization does not have: nobody of it may do anything (an empty 200).
      // (Outside the key's organization the lookup answers 403 first.)
      const org = path.slice(4, path.includes('/') ? path.indexOf('/') : undefined);
      if (!isSubjectTypeName(subject.type)) return EMPTY_PAGE;
      if (names.org === undefined || org === names.org) {
        const known = names.org === undefined ? await authorizer.catalogueOf(caller, org) : await names.catalogue();
        if (!known.hasSubjectType(subject.type)) return EMPTY_PAGE;
      }
      const found = await lookups.lookupSubjects(caller, {
        action: action.name, resource: path, subjectType: subject.type, context, page: lookupPage(page),
        subjectAttributes: subject.properties, resourceAttributes: resource.properties, actionAttributes: action.properties,
      });
      return pageOf(found, splitSubject);
    },
  );

  app.post<{ Body: { subject: Entity; action: Action; resource: Entity; context?: Record<string, unknown>; page?: PageIn } }>(
    '/access/v1/search/resource',
    { schema: { body: searchResourceSchema } },
    async (request) => {
      const { subject, action, resource, context, page } = request.body;
      const caller = callerOf(request);
      const names = namesOf(authorizer, caller);
      const scope = resource.properties?.['scope'];
      if (scope !== undefined && typeof scope !== 'string') throw new InvalidArgumentError('resource.properties.scope', 'must be a string (a Warden path)');
      const under = scope ?? (names.org !== undefined ? `org:${names.org}` : undefined);
      if (under === undefined) throw new InvalidArgumentError('resource.properties.scope', 'is required: the Warden path to search under, e.g. "org:acme"');
      // A resource type nothing can be of: an empty 200.
      if (!isSubjectTypeName(resource.type)) return EMPTY_PAGE;
      const catalogue = await names.catalogue();
      const found = await lookups.lookupResources(caller, {
        subject: subjectName(subject, 'subject'), action: action.name, resourceType: resource.type, scope: under, context, page: lookupPage(page),
        subjectAttributes: subject.properties, resourceAttributes: resource.properties, actionAttributes: action.properties,
      });
      return pageOf(found, (path) => clientResourceOf(path, catalogue));
    },
  );

  app.post<{ Body: { subject: Entity; action?: Action; resource: Entity; context?: Record<string, unknown>; page?: PageIn } }>(
    '/access/v1/search/action',
    { schema: { body: searchActionSchema } },
    async (request) => {
      const { subject, resource, context, page } = request.body;
      const caller = callerOf(request);
      const names = namesOf(authorizer, caller);
      const catalogue = needsCatalogue(resource) ? await names.catalogue() : BUILT_IN_CATALOGUE;
      if (undeclared(resource, names, catalogue)) return EMPTY_PAGE;
      const found = await lookups.lookupActions(caller, {
        subject: subjectName(subject, 'subject'), resource: resourcePath(resource, 'resource', names, catalogue), context, page: lookupPage(page),
        subjectAttributes: subject.properties, resourceAttributes: resource.properties,
      });
      return pageOf(found, (name) => ({ name }));
    },
  );
}
