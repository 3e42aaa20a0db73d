/**
 * Change requests, access requests and break-glass from the command line (docs/approvals.md):
 *
 *   warden requests list SCOPE [--state pending|approved|…] [--limit N]
 *   warden requests show ID                      the request and its timeline (who, when, why)
 *   warden requests open ACTION RESOURCE --before JSON --after JSON --reason R [--ticket T] [--ttl 24h]
 *   warden requests approve ID [--reason R]
 *   warden requests reject ID --reason R
 *   warden requests cancel ID [--reason R]
 *   warden requests apply ID --before JSON --after JSON   (the hash of exactly this change must be the approved one)
 *   warden access request (ROLE | --actions a,b) SCOPE --for 4h --reason R [--ticket T]
 *   warden access approve ID [--reason R]  /  warden access reject ID --reason R
 *   warden breakglass change ACTION RESOURCE --before JSON --after JSON --reason R [--for 1h]
 *   warden breakglass access (ROLE | --actions a,b) SCOPE --reason R [--for 1h]
 *   warden breakglass close-review ID --reason R  (an owner)
 *
 * `--json` prints the service's answer as JSON. Exit codes as every `warden` command: 0 done,
 * 2 bad input, 4 unavailable, 5 refused (not permitted, wrong state, not found).
 */
import type { Command } from 'commander';
import { InvalidArgumentError as CommanderArgumentError } from 'commander';
import { changeContentHash } from '@warden/audit-events';
import { ChangeRequest, RequestState, requestStateFromJSON, requestStateToJSON, type ChangeRequestResponse } from '@warden/proto/authz/v1/approvals';
import type { Clients, Connection } from './connection.js';

type Run = <T>(options: Connection, run: (clients: Clients) => Promise<T>) => Promise<T | undefined>;

const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);

function json(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    throw new CommanderArgumentError('must be JSON, e.g. \'{"enabled":true}\'');
  }
}

/** `30m`, `4h`, `2d` or seconds. */
export function parseSeconds(value: string): number {
  const m = /^(\d+)([smhd]?)$/.exec(value);
  if (m === null) throw new CommanderArgumentError('must be a duration: 90s, 30m, 4h, 2d');
  return Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
}

function parseState(value: string): RequestState {
  const state = requestStateFromJSON(`REQUEST_STATE_${value.toUpperCase()}`);
  if (state === RequestState.UNRECOGNIZED || state === RequestState.REQUEST_STATE_UNSPECIFIED) throw new CommanderArgumentError('must be pending, approved, rejected, expired, cancelled or applied');
  return state;
}

const stateName = (state: RequestState) => requestStateToJSON(state).replace('REQUEST_STATE_', '').toLowerCase();
const when = (date: Date | undefined) => (date === undefined ? '' : date.toISOString().replace('.000Z', 'Z'));

/** A request as people read it: what, who asked, its state, and its timeline. */
export function describeRequest(r: ChangeRequest): string {
  const out = [
    `request ${r.id}  ${r.kind}${r.breakGlass ? '  BREAK-GLASS' : ''}  ${stateName(r.state)}`,
    `  ${r.action} on ${r.resource}`,
    `  requested by ${r.requester}${r.ticket !== '' ? `  ticket ${r.ticket}` : ''}${r.reason !== '' ? `: ${r.reason}` : ''}`,
  ];
  if (r.kind === 'change') out.push(`  before ${JSON.stringify(r.before ?? null)}`, `  after  ${JSON.stringify(r.after ?? null)}`, `  content ${r.contentHash}`);
  if (r.access !== undefined) out.push(`  grants ${r.access.role !== '' ? `role ${r.access.role}` : `actions ${r.access.actions.join(', ')}`} to ${r.access.subject} on ${r.access.scope} for ${r.access.durationSeconds}s${r.bindingId !== '' ? ` (binding ${r.bindingId})` : ''}`);
  out.push(`  approvals ${new Set(r.approvals.map((a) => a.by)).size} of ${r.requiredApprovals}; expires ${when(r.expiresAt)}`);
  if (r.breakGlass) out.push(`  review ${r.reviewClosed === undefined ? 'OPEN (an owner must close it)' : `closed by ${r.reviewClosed.by} at ${when(r.reviewClosed.at)}: ${r.reviewClosed.reason}`}`);
  out.push('  timeline:');
  for (const step of r.history) out.push(`    ${when(step.at)}  ${step.kind.padEnd(13)} ${step.by}${step.reason !== '' ? `  — ${step.reason}` : ''}`);
  return `${out.join('\n')}\n`;
}

