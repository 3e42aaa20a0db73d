/**
 * `warden`: the command line for Warden, a client of the authz and audit services (gRPC).
 *
 *   warden check SUBJECT ACTION RESOURCE        may SUBJECT do ACTION on RESOURCE?
 *   warden explain SUBJECT ACTION RESOURCE      the same, with the whole reason
 *   warden who-can ACTION RESOURCE              who may (LookupSubjects)
 *   warden grant SUBJECT ROLE SCOPE             grant (or --deny) a role; --actions instead of a role
 *   warden revoke BINDING_ID                    revoke a binding
 *   warden bindings SCOPE                       list bindings at and below a scope
 *   warden keys create --org ORG --subject S    create a service API key (printed once)
 *   warden keys revoke KEY_ID
 *   warden plan grant|revoke|…|world …            a change's effect, and whether you may make it (plan.ts)
 *   warden apply FILE [--yes]                   plan a world file; apply it through the admin API with --yes
 *   warden audit timeline|export|verify …       the audit trail (see docs/audit.md)
 *   warden requests|access|breakglass …         change requests, access requests, break-glass (requests.ts)
 *
 * Credentials: WARDEN_API_KEY, or --key-file (default $WARDEN_KEY_FILE, else data/admin.key when it exists).
 * Exit codes: 0 allowed / done, 1 denied, 2 bad input, 3 requires approval,
 * 4 service unavailable, 5 refused (unauthenticated, not permitted, precondition, not found).
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command, InvalidArgumentError as CommanderArgumentError } from 'commander';
import { ClientError, createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import {
  AuthzServiceDefinition,
  CheckResponse,
  Decision,
  Effect,
  decisionToJSON,
  reasonCodeToJSON,
  type BindingRef,
} from '@warden/proto/authz/v1';
import { AdminServiceDefinition, BindingInfo } from '@warden/proto/authz/v1/admin';
import { addPlanCommands } from './plan.js';
import { addRequestCommands } from './requests.js';
import { connectionOptions, EXIT, parseExpiry, parseJsonObject, withClients, type Connection } from './connection.js';
import { createAuditCommand } from './audit.js';

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length)));
  return rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n') + '\n';
}

const code = (response: CheckResponse) => reasonCodeToJSON(response.reason?.code ?? 0).replace('REASON_CODE_', '');
const decisionName = (response: CheckResponse) => decisionToJSON(response.decision).replace('DECISION_', '');
const exitFor = (response: CheckResponse) =>
  response.decision === Decision.DECISION_ALLOW ? EXIT.ok : response.decision === Decision.DECISION_REQUIRES_APPROVAL ? EXIT.approval : EXIT.denied;

function describeBinding(binding: BindingRef): string {
  const grant = binding.role !== '' ? `role ${binding.role}` : `actions ${binding.actions.join(', ')}`;
  return `${binding.effect === Effect.EFFECT_DENY ? 'deny' : 'allow'} ${grant} to ${binding.subject} on ${binding.scope}`;
}

export function createProgram(): Command {
  const program = new Command('warden').description('Warden: permissions and audit for release governance').exitOverride();

  const check = (explain: boolean) => async (subject: string, action: string, resource: string, options: Connection & { context?: Record<string, unknown> }) => {
    await withClients(options, async ({ authz }) => {
      const response = await authz.check({ subject, action, resource, context: options.context });
      process.exitCode = exitFor(response);
      if (options.json === true) {
        process.stdout.write(`${JSON.stringify(CheckResponse.toJSON(response))}\n`);
        return;
      }
      process.stdout.write(`${decisionName(response)}  (revision ${response.revision})\n`);
      if (!explain) {
        process.stdout.write(`  reason: ${code(response)} — ${response.reason?.message ?? ''}\n`);
        return;
      }
      const reason = response.reason;
      const rows = [['rule', code(response)], ['why', reason?.message ?? '']];
      if (reason?.binding) {
        const b = reason.binding;
        rows.push(['binding', b.id], ['grants', describeBinding(b)]);
        if (b.subject !== subject) rows.push(['through group', b.subject]);
        if (b.expiresAt) rows.push(['expires', b.expiresAt.toISOString()]);
        if (b.condition) rows.push(['condition', b.condition]);
      }
      if (reason?.ruleResource) rows.push(['rule resource', reason.ruleResource]);
      if (reason?.requiredRoles.length) rows.push(['needs a role of', reason.requiredRoles.join(', ')]);
      if (reason?.membershipRole) rows.push(['capped by membership', reason.membershipRole]);
      process.stdout.write(table(rows.map(([k, v]) => [`  ${k}:`, v!])));
    });
  };

  connectionOptions(program.command('check').description('may SUBJECT do ACTION on RESOURCE?'))
    .argument('<subject>', 'e.g. user:mia@acme.com')
    .argument('<action>', 'e.g. variables:write')
    .argument('<resource>', 'e.g. org:acme/project:checkout/env:development')
    .option('--context <json>', 'request attributes for conditions', parseJsonObject)
    .action(check(false));

  connectionOptions(program.command('explain').description('why SUBJECT may or may not do ACTION on RESOURCE'))
    .argument('<subject>')
    .argument('<action>')
    .argument('<resource>')
    .option('--context <json>', 'request attributes for conditions', parseJsonObject)
    .action(check(true));

  connectionOptions(program.command('who-can').description('which subjects may do ACTION on RESOURCE'))
    .argument('<action>', 'e.g. flags:enable')
    .argument('<resource>', 'e.g. org:acme/project:checkout/env:production')
    .option('--type <type>', 'only user, service or group subjects')
    .action(async (action: string, resource: string, options: Connection & { type?: string }) => {
      await withClients(options, async ({ authz }) => {
        const subjects: string[] = [];
        let token = '';
        let revision = 0;
        do {
          const page = await authz.lookupSubjects({ action, resource, subjectType: options.type ?? '', page: { token, limit: 1000 } });
          subjects.push(...page.subjects);
          token = page.nextPageToken;
          revision = page.revision;
        } while (token !== '');
        if (options.json === true) process.stdout.write(`${JSON.stringify({ subjects, revision })}\n`);
        else process.stdout.write(subjects.length === 0 ? `nobody (revision ${revision})\n` : `${subjects.join('\n')}\n(${subjects.length} at revision ${revision})\n`);
      });
    });

  connectionOptions(program.command('grant').description('grant a role (or actions) to SUBJECT at SCOPE'))
    .argument('<subject>', 'e.g. user:sarah@acme.com')
    .argument('<role>', "e.g. release_manager; '-' with --actions")
    .argument('<scope>', 'e.g. org:acme/project:checkout/env:production')
    .option('--actions <list>', 'comma-separated actions instead of a role', (v: string) => v.split(',').map((a) => a.trim()).filter(Boolean))
    .option('--deny', 'a deny binding (wins over every allow)')
    .option('--expires <when>', 'ISO date-time or a duration (30m, 12h, 7d)', parseExpiry)
    .option('--condition <cel>', 'CEL condition, e.g. request.ticket != ""')
    .option('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (subject: string, role: string, scope: string, options: Connection & { actions?: string[]; deny?: boolean; expires?: Date; condition?: string; reason?: string }) => {
      await withClients(options, async ({ admin }) => {
        const response = await admin.grantBinding({
          subject, role: role === '-' ? '' : role, actions: options.actions ?? [], scope,
          effect: options.deny ? Effect.EFFECT_DENY : Effect.EFFECT_ALLOW,
          expiresAt: options.expires, condition: options.condition ?? '', reason: options.reason ?? '',
        });
        if (options.json === true) process.stdout.write(`${JSON.stringify({ binding: response.binding?.id, created: response.created, revision: response.revision })}\n`);
        else process.stdout.write(`${response.created ? 'granted' : 'unchanged'}: ${describeBinding(response.binding!)}\n  binding ${response.binding!.id}, revision ${response.revision}\n`);
      });
    });

  connectionOptions(program.command('revoke').description('revoke a binding'))
    .argument('<binding-id>')
    .option('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (bindingId: string, options: Connection & { reason?: string }) => {
      await withClients(options, async ({ admin }) => {
        const response = await admin.revokeBinding({ bindingId, reason: options.reason ?? '' });
        if (options.json === true) process.stdout.write(`${JSON.stringify(response)}\n`);
        else process.stdout.write(`${response.changes > 0 ? 'revoked' : 'already gone'}; revision ${response.revision}\n`);
      });
    });

  connectionOptions(program.command('bindings').description('list the bindings at and below SCOPE'))
    .argument('<scope>')
    .option('--subject <subject>', 'only this subject')
    .action(async (scope: string, options: Connection & { subject?: string }) => {
      await withClients(options, async ({ admin }) => {
        const all: BindingInfo[] = [];
        let token = '';
        do {
          const page = await admin.listBindings({ scope, subject: options.subject ?? '', page: { token, limit: 1000 } });
          all.push(...page.bindings);
          token = page.nextPageToken;
        } while (token !== '');
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify(all.map((b) => BindingInfo.toJSON(b)))}\n`);
          return;
        }
        const rows = [['ID', 'SUBJECT', 'GRANT', 'SCOPE', 'EFFECT', 'EXPIRES', 'CONDITION']];
        for (const { binding } of all) {
          if (!binding) continue;
          rows.push([binding.id, binding.subject, binding.role || binding.actions.join(','), binding.scope, binding.effect === Effect.EFFECT_DENY ? 'deny' : 'allow', binding.expiresAt?.toISOString() ?? '', binding.condition]);
        }
        process.stdout.write(table(rows));
      });
    });

  const keys = program.command('keys').description('service API keys');
  connectionOptions(keys.command('create').description('create an API key for a service subject (printed once)'))
    .requiredOption('--org <org>', 'the organization the key acts in')
    .requiredOption('--subject <subject>', 'e.g. service:gateway')
    .option('--description <text>')
    .option('--expires <when>', 'ISO date-time or a duration (30m, 12h, 7d)', parseExpiry)
    .action(async (options: Connection & { org: string; subject: string; description?: string; expires?: Date }) => {
      await withClients(options, async ({ admin }) => {
        const response = await admin.createApiKey({ org: options.org, subject: options.subject, description: options.description ?? '', expiresAt: options.expires, reason: '' });
        if (options.json === true) process.stdout.write(`${JSON.stringify(response)}\n`);
        else process.stdout.write(`${response.key}\n`);
        if (options.json !== true) process.stderr.write(`key ${response.keyId} for ${options.subject} in org:${options.org}; it is shown only once\n`);
      });
    });
  connectionOptions(keys.command('revoke').description('revoke an API key'))
    .argument('<key-id>')
    .action(async (keyId: string, options: Connection) => {
      await withClients(options, async ({ admin }) => {
        const response = await admin.revokeApiKey({ keyId, reason: '' });
        process.stdout.write(options.json === true ? `${JSON.stringify(response)}\n` : `${response.changes > 0 ? 'revoked' : 'already revoked'}; revision ${response.revision}\n`);
      });
    });

  // `warden audit timeline|export|verify …`: the audit service's CLI (docs/audit.md).
  program.addCommand(createAuditCommand());

  addPlanCommands(program, connectionOptions, withClients);
  addRequestCommands(program, connectionOptions, withClients);
  return program;
}
