/** Timeline filters, their validation and cursors. Pure. */
import { InvalidArgumentError } from '@warden/errors';
import { ACTION } from '@warden/audit-events';
import { decodePageToken, encodePageToken } from '@warden/service-kit';
import { SEGMENT_ID_PATTERN as ID_PATTERN, parseOrgId, parseSubject, scopeOf, scopePath } from '@warden/names';

export type Order = 'newest' | 'oldest';

export type EventFilter = {
  readonly org: string;
  readonly project?: string;
  readonly environment?: string;
  readonly resource?: string;
  readonly resourcePrefix?: string;
  readonly actor?: { readonly type: string; readonly id: string };
  readonly actions?: readonly string[];
  /** ISO 8601 ms UTC, inclusive. */
  readonly since?: string;
  /** ISO 8601 ms UTC, exclusive. */
  readonly until?: string;
  readonly order: Order;
};

export type Cursor = { readonly occurredAt: string; readonly seq: number };

export type FilterInput = {
  org: string;
  project?: string | undefined;
  environment?: string | undefined;
  resource?: string | undefined;
  resourcePrefix?: string | undefined;
  actor?: string | undefined;
  actions?: readonly string[] | undefined;
  since?: Date | undefined;
  until?: Date | undefined;
  order?: Order | undefined;
};

/** Validates a filter; field names are reported under `prefix` (e.g. `filter`). */
export function parseFilter(input: FilterInput, prefix = 'filter'): EventFilter {
  const f = (name: string) => `${prefix}.${name}`;
  if (input.org === '') throw new InvalidArgumentError(f('org'), 'is required');
  const org = parseOrgId(input.org, f('org'));
  const filter: { -readonly [K in keyof EventFilter]: EventFilter[K] } = { org, order: input.order ?? 'newest' };
  if (input.project !== undefined) {
    if (!ID_PATTERN.test(input.project)) throw new InvalidArgumentError(f('project'), `"${input.project}" is not a project id`);
    filter.project = input.project;
  }
  if (input.environment !== undefined) {
    if (input.project === undefined) throw new InvalidArgumentError(f('environment'), 'requires project');
    if (!ID_PATTERN.test(input.environment)) throw new InvalidArgumentError(f('environment'), `"${input.environment}" is not an environment id`);
    filter.environment = input.environment;
  }
  for (const [key, value] of [['resource', input.resource], ['resourcePrefix', input.resourcePrefix]] as const) {
    if (value === undefined) continue;
    const field = f(key === 'resource' ? 'resource' : 'resource_prefix');
    const scope = scopeOf(value, field);
    if (scope.org !== org) throw new InvalidArgumentError(field, `is not in organization ${org}`);
    if (filter.project !== undefined && scope.project !== '' && scope.project !== filter.project) {
      throw new InvalidArgumentError(field, `is not in project ${filter.project}`);
    }
    if (filter.environment !== undefined && scope.environment !== '' && scope.environment !== filter.environment) {
      throw new InvalidArgumentError(field, `is not in environment ${filter.environment}`);
    }
    filter[key] = value;
  }
  if (input.actor !== undefined) filter.actor = parseSubject(input.actor, f('actor'));
  if (input.actions !== undefined && input.actions.length > 0) {
    if (input.actions.length > 100) throw new InvalidArgumentError(f('actions'), 'has more than 100 entries');
    input.actions.forEach((action, i) => {
      if (!ACTION.test(action)) throw new InvalidArgumentError(`${f('actions')}[${i}]`, `"${action}" is not an action like flag.enabled`);
    });
    filter.actions = [...input.actions];
  }
  if (input.since !== undefined) filter.since = isoOf(input.since, f('since'));
  if (input.until !== undefined) filter.until = isoOf(input.until, f('until'));
  if (filter.since !== undefined && filter.until !== undefined && filter.since >= filter.until) {
    throw new InvalidArgumentError(f('until'), 'must be later than since');
  }
  return filter;
}

/**
 * The narrowest resource path the filter is confined to: what authz is asked
 * about (`audit:read` on it), so a caller never sees outside its scope.
 */
export function filterScope(filter: EventFilter): string {
  if (filter.resource !== undefined) return filter.resource;
  if (filter.resourcePrefix !== undefined) return filter.resourcePrefix;
  return scopePath(filter);
}

function isoOf(date: Date, field: string): string {
  if (Number.isNaN(date.getTime())) throw new InvalidArgumentError(field, 'is not a valid time');
  return date.toISOString();
}

const isCursorPosition = (value: unknown): value is { t: string; s: number } => {
  const v = value as { t?: unknown; s?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.t === 'string' && !Number.isNaN(Date.parse(v.t)) && typeof v.s === 'number' && Number.isSafeInteger(v.s);
};

/** A Query cursor, in the one page-token format (@warden/service-kit): the last row's position, for this order. */
export function encodeCursor(cursor: Cursor, order: Order): string {
  return encodePageToken({ t: cursor.occurredAt, s: cursor.seq }, ['events', order]);
}

/** The position a cursor of this order carries; InvalidArgumentError(`field`) for anything Query did not return. */
export function decodeCursor(text: string, order: Order, field = 'cursor'): Cursor {
  const position = decodePageToken(text, ['events', order], field, isCursorPosition);
  if (position === undefined) throw new InvalidArgumentError(field, 'is not a token this query returned');
  return { occurredAt: position.t, seq: position.s };
}
