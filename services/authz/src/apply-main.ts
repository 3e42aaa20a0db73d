#!/usr/bin/env node
/**
 * `node dist/apply-main.js FILE [--json]` with DATABASE_URL (or --database-url URL): migrates the
 * Postgres database and applies a world file (YAML or JSON) straight to it; idempotent.
 * The authz side of `warden apply` (tools/cli runs it as a child process) until the admin
 * API's ApplyWorld RPC replaces it. Exit codes: 0 done, 2 bad input.
 */
import { parseArgs } from 'node:util';
import pg from 'pg';
import { InvalidArgumentError } from '@warden/errors';
import { migrate } from './adapters/postgres/migrations.js';
import { applyWorld } from './adapters/postgres/pg-grant-writer.js';
import { readWorldFile } from './world-file.js';

const USAGE = 2;
const { values, positionals } = parseArgs({
  options: { 'database-url': { type: 'string' }, json: { type: 'boolean' } },
  allowPositionals: true,
  strict: true,
});
const file = positionals[0];
const databaseUrl = values['database-url'] ?? process.env['DATABASE_URL'];
if (file === undefined || positionals.length > 1) {
  process.stderr.write('warden apply: one world file, e.g. warden apply examples/acme.yaml\n');
  process.exit(USAGE);
}
if (databaseUrl === undefined || databaseUrl === '') {
  process.stderr.write('warden apply: set --database-url or DATABASE_URL (or start the service with --world FILE)\n');
  process.exit(USAGE);
}
try {
  const world = await readWorldFile(file);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 2, connectionTimeoutMillis: 15_000 });
  try {
    await migrate(pool);
    const result = await applyWorld(pool, world, { actor: 'system:cli', reason: `warden apply ${file}` });
    if (values.json === true) process.stdout.write(`${JSON.stringify({ revision: result.revision, changes: result.changes.length })}\n`);
    else process.stdout.write(`${result.changes.length} changes; revision ${result.revision}\n`);
  } finally {
    await pool.end();
  }
} catch (error) {
  if (!(error instanceof InvalidArgumentError)) throw error;
  process.stderr.write(`warden apply: ${error.message}\n`);
  process.exitCode = USAGE;
}
