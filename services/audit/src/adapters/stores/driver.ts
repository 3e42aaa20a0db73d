/** The little each ClickHouse driver must do for {@link ClickHouseAuditStore}. */
export type QueryParams = Record<string, unknown>;

export interface ClickHouseDriver {
  /** Runs a SELECT with bound parameters; rows as JSON objects (JSONEachRow). */
  query<T>(sql: string, params: QueryParams, options?: { signal?: AbortSignal | undefined }): Promise<T[]>;
  /** Runs DDL with bound parameters. */
  command(sql: string, params: QueryParams): Promise<void>;
  /** Inserts JSONEachRow rows into `database.table` with the given settings. */
  insert(database: string, table: string, rows: readonly Record<string, unknown>[], settings: Record<string, string | number>): Promise<void>;
  /** Inserts rows already written as JSONCompactEachRow lines (values of `columns`, in order) as one block. */
  insertCompactRows(database: string, table: string, columns: readonly string[], bytes: Uint8Array, settings: Record<string, string | number>): Promise<void>;
  close(): Promise<void>;
}

export const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