function print(options: Connection, response: ChangeRequestResponse): void {
  if (options.json === true) process.stdout.write(`${JSON.stringify({ request: response.request === undefined ? null : ChangeRequest.toJSON(response.request), revision: response.revision })}\n`);
  else process.stdout.write(describeRequest(response.request!) + (response.revision > 0 ? `(revision ${response.revision})\n` : ''));
}

function grantOf(role: string, options: { actions?: string[] }, scope: string, seconds: number) {
  const actions = options.actions ?? [];
  if ((role === '-' || role === '') === (actions.length === 0)) throw new CommanderArgumentError("give a role, or '-' with --actions");
  return { subject: '', role: role === '-' ? '' : role, actions, scope, durationSeconds: seconds };
}

export function addRequestCommands(program: Command, connectionOptions: (command: Command) => Command, withClients: Run): void {
  type Opts = Connection & { reason?: string; ticket?: string; before?: unknown; after?: unknown; ttl?: number; for?: number; actions?: string[]; state?: RequestState; limit?: number };
  const step = (verb: 'approveRequest' | 'rejectRequest' | 'cancelRequest' | 'closeReview') => (id: string, options: Opts) =>
    withClients(options, async ({ approvals }) => print(options, await approvals[verb]({ id, reason: options.reason ?? '' })));

  const requests = program.command('requests').description('change requests: list, show, open, approve, reject, cancel, apply');
  connectionOptions(requests.command('list').description('requests at SCOPE and below, newest first (needs approvals:read)')).argument('<scope>')
    .option('--state <state>', 'only requests in this state', parseState)
    .option('--limit <n>', 'at most this many', (v) => Number.parseInt(v, 10), 50)
    .action((scope: string, options: Opts) =>
      withClients(options, async ({ approvals }) => {
        const page = await approvals.listRequests({ scope, state: options.state ?? RequestState.REQUEST_STATE_UNSPECIFIED, limit: options.limit ?? 50, pageToken: '' });
        if (options.json === true) {
          process.stdout.write(`${JSON.stringify({ requests: page.requests.map((r) => ChangeRequest.toJSON(r)), nextPageToken: page.nextPageToken })}\n`);
          return;
        }
        if (page.requests.length === 0) process.stdout.write('no requests\n');
        for (const r of page.requests) {
          process.stdout.write(`${r.id}  ${stateName(r.state).padEnd(9)} ${r.kind.padEnd(6)} ${r.breakGlass ? 'BREAK-GLASS ' : ''}${r.action} on ${r.resource} by ${r.requester} (${new Set(r.approvals.map((a) => a.by)).size}/${r.requiredApprovals})\n`);
        }
      }),
    );
  connectionOptions(requests.command('show').description('a request and its timeline')).argument('<id>')
    .action((id: string, options: Opts) => withClients(options, async ({ approvals }) => print(options, await approvals.getRequest({ id }))));
  connectionOptions(requests.command('open').description('open a change request for a change that needs approval')).argument('<action>').argument('<resource>')
    .requiredOption('--before <json>', 'the value before the change', json).requiredOption('--after <json>', 'the value after the change', json)
    .option('--reason <text>').option('--ticket <id>').option('--ttl <duration>', 'how long it stays open (default 24h)', parseSeconds)
    .action((action: string, resource: string, options: Opts) =>
      withClients(options, async ({ approvals }) =>
        print(options, await approvals.openChangeRequest({ action, resource, before: options.before, after: options.after, reason: options.reason ?? '', ticket: options.ticket ?? '', requester: '', ttlSeconds: options.ttl ?? 0 })),
      ),
    );
  connectionOptions(requests.command('approve').description('approve (needs approvals:approve; never your own)')).argument('<id>').option('--reason <text>').action(step('approveRequest'));
  connectionOptions(requests.command('reject').description('reject (one rejection rejects)')).argument('<id>').requiredOption('--reason <text>').action(step('rejectRequest'));
  connectionOptions(requests.command('cancel').description('withdraw (the requester, or approvals:manage)')).argument('<id>').option('--reason <text>').action(step('cancelRequest'));
  connectionOptions(requests.command('apply').description('record that the approved change is applied (the content must hash to the approved one)')).argument('<id>')
    .requiredOption('--before <json>', 'the value before the change', json).requiredOption('--after <json>', 'the value after the change', json)
    .action((id: string, options: Opts) =>
      withClients(options, async ({ approvals }) => {
        const { request } = await approvals.getRequest({ id });
        const contentHash = changeContentHash({ action: request!.action, resource: request!.resource, before: options.before, after: options.after });
        print(options, await approvals.applyRequest({ id, contentHash, requester: '' }));
      }),
    );

  const access = program.command('access').description('just-in-time access: request a role or actions for a while; approvers are those who could grant it');
  connectionOptions(access.command('request').description('ask for ROLE (or --actions) at SCOPE for a bounded time')).argument('<role>', "a role, or '-' with --actions").argument('<scope>')
    .option('--actions <list>', 'comma-separated actions instead of a role', list)
    .requiredOption('--for <duration>', 'how long the access lasts once approved (e.g. 4h)', parseSeconds)
    .requiredOption('--reason <text>').option('--ticket <id>')
    .action((role: string, scope: string, options: Opts) =>
      withClients(options, async ({ approvals }) => print(options, await approvals.requestAccess({ grant: grantOf(role, options, scope, options.for ?? 0), reason: options.reason ?? '', ticket: options.ticket ?? '', ttlSeconds: 0 }))),
    );
  connectionOptions(access.command('approve').description('approve (the last approval creates the expiring binding)')).argument('<id>').option('--reason <text>').action(step('approveRequest'));
  connectionOptions(access.command('reject').description('reject')).argument('<id>').requiredOption('--reason <text>').action(step('rejectRequest'));

  const glass = program.command('breakglass').description('act without approval (approvals:break_glass): mandatory reason, bounded time, a review an owner must close');
  connectionOptions(glass.command('change').description('a change approved at once, to apply within --for')).argument('<action>').argument('<resource>')
    .requiredOption('--before <json>', 'the value before the change', json).requiredOption('--after <json>', 'the value after the change', json)
    .requiredOption('--reason <text>').option('--ticket <id>').option('--for <duration>', 'default 1h, at most 8h', parseSeconds)
    .action((action: string, resource: string, options: Opts) =>
      withClients(options, async ({ approvals }) =>
        print(options, await approvals.breakGlass({ action, resource, before: options.before, after: options.after, reason: options.reason ?? '', ticket: options.ticket ?? '', durationSeconds: options.for ?? 0 })),
      ),
    );
  connectionOptions(glass.command('access').description('take ROLE (or --actions) at SCOPE for --for')).argument('<role>', "a role, or '-' with --actions").argument('<scope>')
    .option('--actions <list>', 'comma-separated actions instead of a role', list)
    .requiredOption('--reason <text>').option('--ticket <id>').option('--for <duration>', 'default 1h, at most 8h', parseSeconds)
    .action((role: string, scope: string, options: Opts) =>
      withClients(options, async ({ approvals }) =>
        print(options, await approvals.breakGlass({ action: '', resource: '', access: grantOf(role, options, scope, options.for ?? 0), reason: options.reason ?? '', ticket: options.ticket ?? '', durationSeconds: options.for ?? 0 })),
      ),
    );
  connectionOptions(glass.command('close-review').description("close a break-glass request's review (an owner)")).argument('<id>').requiredOption('--reason <text>').action(step('closeReview'));
}
