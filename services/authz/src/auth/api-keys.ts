/**
 * Service API keys: `wdn_<id>_<secret>`, where id is 12 lowercase base32
 * characters (the lookup key, safe to log) and secret is 32 random bytes in
 * base64url. Only SHA-256(secret) is stored; comparison is constant-time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type pg from 'pg';
import { InvalidArgumentError } from '@warden/errors';
import { parseSubject } from '@warden/names';
import { withWrite, type WriteMeta, type WriteResult } from '../adapters/postgres/pg-writer.js';

const KEY_RE = /^wdn_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export interface ApiKeyRecord {
  readonly id: string;
  readonly org: string;
  readonly subject: string;
  readonly description: string | undefined;
  readonly createdBy: string;
  readonly createdAt: Date;
  readonly expiresAt: Date | undefined;
  readonly revokedAt: Date | undefined;
}

export interface VerifiedKey {
  readonly id: string;
  readonly org: string;
  readonly subject: string;
}

function sha256(secret: string): Buffer {
  return createHash('sha256').update(secret).digest();
}

function newId(): string {
  const bytes = randomBytes(12);
  let id = '';
  for (const byte of bytes) id += BASE32[byte & 31];
  return id;
}

/** The key id of a well-formed key, or undefined: lets logs name a key without its secret. */
export function keyIdOf(key: string): string | undefined {
  return KEY_RE.exec(key)?.[1];
}

export class PgApiKeyStore {
  constructor(private readonly pool: pg.Pool) {}

  /** Creates a key for a service subject in an organization. The secret is returned once. */
  async create(
    input: { org: string; subject: string; description?: string | undefined; expiresAt?: Date | undefined },
    meta: WriteMeta,
  ): Promise<{ key: string; record: ApiKeyRecord } & WriteResult> {
    const subject = parseSubject(input.subject, 'subject');
    if (subject.type !== 'service') throw new InvalidArgumentError('subject', 'API keys are for service subjects (service:<id>); people sign in with tokens');
    if (input.expiresAt !== undefined && input.expiresAt.getTime() <= Date.now()) throw new InvalidArgumentError('expires_at', 'must be in the future');
    const id = newId();
    const secret = randomBytes(32).toString('base64url');
    let record: ApiKeyRecord | undefined;
    const result = await withWrite(this.pool, meta, async ({ client, revision, record: recordChange }) => {
      const { rows } = await client.query<{ created_at: Date }>(
        `INSERT INTO api_keys (id, org, subject, secret_sha256, description, created_by, expires_at, revision)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING created_at`,
        [id, input.org, input.subject, sha256(secret), input.description ?? null, meta.actor, input.expiresAt ?? null, revision],
      );
      record = {
        id, org: input.org, subject: input.subject, description: input.description, createdBy: meta.actor,
        createdAt: rows[0]!.created_at, expiresAt: input.expiresAt, revokedAt: undefined,
      };
      // The audit trail records the key's id and owner, never its secret.
      recordChange({ kind: 'api_key.created', key: id, resource: `org:${input.org}`, before: null, after: { id, subject: input.subject, description: input.description ?? null, expires_at: input.expiresAt ?? null } });
    });
    return { ...result, key: `wdn_${id}_${secret}`, record: record! };
  }

  async get(id: string): Promise<ApiKeyRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM api_keys WHERE id = $1', [id]);
    const row = rows[0];
    if (row === undefined) return undefined;
    return {
      id: row.id, org: row.org, subject: row.subject, description: row.description ?? undefined, createdBy: row.created_by,
      createdAt: row.created_at, expiresAt: row.expires_at ?? undefined, revokedAt: row.revoked_at ?? undefined,
    };
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

  /** The key's identity if the key is well-formed, known, unrevoked, unexpired and its secret matches. */
  async verify(key: string): Promise<VerifiedKey | undefined> {
    const match = KEY_RE.exec(key);
    if (match === null) return undefined;
    const [, id, secret] = match;
    const { rows } = await this.pool.query<{ org: string; subject: string; secret_sha256: Buffer; revoked_at: Date | null; expires_at: Date | null }>(
      'SELECT org, subject, secret_sha256, revoked_at, expires_at FROM api_keys WHERE id = $1',
      [id],
    );
    const row = rows[0];
    const presented = sha256(secret!);
    // Compare even when the id is unknown, so timing does not tell which ids exist.
    const stored = row?.secret_sha256 ?? Buffer.alloc(32);
    const equal = timingSafeEqual(presented, stored);
    if (row === undefined || !equal || row.revoked_at !== null) return undefined;
    if (row.expires_at !== null && row.expires_at.getTime() <= Date.now()) return undefined;
    return { id: id!, org: row.org, subject: row.subject };
  }
}
