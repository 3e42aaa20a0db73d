/**
 * The harness of the seed catalogue tests (test/catalogues/): the real authz app on its own
 * database, seeded from one of examples/*.yaml, asked through the real gRPC Check path
 * (authentication, cache, Postgres) by the organization's owner, at the newest revision.
 */
import { fileURLToPath } from 'node:url';
import { ClientError, type Status } from 'nice-grpc';
import { expect } from 'vitest';
import { Decision, ReasonCode } from '@warden/proto/authz/v1';
import type { ReasonCode as Code } from '../../src/domain/model.js';
import { startTestApp, type TestApp } from './app.js';

export function exampleFile(name: string): string {
  return fileURLToPath(new URL(`../../../../examples/${name}`, import.meta.url));
}

/** The app seeded from `examples/<file>`; its bootstrap key belongs to a grantless `service:<org>-bootstrap`. */
export function startCatalogueApp(file: string, org: string): Promise<TestApp> {
  return startTestApp({
    AUTHZ_WORLD_FILE: exampleFile(file),
    AUTHZ_BOOTSTRAP_KEY_SUBJECT: `service:${org}-bootstrap`,
    AUTHZ_BOOTSTRAP_KEY_ORG: org,
    AUTHZ_KEY_CACHE_MS: '0',
  });
}

export interface Row {
  readonly subject: string;
  readonly action: string;
  readonly resource: string;
  readonly allow: boolean;
  /** With `allow`: allowed only with approval (REQUIRES_APPROVAL: the environment requires it). */
  readonly approval?: boolean;
  /** The reason code of a DENY, when the row pins it (CEILING, NOT_GRANTABLE, …). */
  readonly code?: Code;
  /** Where the seed states the row (its table and cell, or its sentence). */
  readonly seed: string;
}

export const rowName = (r: Row) => `${r.seed}: ${r.subject} ${r.allow ? (r.approval === true ? 'may, with approval,' : 'may') : 'may not'} ${r.action} on ${r.resource}`;

/** Decides `rows` in batches as `asker` (a credential allowed authz:check), fully consistent; returns one problem per wrong row. */
export async function wrongRows(t: TestApp, asker: string, rows: readonly Row[]): Promise<string[]> {
  const problems: string[] = [];
  for (let i = 0; i < rows.length; i += 100) {
    const chunk = rows.slice(i, i + 100);
    const { results } = await t.grpc(asker).authz.checkBatch({
      checks: chunk.map((r) => ({ subject: r.subject, action: r.action, resource: r.resource })),
      consistency: { requirement: { $case: 'fullyConsistent', value: true } },
    });
    results.forEach((result, j) => {
      const row = chunk[j]!;
      const allowed = result.decision === (row.approval === true ? Decision.DECISION_REQUIRES_APPROVAL : Decision.DECISION_ALLOW);
      const code = ReasonCode[result.reason!.code];
      if (allowed !== row.allow || (row.code !== undefined && code !== `REASON_CODE_${row.code}`)) {
        problems.push(`${rowName(row)} — got ${Decision[result.decision]} ${code}: ${result.reason!.message}`);
      }
    });
  }
  return problems;
}

/** Expects every row decided as the seed says (reporting every wrong row at once). */
export async function expectRows(t: TestApp, asker: string, rows: readonly Row[]): Promise<void> {
  expect(rows.length).toBeGreaterThan(0);
  expect(await wrongRows(t, asker, rows)).toEqual([]);
}

/** Expects the call to fail with the gRPC status (and message). */
export async function refused(call: Promise<unknown>, code: Status, message?: RegExp): Promise<void> {
  const error = await call.then(() => undefined, (e: unknown) => e);
  expect(error, 'the call must be refused').toBeInstanceOf(ClientError);
  expect((error as ClientError).code).toBe(code);
  if (message !== undefined) expect((error as ClientError).details).toMatch(message);
}
