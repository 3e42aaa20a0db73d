/**
 * `warden`: a small command line for Warden.
 *   warden check SUBJECT ACTION RESOURCE [--context JSON] [--addr HOST:PORT] [--json]
 *   warden apply FILE [--database-url URL]
 * Exit codes: 0 allowed / done, 1 denied, 3 requires approval, 2 usage or input error, 4 service unavailable.
 */
import { Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { createChannel, createClient, ClientError, Status } from 'nice-grpc';
import pg from 'pg';
import {
  AuthzServiceDefinition,
  Decision,
  decisionToJSON,
  reasonCodeToJSON,
  CheckResponse,
} from '@warden/proto/authz/v1';
import { InvalidArgumentError } from './domain/errors.js';
import { migrate } from './stores/postgres/migrations.js';
import { applyWorld } from './stores/postgres/pg-writer.js';
import { readWorldFile } from './world-file.js';

export const EXIT = { ok: 0, denied: 1, usage: 2, approval: 3, unavailable: 4 } as const;

function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new CommanderArgumentError('must be a JSON object, e.g. \'{"ticket":"OPS-1"}\'');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CommanderArgumentError('must be a JSON object');
  return parsed as Record<string, unknown>;
}

function printDecision(response: CheckResponse, json: boolean): void {
  const decision = decisionToJSON(response.decision).replace('DECISION_', '');
  if (json) {
    process.stdout.write(`${JSON.stringify(CheckResponse.toJSON(response))}\n`);
    return;
  }
  process.stdout.write(`${decision}  (revision ${response.revision})\n`);
  process.stdout.write(`  reason: ${reasonCodeToJSON(response.reason?.code ?? 0).replace('REASON_CODE_', '')} — ${response.reason?.message ?? ''}\n`);
}

export function createProgram(): Command {
  const program = new Command('warden').description('Warden: permissions and audit for release governance').exitOverride();

  program
    .command('check')
    .description('ask the authz service whether SUBJECT may do ACTION on RESOURCE')
    .argument('<subject>', 'e.g. user:mia@acme.com')
    .argument('<action>', 'e.g. variables:write')
    .argument('<resource>', 'e.g. org:acme/project:checkout/env:development')
    .option('--addr <host:port>', 'authz gRPC address', process.env['WARDEN_AUTHZ_ADDR'] ?? '127.0.0.1:50051')
    .option('--context <json>', 'request attributes for conditions', parseJsonObject)
    .option('--json', 'print JSON')
    .action(async (subject: string, action: string, resource: string, options: { addr: string; context?: Record<string, unknown>; json?: boolean }) => {
      const channel = createChannel(options.addr);
      const client = createClient(AuthzServiceDefinition, channel);
      try {
        const response = await client.check({ subject, action, resource, context: options.context }, { signal: AbortSignal.timeout(10_000) });
        printDecision(response, options.json === true);
        process.exitCode = response.decision === Decision.DECISION_ALLOW ? EXIT.ok : response.decision === Decision.DECISION_REQUIRES_APPROVAL ? EXIT.approval : EXIT.denied;
      } catch (error) {
        if (error instanceof ClientError) {
          process.stderr.write(`warden check: ${Status[error.code]}: ${error.details}\n`);
          process.exitCode = error.code === Status.INVALID_ARGUMENT ? EXIT.usage : EXIT.unavailable;
        } else {
          throw error;
        }
      } finally {
        channel.close();
      }
    });

  program
    .command('apply')
    .description('apply a world file (YAML or JSON) to the Postgres database; idempotent')
    .argument('<file>')
    .option('--database-url <url>', 'Postgres URL', process.env['DATABASE_URL'])
    .option('--json', 'print JSON')
    .action(async (file: string, options: { databaseUrl?: string; json?: boolean }) => {
      if (options.databaseUrl === undefined) {
        process.stderr.write('warden apply: set --database-url or DATABASE_URL (or start the service with --world FILE)\n');
        process.exitCode = EXIT.usage;
        return;
      }
      try {
        const world = await readWorldFile(file);
        const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 2 });
        try {
          await migrate(pool);
          const result = await applyWorld(pool, world, { actor: `system:cli`, reason: `warden apply ${file}` });
          if (options.json === true) process.stdout.write(`${JSON.stringify({ revision: result.revision, changes: result.changes.length })}\n`);
          else process.stdout.write(`${result.changes.length} changes; revision ${result.revision}\n`);
        } finally {
          await pool.end();
        }
      } catch (error) {
        if (error instanceof InvalidArgumentError) {
          process.stderr.write(`warden apply: ${error.message}\n`);
          process.exitCode = EXIT.usage;
          return;
        }
        throw error;
      }
    });
  return program;
}

