/** ApiKeyStore on Postgres (table api_keys): the key format is domain/api-key-format.ts. */
import type pg from 'pg';
import { InvalidArgumentError } from '@warden/errors';
import { parseSubject } from '@warden/names';
import { newApiKey, secretMatches, splitApiKey, type ApiKeyRecord, type VerifiedKey } from '../../domain/api-key-format.js';
import type { ApiKeyStore, WriteMeta, WriteResult } from '../../ports.js';
import { withWrite } from './pg-writer.js';

interface KeyRow {
  id: string;
  org: string;
  subject: string;
  description: string | null;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  platform: boolean;
}

function recordFromRow(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id, org: row.org, subject: row.subject, description: row.description ?? undefined, createdBy: row.created_by,
    createdAt: row.created_at, expiresAt: row.expires_at ?? undefined, revokedAt: row.revoked_at ?? undefined, platform: row.platform,
  };
}

export class PgApiKeyStore implements ApiKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(
    input: { org: string; subject: string; description?: string | undefined; expiresAt?: Date | undefined; platform?: boolean | undefined },
    meta: WriteMeta,
  ): Promise<{ key: string; record: ApiKeyRecord } & WriteResult> {
    const subject = parseSubject(input.subject, 'subject');
    if (subject.id === '*') throw new InvalidArgumentError('subject', `${input.subject} stands for every subject of its type; a key acts as one subject`);
    if (subject.type !== 'service') throw new InvalidArgumentError('subject', 'API keys are for service subjects (service:<id>); people sign in with tokens');
    if (input.expiresAt !== undefined && input.expiresAt.getTime() <= Date.now()) throw new InvalidArgumentError('expires_at', 'must be in the future');
    const { id, key, digest } = newApiKey();
    let record: ApiKeyRecord | undefined;
    const result = await withWrite(this.pool, meta, async ({ client, revision, record: recordChange }) => {
      const { rows } = await client.query<KeyRow>(
        `INSERT INTO api_keys (id, org, subject, secret_sha256, description, created_by, expires_at, revision, platform)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *`,
        [id, input.org, input.subject, digest, input.description ?? null, meta.actor, input.expiresAt ?? null, revision, input.platform ?? false],
      );
      record = recordFromRow(rows[0]!);
      // The audit trail records the key's id and owner, never its secret.
      recordChange({ kind: 'api_key.created', key: id, resource: `org:${input.org}`, before: null, after: { id, subject: input.subject, description: input.description ?? null, expires_at: input.expiresAt ?? null } });
    });
    return { ...result, key, record: record! };
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.pool.query<KeyRow>('SELECT * FROM api_keys WHERE id = $1', [id]);
    return rows[0] === undefined ? undefined : recordFromRow(rows[0]);
  }

  async revoke(id: string, meta: WriteMeta): Promise<WriteResult> {
    return withWrite(this.pool, meta, async ({ client, revision, record }) => {
      const { rows } = await client.query<{ org: string; subject: string }>(
        'UPDATE api_keys SET revoked_at = now(), revision = $2 WHERE id = $1 AND revoked_at IS NULL RETURNING org, subject',
        [id, revision],
      );
      for (const row of rows) record({ kind: 'api_key.revoked', key: id, resource: `org:${row.org}`, before: { id, subject: row.subject }, after: null });
    });
  }

  async verify(key: string): Promise<VerifiedKey | undefined> {
    const parts = splitApiKey(key);
    if (parts === undefined) return undefined;
    const { rows } = await this.pool.query<{ org: string; subject: string; secret_sha256: Buffer; revoked_at: Date | null; expires_at: Date | null; platform: boolean }>(
      'SELECT org, subject, secret_sha256, revoked_at, expires_at, platform FROM api_keys WHERE id = $1',
      [parts.id],
    );
    const row = rows[0];
    if (!secretMatches(parts.secret, row?.secret_sha256) || row === undefined || row.revoked_at !== null) return undefined;
    if (row.expires_at !== null && row.expires_at.getTime() <= Date.now()) return undefined;
    return { id: parts.id, org: row.org, subject: row.subject, platform: row.platform };
  }
}
