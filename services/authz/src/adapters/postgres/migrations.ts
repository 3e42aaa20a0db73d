/**
 * Schema migrations, applied in order on start under an advisory lock, each in
 * its own transaction; safe to run from several replicas at once.
 */
import type pg from 'pg';

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'grant graph, changelog and outbox',
    sql: `
      -- One row: the revision of the newest committed write. Writers lock it, so
      -- revisions are assigned in commit order and a snapshot at revision N holds
      -- every write <= N.
      CREATE TABLE warden_revision (
        singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        revision bigint NOT NULL
      );
      INSERT INTO warden_revision (revision) VALUES (0);

      -- Every known resource (organizations, projects, environments, …) and the
      -- attributes Warden's rules read (protected, require_approval, …).
      CREATE TABLE resources (
        path text PRIMARY KEY,
        org text NOT NULL,
        attributes jsonb NOT NULL DEFAULT '{}',
        revision bigint NOT NULL
      );
      CREATE INDEX resources_org ON resources (org, path text_pattern_ops);

      -- Custom roles of an organization (system roles live in code).
      CREATE TABLE roles (
        org text NOT NULL,
        name text NOT NULL,
        description text,
        actions text[] NOT NULL,
        membership boolean NOT NULL DEFAULT false,
        ceiling text[],
        revision bigint NOT NULL,
        PRIMARY KEY (org, name)
      );

      -- member belongs to group (both subjects; groups may nest, cycles are harmless).
      CREATE TABLE group_members (
        org text NOT NULL,
        group_subject text NOT NULL,
        member text NOT NULL,
        revision bigint NOT NULL,
        PRIMARY KEY (member, group_subject)
      );
      CREATE INDEX group_members_group ON group_members (group_subject);

      CREATE TABLE bindings (
        id uuid PRIMARY KEY,
        org text NOT NULL,
        subject text NOT NULL,
        role text,
        actions text[],
        -- role name, or 'actions:' + the actions joined with ','; the grant's identity.
        grant_key text NOT NULL,
        scope text NOT NULL,
        effect text NOT NULL CHECK (effect IN ('allow', 'deny')),
        expires_at timestamptz,
        condition text,
        granted_by text,
        reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        revision bigint NOT NULL,
        CHECK ((role IS NULL) <> (actions IS NULL))
      );
      -- The Check read: bindings of a set of subjects on a set of scopes.
      CREATE INDEX bindings_subject_scope ON bindings (subject, scope);
      -- Lookups by resource ("who can …").
      CREATE INDEX bindings_scope ON bindings (scope);
      -- One binding per (subject, grant, scope, effect): applying a world twice changes nothing.
      CREATE UNIQUE INDEX bindings_natural_key ON bindings (subject, scope, effect, grant_key);

      -- Every change, attributable: who, what, before, after, why.
      CREATE TABLE changelog (
        revision bigint NOT NULL,
        seq integer NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        actor text NOT NULL,
        kind text NOT NULL,
        key text NOT NULL,
        before jsonb,
        after jsonb,
        reason text,
        PRIMARY KEY (revision, seq)
      );

      -- Audit events written in the same transaction as the change; a relay ships them.
      CREATE TABLE outbox (
        id uuid PRIMARY KEY,
        revision bigint NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        event jsonb NOT NULL,
        shipped_at timestamptz
      );
      CREATE INDEX outbox_unshipped ON outbox (created_at) WHERE shipped_at IS NULL;
    `,
  },
  {
    version: 2,
    name: 'api keys',
    sql: `
      -- Service API keys: the secret is never stored, only its SHA-256 (keys are
      -- 256-bit random, so a fast hash is enough). A key acts as its subject, and
      -- only within its organization.
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        org text NOT NULL,
        subject text NOT NULL,
        secret_sha256 bytea NOT NULL,
        description text,
        created_by text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        revoked_at timestamptz,
        revision bigint NOT NULL
      );
      CREATE INDEX api_keys_org ON api_keys (org, subject);
    `,
  },
  {
    version: 3,
    name: 'resource types for lookups',
    sql: `
      -- The type of a resource is its last segment's type (org:a/project:p -> project).
      ALTER TABLE resources ADD COLUMN type text GENERATED ALWAYS AS (regexp_replace(path, '^.*/|:.*$', '', 'g')) STORED;
      -- LookupResources: resources of a type under a scope, in path order (byte order, so prefix ranges work).
      CREATE INDEX resources_type_path ON resources (type, (path COLLATE "C"));
    `,
  },
  {
    version: 4,
    name: 'outbox delivery attempts',
    sql: `
      -- The relay counts refusals and keeps the last one, so an event the audit
      -- service keeps refusing is visible (and stays in the outbox: nothing is dropped).
      ALTER TABLE outbox ADD COLUMN attempts integer NOT NULL DEFAULT 0;
      ALTER TABLE outbox ADD COLUMN last_error text;
    `,
  },
  {
    version: 5,
    name: 'groups per organization, declared actions, platform keys, changes by organization',
    sql: `
      -- A group belongs to one organization: its identity is (org, group). A binding of
      -- organization O naming group:g means O's group g; no other organization can join it.
      ALTER TABLE group_members DROP CONSTRAINT group_members_pkey;
      ALTER TABLE group_members ADD PRIMARY KEY (org, member, group_subject);
      DROP INDEX group_members_group;
      CREATE INDEX group_members_group ON group_members (org, group_subject);
      -- The Check read follows a subject's groups in every organization: by member first.
      CREATE INDEX group_members_member ON group_members (member, group_subject);

      -- The actions an organization declares: with the built-in ones, its closed catalogue.
      -- Keys the operator issued (bootstrap) may act as platform admins; minted ones never.
      ALTER TABLE api_keys ADD COLUMN platform boolean NOT NULL DEFAULT false;

      -- Which organization a change belongs to: Watch streams an organization its own changes only.
      ALTER TABLE changelog ADD COLUMN org text;
      CREATE INDEX changelog_org ON changelog (org, revision) WHERE org IS NOT NULL;

      CREATE TABLE org_catalogues (
        org text PRIMARY KEY,
        actions text[] NOT NULL DEFAULT '{}',
        revision bigint NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'change requests, access requests, break-glass',
    sql: `
      -- A change or access request and its whole history (body: the domain's ChangeRequest as
      -- JSON). Written only through the grant writer, so every state change has its changelog
      -- row and its audit event in the same transaction. version: optimistic concurrency.
      CREATE TABLE change_requests (
        id uuid PRIMARY KEY,
        org text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('change', 'access')),
        requester text NOT NULL,
        action text NOT NULL,
        resource text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'approved', 'rejected', 'expired', 'cancelled', 'applied')),
        content_hash text NOT NULL,
        break_glass boolean NOT NULL,
        review_open boolean NOT NULL,
        created_at timestamptz NOT NULL,
        expires_at timestamptz NOT NULL,
        version integer NOT NULL,
        revision bigint NOT NULL,
        -- '<submitter> <Idempotency-Key>' of an AuthZEN access request submission.
        idempotency_key text UNIQUE,
        body jsonb NOT NULL
      );
      -- Listing a scope: requests on it or below it, newest first (ids are UUIDv7).
      CREATE INDEX change_requests_scope ON change_requests (org, (resource COLLATE "C"), id);
      -- A subject's open break-glass reviews (its next break-glass waits for them).
      CREATE INDEX change_requests_open_reviews ON change_requests (org, requester) WHERE review_open;
      -- Secrets the service keeps for itself, shared by its replicas (the AuthZEN requestable
      -- denials' binding-token key): created once, at random, by the first replica that needs it.
      CREATE TABLE warden_secrets (
        name text PRIMARY KEY,
        secret bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- The expiry sweep: live requests by expiry.
      CREATE INDEX change_requests_live_expiry ON change_requests (expires_at) WHERE state IN ('pending', 'approved');
    `,
  },
  {
    version: 7,
    name: 'declared subject types and resource types, the directory',
    sql: `
      -- Subject types beyond user, service and group; resource types and where each hangs
      -- ([name, parent] pairs, parent org, project, env or another declared type).
      ALTER TABLE org_catalogues ADD COLUMN subject_types text[] NOT NULL DEFAULT '{}';
      ALTER TABLE org_catalogues ADD COLUMN resource_types jsonb NOT NULL DEFAULT '[]'::jsonb;

      -- Each organization's directory: stored attributes of its subjects (conditions read them).
      CREATE TABLE directory (
        org text NOT NULL,
        subject text NOT NULL,
        attributes jsonb NOT NULL,
        revision bigint NOT NULL,
        PRIMARY KEY (org, subject)
      );
      CREATE INDEX directory_subject ON directory (subject);
    `,
  },
  {
    version: 8,
    name: 'changelog rows name their audit event',
    sql: `
      -- The id of the audit event (the outbox row, shipped with this id) of each change, so a
      -- reader can ask the audit service for its proof. Older rows: matched to their outbox row
      -- by revision, kind and key where that match is unique; otherwise left null (unknown).
      ALTER TABLE changelog ADD COLUMN event_id uuid;
      UPDATE changelog c SET event_id = m.id
      FROM (
        SELECT o.revision, o.event->>'action' AS kind, o.event->>'key' AS key, min(o.id::text)::uuid AS id
        FROM outbox o
        GROUP BY o.revision, o.event->>'action', o.event->>'key'
        HAVING count(*) = 1
      ) m
      WHERE c.event_id IS NULL AND c.revision = m.revision AND c.kind = m.kind AND c.key = m.key
        AND (SELECT count(*) FROM changelog c2 WHERE c2.revision = c.revision AND c2.kind = c.kind AND c2.key = c.key) = 1;
    `,
  },
];

const LOCK_KEY = 0x77617264; // 'ward'

/** Applies every migration not yet applied. Returns the versions it applied. */
export async function migrate(pool: pg.Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS warden_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ version: number }>('SELECT version FROM warden_migrations');
    const done = new Set(rows.map((row) => row.version));
    for (const migration of MIGRATIONS) {
      if (done.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO warden_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
      applied.push(migration.version);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.release();
  }
  return applied;
}
