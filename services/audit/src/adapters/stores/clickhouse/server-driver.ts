/**
 * The server driver: a ClickHouse server through @clickhouse/client
 * (CLICKHOUSE_URL). Same SQL text as chdb. Network failures become
 * UnavailableError so the core spools and callers retry.
 */
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { UnavailableError } from '@warden/errors';
import type { ClickHouseDriver, QueryParams } from '../driver.js';

export type ServerDriverOptions = {
  readonly url: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** @defaultValue 10000 */
  readonly requestTimeoutMs?: number;
};

function isClickHouseError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && typeof (error as { code: unknown }).code === 'string' && /^\d+$/.test((error as { code: string }).code);
}

async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isClickHouseError(error)) throw error;
    throw new UnavailableError('ClickHouse server unreachable', { cause: error });
  }
}

export class ServerDriver implements ClickHouseDriver {
  private readonly client: ClickHouseClient;

  constructor(options: ServerDriverOptions) {
    this.client = createClient({
      url: options.url,
      ...(options.username !== undefined ? { username: options.username } : {}),
      ...(options.password !== undefined ? { password: options.password } : {}),
      request_timeout: options.requestTimeoutMs ?? 10_000,
      clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
    });
  }

  query<T>(sql: string, params: QueryParams, options?: { signal?: AbortSignal | undefined }): Promise<T[]> {
    return guard(async () => {
      const result = await this.client.query({
        query: sql,
        query_params: params,
        format: 'JSONEachRow',
        ...(options?.signal !== undefined ? { abort_signal: options.signal } : {}),
      });
      return result.json<T>();
    });
  }

  command(sql: string, params: QueryParams): Promise<void> {
    return guard(async () => {
      await this.client.command({ query: sql, query_params: params });
    });
  }

  insert(database: string, table: string, rows: readonly Record<string, unknown>[], settings: Record<string, string | number>): Promise<void> {
    return guard(async () => {
      if (rows.length === 0) return;
      await this.client.insert({ table: `${database}.${table}`, values: [...rows], format: 'JSONEachRow', clickhouse_settings: settings });
    });
  }

  insertCompactRows(database: string, table: string, columns: readonly string[], bytes: Uint8Array, settings: Record<string, string | number>): Promise<void> {
    return guard(async () => {
      if (bytes.length === 0) return;
      // A byte stream (not object mode) goes to the server as it is.
      await this.client.insert({ table: `${database}.${table}`, columns: [...columns] as [string, ...string[]], values: Readable.from([bytes], { objectMode: false }), format: 'JSONCompactEachRow', clickhouse_settings: settings });
    });
  }

  async close(): Promise<void> {
    await this.client.close();
  }
}
