/**
 * Once per run: create a template database on the real Postgres and migrate it.
 * Each test file then gets its own database copied from the template (fast,
 * isolated). Postgres must be reachable: a missing server fails the run loudly.
 */
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../../src/adapters/postgres/migrations.js';

export const ADMIN_URL = process.env['WARDEN_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const template = `warden_tpl_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `the tests need a real Postgres at ${ADMIN_URL} (set WARDEN_TEST_PG_URL); .ci/run starts one. Cause: ${(error as Error).message}`,
    );
  }
  await admin.query(`CREATE DATABASE ${template}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${template}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 1 });
  try {
    await migrate(pool);
  } catch (error) {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
    throw error;
  }
  await pool.end();
  project.provide('pgTemplate', template);
  project.provide('pgAdminUrl', ADMIN_URL);
  return async () => {
    await admin.query(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    await admin.end();
  };
}
