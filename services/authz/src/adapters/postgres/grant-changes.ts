/**
 * What a committed revision changed in the grant graph, in the Postgres adapter's own terms:
 * the changelog's kinds and keys (pg-writer.ts writes them) read back as the parts of the
 * graph they touched, the change notice the writer sends with NOTIFY at commit, and the
 * statement that reads the changelog since a revision.
 *
 * Invariants:
 *   - `touchedBy` never guesses: a change it cannot read (unknown kind, a binding without a
 *     subject) is `undefined`, and a notice then says `touched: null` (everything may have
 *     changed; a listener reads the changelog or drops what it holds).
 *   - A NOTIFY payload stays under Postgres's 8000-byte limit: a notice too big to list what
 *     it touched says `touched: null` instead.
 * Readers (the cache) map `Touched` to their own keys; nothing here knows a cache's format.
 */

/** The NOTIFY channel the writer announces each committed revision on (per database). */
export const GRANT_CHANGES_CHANNEL = 'warden_grants';

/** A changelog entry or a ChangeRecord, as far as readers of changes care. */
export interface ChangeLike {
  readonly kind: string;
  readonly key: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** The parts of the grant graph one or more changes touched. */
export interface Touched {
  /** Subjects whose direct groups or bindings changed. */
  readonly subjects: readonly string[];
  /** Resource paths whose stored attributes changed. */
  readonly resources: readonly string[];
  /** Organizations whose custom roles changed. */
  readonly orgs: readonly string[];
}

/** A committed revision and what it touched; `touched: null`: not listed (read the changelog). */
export interface GrantChangeNotice {
  readonly revision: number;
  readonly touched: Touched | null;
}

const NOTHING: Touched = { subjects: [], resources: [], orgs: [] };

function field(value: unknown, name: string): string | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const v = (value as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** What one change touched; undefined for a change it cannot read (then everything may have changed). */
export function touchedBy(change: ChangeLike): Touched | undefined {
  const [entity] = change.kind.split('.');
  switch (entity) {
    case 'binding': {
      const subjects = new Set<string>();
      for (const side of [change.before, change.after]) {
        const subject = field(side, 'subject');
        if (subject !== undefined) subjects.add(subject);
      }
      return subjects.size > 0 ? { ...NOTHING, subjects: [...subjects] } : undefined;
    }
    case 'resource':
      return { ...NOTHING, resources: [change.key] };
    case 'role': {
      const slash = change.key.indexOf('/');
      return slash > 0 ? { ...NOTHING, orgs: [change.key.slice(0, slash)] } : undefined;
    }
    case 'catalogue':
      // An organization's declared actions live in its unit.
      return { ...NOTHING, orgs: [change.key] };
    case 'directory': {
      // `<org>/<subject>`: the directory lives in the subject's unit.
      const slash = change.key.indexOf('/');
      return slash > 0 ? { ...NOTHING, subjects: [change.key.slice(slash + 1)] } : undefined;
    }
    case 'api_key':
      // API keys authenticate callers; they are not part of the grant graph.
      return NOTHING;
    case 'request':
      // Change and access requests: not part of the grant graph (an access request's binding is its own change).
      return NOTHING;
    case 'group_member': {
      const arrow = change.key.indexOf('<-');
      return arrow > 0 ? { ...NOTHING, subjects: [change.key.slice(arrow + 2)] } : undefined;
    }
    default:
      return undefined;
  }
}

/** What the changes touched together (each name once); undefined if any one cannot be read. */
export function touchedByAll(changes: readonly ChangeLike[]): Touched | undefined {
  const subjects = new Set<string>();
  const resources = new Set<string>();
  const orgs = new Set<string>();
  for (const change of changes) {
    const touched = touchedBy(change);
    if (touched === undefined) return undefined;
    for (const s of touched.subjects) subjects.add(s);
    for (const r of touched.resources) resources.add(r);
    for (const o of touched.orgs) orgs.add(o);
  }
  return { subjects: [...subjects], resources: [...resources], orgs: [...orgs] };
}

/** NOTIFY payloads must stay under 8000 bytes. */
export const NOTIFY_MAX_PAYLOAD = 7000;

/** A notice as JSON no longer than `maxLength` (else without its list). */
export function encodeGrantChangeNotice(notice: GrantChangeNotice, maxLength = NOTIFY_MAX_PAYLOAD): string {
  const payload = JSON.stringify(notice);
  return payload.length <= maxLength ? payload : JSON.stringify({ revision: notice.revision, touched: null } satisfies GrantChangeNotice);
}

/** The NOTIFY payload of a committed revision and its changes. */
export function grantChangeNotice(revision: number, changes: readonly ChangeLike[]): string {
  return encodeGrantChangeNotice({ revision, touched: touchedByAll(changes) ?? null });
}

const isNames = (value: unknown): value is string[] => Array.isArray(value) && value.every((v) => typeof v === 'string');

/** The notice in a payload, or undefined when it is not one. */
export function parseGrantChangeNotice(payload: string): GrantChangeNotice | undefined {
  let value: { revision?: unknown; touched?: unknown };
  try {
    value = JSON.parse(payload) as typeof value;
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  if (typeof value.revision !== 'number' || !Number.isSafeInteger(value.revision)) return undefined;
  if (value.touched === null) return { revision: value.revision, touched: null };
  const t = value.touched as { subjects?: unknown; resources?: unknown; orgs?: unknown } | undefined;
  if (t === undefined || typeof t !== 'object' || !isNames(t.subjects) || !isNames(t.resources) || !isNames(t.orgs)) return undefined;
  return { revision: value.revision, touched: { subjects: t.subjects, resources: t.resources, orgs: t.orgs } };
}

// --- reading the changelog -------------------------------------------------------------

/** Changelog rows a statement returns at most; more means "too many to list". */
export const CHANGES_LIMIT = 10_000;

/** A changelog row as the statements return it: revision, kind, key, before, after. */
export type ChangeRow = readonly [number | string, string, string, unknown, unknown];

/** A column of the changelog rows after the revision in parameter `param`, at most CHANGES_LIMIT + 1. */
export const changesSinceColumn = (param: string): string => `
(SELECT coalesce(json_agg(json_build_array(c.revision, c.kind, c.key, c.before, c.after) ORDER BY c.revision, c.seq), '[]'::json)
   FROM (SELECT revision, seq, kind, key, before, after FROM changelog WHERE revision > ${param}
         ORDER BY revision, seq LIMIT ${CHANGES_LIMIT + 1}) c)`;

/** The current revision and the changelog after $1, one snapshot. */
export const CHANGES_SINCE_SQL = `SELECT (SELECT revision FROM warden_revision) AS revision, ${changesSinceColumn('$1')} AS changes`;

/** The current revision. */
export const REVISION_SQL = 'SELECT revision FROM warden_revision';

/**
 * What each revision of changelog rows touched, revision by revision (a revision with no row
 * touched nothing); undefined when the rows were cut at CHANGES_LIMIT (more than can be listed).
 * `null` for a revision: it holds a change `touchedBy` cannot read.
 */
export function touchedByRevision(rows: readonly ChangeRow[]): Map<number, Touched | null> | undefined {
  if (rows.length > CHANGES_LIMIT) return undefined;
  const changes = new Map<number, ChangeLike[]>();
  for (const [rev, kind, key, before, after] of rows) {
    const r = Number(rev);
    const list = changes.get(r);
    if (list === undefined) changes.set(r, [{ kind, key, before, after }]);
    else list.push({ kind, key, before, after });
  }
  const out = new Map<number, Touched | null>();
  for (const [r, list] of changes) out.set(r, touchedByAll(list) ?? null);
  return out;
}
