/**
 * The cache's reads of Postgres: unit fills (UNIT_FILL_SQL, the grant view statement's
 * per-unit shape, pg-grant-store.ts), the changelog since a revision, and the revision.
 *
 * Invariant: a fill is ONE statement, so one snapshot: its units, its changelog and its
 * revision belong together (every write bumps the one-row warden_revision under a row lock
 * in its own transaction). That is what makes a fill from a lagging standby safe (see
 * read-replica-router.ts): its units are Postgres at some committed revision R', and its
 * changelog since `applied` is committed history up to R'. The reader only reads; the
 * caller decides what is admitted (freshness-tracker.ts).
 */
import type { Attributes } from '../../domain/model.js';
import type pg from 'pg';
import { UnavailableError } from '@warden/errors';
import { storeSpan } from '../../instruments.js';
import { CHANGES_SINCE_SQL, REVISION_SQL, touchedByRevision, type ChangeRow } from '../postgres/grant-changes.js';
import { groupsByMember, UNIT_FILL_SQL, type BindingRow, type RoleRow, type UnitFillRow } from '../postgres/pg-grant-store.js';
import type { CacheCounters } from './cache-options.js';
import { orgKey, resourceKey, subjectKey, unitKeysByRevision } from './cache-keys.js';
import type { TouchedByRevision } from './freshness-tracker.js';
import { attrUnitText, orgUnitText, subjectUnitText } from './unit-codec.js';

/** What one fill read: at `revision`, the changelog since the `since` asked, and each unit's text by key. */
export interface UnitFill {
  readonly revision: number;
  readonly changes: TouchedByRevision;
  /** Every requested unit, plus the subject units of every group the subjects reach. */
  readonly texts: ReadonlyMap<string, string>;
}

/** Anything that runs a query: a pool or a dedicated client. */
type Queryable = Pick<pg.Pool | pg.Client, 'query'>;

export class PgUnitReader {
  constructor(private readonly counters: CacheCounters) {}

  /**
   * One statement on `pool`: the units of `keys` (subjects with their whole group closure) and
   * the changelog after `since`. UnavailableError when Postgres cannot be read.
   */
  async fill(pool: pg.Pool, keys: readonly string[], since: number, fromReadReplica: boolean): Promise<UnitFill> {
    const subjects: string[] = [];
    const paths: string[] = [];
    const orgs: string[] = [];
    for (const key of keys) {
      const rest = key.slice(2);
      if (key.startsWith('s:')) subjects.push(rest);
      else if (key.startsWith('r:')) paths.push(rest);
      else orgs.push(rest);
    }
    let row: UnitFillRow;
    try {
      this.counters.pgFills++;
      if (fromReadReplica) this.counters.readReplicaFills++;
      // The Postgres read behind a view (named like PgGrantStore's): units plus the changelog since `since`.
      row = (
        await storeSpan(
          'postgres grant view',
          {
            'db.system.name': 'postgresql', 'db.operation.name': 'SELECT', 'warden.cache': 'fill', 'warden.subjects': subjects.length, 'warden.scopes': paths.length,
            'warden.read': fromReadReplica ? 'replica' : 'primary',
          },
          () => pool.query<UnitFillRow>(UNIT_FILL_SQL, [subjects, paths, orgs, since]),
        )
      ).rows[0]!;
    } catch (error) {
      throw new UnavailableError(`the grant store (Postgres${fromReadReplica ? ' read replica' : ''}) could not be read`, { cause: error });
    }

    const texts = new Map<string, string>();
    const edges = groupsByMember(row.edges);
    const bindings = new Map<string, BindingRow[]>();
    for (const b of row.bindings) {
      const list = bindings.get(b.subject) ?? [];
      list.push(b);
      bindings.set(b.subject, list);
    }
    const directory = new Map<string, Record<string, Attributes>>();
    for (const [org, subject, attributes] of row.directory) {
      const entry = directory.get(subject) ?? {};
      entry[org] = attributes;
      directory.set(subject, entry);
    }
    for (const subject of row.subjects) texts.set(subjectKey(subject), subjectUnitText(edges.get(subject), bindings.get(subject) ?? [], directory.get(subject)));
    for (const path of paths) texts.set(resourceKey(path), attrUnitText(row.attributes[path]));
    const rolesByOrg = new Map<string, RoleRow[]>();
    for (const r of row.roles) {
      const list = rolesByOrg.get(r.org) ?? [];
      list.push(r);
      rolesByOrg.set(r.org, list);
    }
    for (const org of orgs) texts.set(orgKey(org), orgUnitText(rolesByOrg.get(org) ?? [], row.catalogues[org]));
    return { revision: Number(row.revision), changes: changesOf(row.changes), texts };
  }

  /** The current revision and the changelog after `since` (one snapshot), on the primary. */
  async changesSince(pool: pg.Pool, since: number): Promise<{ readonly revision: number; readonly changes: TouchedByRevision }> {
    const { rows } = await pool.query<{ revision: string; changes: ChangeRow[] }>(CHANGES_SINCE_SQL, [since]);
    return { revision: Number(rows[0]!.revision), changes: changesOf(rows[0]!.changes) };
  }

  /** The current revision where `db` reads. */
  async revision(db: Queryable): Promise<number> {
    const { rows } = await db.query<{ revision: string }>(REVISION_SQL);
    return Number(rows[0]!.revision);
  }
}

const changesOf = (rows: readonly ChangeRow[]): TouchedByRevision => unitKeysByRevision(touchedByRevision(rows));
