/**
 * Once per run: a template database on the real Postgres (WARDEN_TEST_PG_URL), migrated
 * with authz's own migrations; each test file copies it (createTestDatabase from
 * @warden/testkit/vitest). A missing server fails the run loudly.
 */
import { pgTemplateSetup } from '@warden/testkit/vitest';
import { migrate } from '../../src/adapters/postgres/migrations.js';

export default pgTemplateSetup(migrate);
