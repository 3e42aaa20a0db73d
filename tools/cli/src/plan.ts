/**
 * `warden plan …` and `warden apply FILE`: a change's effect before it is made (PreviewChange),
 * and a world file planned — its effect per organization and its drift from the store — then
 * applied only with `--yes` (ApplyWorld), judged by the same rule as any other change.
 *
 *   warden plan grant SUBJECT ROLE SCOPE [--actions a,b] [--deny] [--expires 7d] [--condition CEL]
 *   warden plan revoke BINDING_ID
 *   warden plan add-member|remove-member ORG GROUP MEMBER
 *   warden plan put-role ORG NAME --actions a,b [--membership] [--ceiling a,b]
 *   warden plan delete-role ORG NAME
 *   warden plan put-resource PATH [--protected true|false] [--require-approval true|false] [--required-approvals N] …
 *   warden plan key ORG SUBJECT                     minting a key: what the caller would gain
 *   warden plan world FILE                          = warden apply FILE (without --yes)
 *
 * Exit codes: 0 the caller may make the change (or applied), 5 it may not (the reason is
 * printed), 2 bad input, 4 the service cannot answer.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Decision, decisionToJSON, Effect } from '@warden/proto/authz/v1';
import type { AccessChange, ChangeEffect, OrgPlan, PreviewChangeRequest } from '@warden/proto/authz/v1/admin';
import { EXIT, type Connection, type Clients } from './connection.js';

type Run = <T>(options: Connection, run: (clients: Clients) => Promise<T>) => Promise<T | undefined>;

const decision = (d: Decision) => decisionToJSON(d).replace('DECISION_', '');
const list = (value: string) => value.split(',').map((v) => v.trim()).filter(Boolean);
const bool = (value: string) => {
  if (value !== 'true' && value !== 'false') throw new Error(`expected true or false, not ${JSON.stringify(value)}`);
  return value === 'true';
};

const count = (value: string) => {
  if (!/^\d{1,2}$/.test(value)) throw new Error(`expected a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
};

/** Gains and losses grouped per subject, as people read them. */
export function describeEffect(effect: ChangeEffect | undefined): string {
  if (effect === undefined) return '  (no effect)\n';
  const out: string[] = [];
  const group = (changes: readonly AccessChange[], verb: string) => {
    const bySubject = new Map<string, string[]>();
    for (const c of changes) {
      const level = c.after === Decision.DECISION_REQUIRES_APPROVAL || c.before === Decision.DECISION_REQUIRES_APPROVAL ? ` (${decision(c.before)} → ${decision(c.after)})` : '';
      bySubject.set(c.subject, [...(bySubject.get(c.subject) ?? []), `${c.action} on ${c.resource}${level}`]);
    }
    for (const [subject, items] of bySubject) out.push(`  ${subject} ${verb} ${items.length}: ${items.slice(0, 12).join('; ')}${items.length > 12 ? `; … (${items.length - 12} more)` : ''}`);
  };
  group(effect.gains, 'gains');
  group(effect.losses, 'loses');
  for (const l of effect.loosened) out.push(`  loosens ${l.resource}: ${l.how.join('; ')}`);
  if (effect.truncated) out.push(`  (listed the first of ${effect.gainsTotal} gains and ${effect.lossesTotal} losses)`);
  return out.length === 0 ? '  nobody gains or loses anything\n' : `${out.join('\n')}\n`;
}

function verdict(allowed: boolean, refusal: string, brokenInvariant: string): string {
  if (allowed) return 'allowed: you may make this change\n';
  return `refused: ${brokenInvariant !== '' ? `it would break an invariant: ${brokenInvariant}` : refusal}\n`;
}

function printPlan(plan: OrgPlan): void {
  process.stdout.write(`org:${plan.org}${plan.create ? ' (does not exist: would be created)' : ''} — ${plan.changes} change${plan.changes === 1 ? '' : 's'}\n`);
  process.stdout.write(describeEffect(plan.effect));
  if (plan.drift.length > 0) {
    process.stdout.write(`  drift (in the store, not as the file says; a world file never removes it):\n`);
    for (const d of plan.drift.slice(0, 50)) process.stdout.write(`    ${d.kind} ${d.key}: ${d.detail}\n`);
    if (plan.drift.length > 50) process.stdout.write(`    … (${plan.drift.length - 50} more)\n`);
  }
  process.stdout.write(`  ${verdict(plan.allowed, plan.refusal, plan.brokenInvariant)}`);
}

