/**
 * The vitest side of the template databases. A package's global setup migrates one
 * template per run with the migrate function it owns:
 *
 *   // test/support/global-setup.ts
 *   import { pgTemplateSetup } from '@warden/testkit/vitest';
 *   import { migrate } from '../../src/adapters/postgres/migrations.js';
 *   export default pgTemplateSetup(migrate);
 *
 * and each test file takes its own copy with `createTestDatabase()`.
 */
import { inject } from 'vitest';
import type { TestProject } from 'vitest/node';
import { createDatabase, createTemplateDatabase, pgAdminUrl, type DatabaseOptions, type Migrate, type TestDatabase } from './postgres.js';

export type { TestDatabase } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgTemplate: string;
    pgAdminUrl: string;
  }
}

/** A vitest global setup: migrates a template database once per run and drops it at the end. */
export function pgTemplateSetup(migrate: Migrate): (project: TestProject) => Promise<() => Promise<void>> {
  return async (project) => {
    const template = await createTemplateDatabase(migrate, { adminUrl: pgAdminUrl() });
    project.provide('pgTemplate', template.name);
    project.provide('pgAdminUrl', template.adminUrl);
    return () => template.drop();
  };
}

/** A database of this test file's own, copied from the run's migrated template. */
export async function createTestDatabase(options: Omit<DatabaseOptions, 'template' | 'adminUrl'> = {}): Promise<TestDatabase> {
  const template = inject('pgTemplate') as string | undefined;
  const adminUrl = inject('pgAdminUrl') as string | undefined;
  if (template === undefined || adminUrl === undefined) {
    throw new Error('no template database in this vitest project: add a global setup that exports pgTemplateSetup(migrate) from @warden/testkit/vitest');
  }
  return createDatabase({ ...options, template, adminUrl });
}