export function addPlanCommands(program: Command, connectionOptions: (command: Command) => Command, withClients: Run): void {
  const preview = (change: PreviewChangeRequest['change'], options: Connection) =>
    withClients(options, async ({ admin }) => {
      const response = await admin.previewChange({ change });
      if (options.json === true) process.stdout.write(`${JSON.stringify(response)}\n`);
      else process.stdout.write(`${describeEffect(response.effect)}${verdict(response.allowed, response.refusal, response.brokenInvariant)}(revision ${response.revision})\n`);
      process.exitCode = response.allowed ? EXIT.ok : EXIT.refused;
    });

  const plan = program.command('plan').description("a change's effect — who gains and who loses what — and whether you may make it (nothing is written)");
  connectionOptions(plan.command('grant').description('grant (or --deny) a role or actions'))
    .argument('<subject>').argument('<role>', "'-' with --actions").argument('<scope>')
    .option('--actions <list>', 'comma-separated actions instead of a role', list)
    .option('--deny', 'a deny binding')
    .option('--expires <iso>', 'an ISO date-time', (v: string) => new Date(v))
    .option('--condition <cel>', 'a CEL condition')
    .action(async (subject: string, role: string, scope: string, o: Connection & { actions?: string[]; deny?: boolean; expires?: Date; condition?: string }) => {
      await preview({ $case: 'grant', value: { subject, role: role === '-' ? '' : role, actions: o.actions ?? [], scope, effect: o.deny ? Effect.EFFECT_DENY : Effect.EFFECT_ALLOW, expiresAt: o.expires, condition: o.condition ?? '', reason: '' } }, o);
    });
  connectionOptions(plan.command('revoke').description('revoke a binding')).argument('<binding-id>')
    .action(async (bindingId: string, o: Connection) => preview({ $case: 'revoke', value: { bindingId, reason: '' } }, o));
  for (const [name, kind] of [['add-member', 'addMember'], ['remove-member', 'removeMember']] as const) {
    connectionOptions(plan.command(name).description(`${name === 'add-member' ? 'add a member to' : 'remove a member from'} a group`))
      .argument('<org>').argument('<group>', 'group:<id>').argument('<member>')
      .action(async (org: string, group: string, member: string, o: Connection) => preview({ $case: kind, value: { org, group, member, reason: '' } }, o));
  }
  connectionOptions(plan.command('put-role').description('define or redefine a role')).argument('<org>').argument('<name>')
    .requiredOption('--actions <list>', 'comma-separated action patterns', list)
    .option('--membership', 'a membership role').option('--ceiling <list>', 'comma-separated ceiling patterns', list)
    .action(async (org: string, name: string, o: Connection & { actions: string[]; membership?: boolean; ceiling?: string[] }) =>
      preview({ $case: 'putRole', value: { org, name, description: '', actions: o.actions, membership: o.membership === true, ceiling: o.ceiling ?? [], reason: '' } }, o));
  connectionOptions(plan.command('delete-role').description('delete a role')).argument('<org>').argument('<name>')
    .action(async (org: string, name: string, o: Connection) => preview({ $case: 'deleteRole', value: { org, name, reason: '' } }, o));
  connectionOptions(plan.command('put-resource').description("create a resource or replace its settings")).argument('<path>')
    .option('--protected <bool>', 'true or false', bool).option('--require-approval <bool>', 'true or false', bool)
    .option('--show-values <bool>', 'show values to readers: true or false', bool)
    .option('--sensitive-actions <list>', 'comma-separated', list).option('--protected-roles <list>', 'comma-separated', list)
    .option('--approval-actions <list>', 'comma-separated', list)
    .option('--visible-from-below <list>', 'comma-separated actions an assignment below a resource allows on it', list)
    .option('--required-approvals <n>', 'distinct approvals a change request needs (1-10)', count)
    .action(async (path: string, o: Connection & { protected?: boolean; requireApproval?: boolean; showValues?: boolean; sensitiveActions?: string[]; protectedRoles?: string[]; approvalActions?: string[]; visibleFromBelow?: string[]; requiredApprovals?: number }) =>
      preview({
        $case: 'putResource',
        value: {
          path, reason: '',
          settings: {
            protected: o.protected, requireApproval: o.requireApproval, showValuesToReaders: o.showValues,
            sensitiveActions: o.sensitiveActions ?? [], protectedRoles: o.protectedRoles ?? [], approvalActions: o.approvalActions ?? [], visibleFromBelow: o.visibleFromBelow ?? [], attributes: undefined,
            requiredApprovals: o.requiredApprovals,
          },
        },
      }, o));
  connectionOptions(plan.command('key').description('minting an API key for SUBJECT: what you would gain')).argument('<org>').argument('<subject>')
    .action(async (org: string, subject: string, o: Connection) => preview({ $case: 'createApiKey', value: { org, subject, description: '', reason: '' } }, o));

  const world = async (file: string, o: Connection & { yes?: boolean; reason?: string }) => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      process.stderr.write(`warden apply: ${file} cannot be read: ${(error as Error).message}\n`);
      process.exitCode = EXIT.usage;
      return;
    }
    await withClients(o, async ({ admin }) => {
      const response = await admin.applyWorld({ world: text, reason: o.reason ?? `warden apply ${file}`, apply: o.yes === true });
      if (o.json === true) process.stdout.write(`${JSON.stringify(response)}\n`);
      else {
        for (const p of response.orgs) printPlan(p);
        process.stdout.write(response.applied ? `applied; revision ${response.revision}\n` : response.orgs.every((p) => p.allowed) ? 'nothing written: run again with --yes to apply\n' : 'nothing written\n');
      }
      process.exitCode = response.orgs.every((p) => p.allowed) ? EXIT.ok : EXIT.refused;
    });
  };
  connectionOptions(plan.command('world').description('a world file: its plan and drift (= warden apply FILE)')).argument('<file>')
    .action(async (file: string, o: Connection) => world(file, o));
  connectionOptions(program.command('apply').description('plan a world file (YAML or JSON) and, with --yes, apply it through the admin API'))
    .argument('<file>')
    .option('--yes', 'apply the plan (otherwise nothing is written)')
    .option('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (file: string, o: Connection & { yes?: boolean; reason?: string }) => world(file, o));
}
