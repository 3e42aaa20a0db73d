/**
 * `warden-audit` / `warden audit`: timeline, export, checkpoint and verify.
 * `verify --file` works offline on an exported JSON Lines file and a
 * checkpoint note, without the service.
 */
import { readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { Command, Option } from 'commander';
import { createChannel, createClient, Metadata } from 'nice-grpc';
import { AuditServiceDefinition, ExportFormat, Order, type AuditServiceClient, type StoredEvent } from '@warden/proto/audit/v1';
import { createPublicKey } from 'node:crypto';
import {
  checkWitnessPolicy,
  createNoteVerifier,
  formatVerifierKey,
  parseCheckpointNote,
  parseExportLine,
  parsePrivateKey,
  parseWitnessPolicy,
  parseVerifierKey,
  problemKindFromProto,
  ProducerKeyRegistry,
  verifyLog,
  verifyProvenRecords,
  type ProvenRecord,
  type WitnessPolicy,
} from '@warden/audit-events';
import { readProducerKeys } from './files.js';
import { checkAgainstWitnesses } from './witness-policy.js';

export type CliIo = {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Record<string, string | undefined>;
  readonly setExitCode: (code: number) => void;
};

const defaultIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  setExitCode: (code) => {
    process.exitCode = code;
  },
};

type Connection = { client: AuditServiceClient; metadata: Metadata; close(): void };

function connect(options: { address: string; apiKey?: string | undefined; subject?: string | undefined }): Connection {
  const channel = createChannel(options.address);
  const metadata = Metadata();
  if (options.apiKey !== undefined) metadata.set('authorization', `Bearer ${options.apiKey}`);
  if (options.subject !== undefined) metadata.set('x-warden-subject', options.subject);
  return { client: createClient(AuditServiceDefinition, channel), metadata, close: () => channel.close() };
}

type FilterOptions = {
  org: string;
  project?: string;
  env?: string;
  resource?: string;
  prefix?: string;
  actor?: string;
  action?: string[];
  since?: string;
  until?: string;
  oldest?: boolean;
};

function filterOf(o: FilterOptions) {
  return {
    org: o.org,
    ...(o.project !== undefined ? { project: o.project } : {}),
    ...(o.env !== undefined ? { environment: o.env } : {}),
    ...(o.resource !== undefined ? { resource: o.resource } : {}),
    ...(o.prefix !== undefined ? { resourcePrefix: o.prefix } : {}),
    ...(o.actor !== undefined ? { actor: o.actor } : {}),
    actions: o.action ?? [],
    ...(o.since !== undefined ? { since: parseTime(o.since, '--since') } : {}),
    ...(o.until !== undefined ? { until: parseTime(o.until, '--until') } : {}),
  };
}

function parseTime(text: string, flag: string): Date {
  const date = new Date(text);
  if (Number.isNaN(date.getTime())) throw new Error(`${flag}: "${text}" is not a time (use ISO 8601, e.g. 2026-11-20T14:00Z)`);
  return date;
}

function valueText(value: unknown): string {
  return value === undefined ? '∅' : JSON.stringify(value);
}

/** One readable timeline line. */
export function formatTimelineLine(e: StoredEvent): string {
  const event = e.signed?.event;
  if (event === undefined) return '';
  const time = (event.occurredAt ?? new Date(0)).toISOString().replace('T', ' ').replace('Z', '');
  const actor = `${event.actor?.type ?? '?'}:${event.actor?.id ?? '?'}${event.actor?.onBehalfOf !== undefined ? ` (for ${event.actor.onBehalfOf})` : ''}`;
  const change = event.before === undefined && event.after === undefined ? '' : `  ${valueText(event.before)} → ${valueText(event.after)}`;
  const reason = event.reason !== undefined ? `  "${event.reason}"` : '';
  return `${time}  ${actor.padEnd(26)}  ${event.action.padEnd(22)}  ${event.resource}${change}${reason}${e.payloadExpired ? '  [payload expired]' : ''}`;
}

/**
 * Verifies an exported JSON Lines file offline. A whole-log export (log order)
 * is recomputed against the checkpoint; an export with proofs (`--with-proofs`)
 * proves each event against the checkpoint it starts with.
 */
export async function verifyExportFile(options: { file: string; checkpoint?: string | undefined; key: string; producerKeys?: string | undefined }) {
  const verifier = parseVerifierKey(options.key);
  let embedded: string | undefined;
  const proven: ProvenRecord[] = [];
  readFileSync(options.file, 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const parsed = parseExportLine(line);
        if (parsed.kind === 'checkpoint') embedded = parsed.note;
        else proven.push({ record: parsed.record, proof: parsed.proof });
      } catch (error) {
        throw new Error(`${options.file}:${i + 1}: ${(error as Error).message}`);
      }
    });
  const noteText = options.checkpoint !== undefined ? readFileSync(options.checkpoint, 'utf8') : embedded;
  if (noteText === undefined) throw new Error('no checkpoint: pass --checkpoint, or export --with-proofs (the file then starts with one)');
  const note = parseCheckpointNote(noteText);
  const records = proven.map((p) => p.record).sort((a, b) => a.seq - b.seq);
  const orgs = new Set(records.map((r) => r.org));
  if (orgs.size > 1) throw new Error(`${options.file} mixes organizations: ${[...orgs].join(', ')}`);
  const org = records[0]?.org ?? note.checkpoint.origin.slice(note.checkpoint.origin.lastIndexOf('/') + 1);
  const registry = options.producerKeys === undefined ? undefined : new ProducerKeyRegistry(readProducerKeys(options.producerKeys));
  const producerKey = registry === undefined ? undefined : (producer: string, keyId: string) => registry.verificationKey(producer, keyId);
  const withProofs = proven.some((p) => p.proof !== undefined);
  if (withProofs) {
    const report = verifyProvenRecords({ checkpoint: noteText, verifiers: [verifier], records: proven, producerKey });
    return { report, checkpoint: note.checkpoint, org, producerSignaturesChecked: registry !== undefined, mode: 'proofs' as const, uncovered: report.uncovered, note: noteText };
  }
  const report = await verifyLog({ org, origin: note.checkpoint.origin, records, checkpoints: [{ note: noteText }], verifiers: [verifier], producerKey });
  return { report, checkpoint: note.checkpoint, org, producerSignaturesChecked: registry !== undefined, mode: 'log' as const, uncovered: 0, note: noteText };
}

export function createAuditCommand(io: CliIo = defaultIo): Command {
  const env = io.env;
  const command = new Command('audit').description('Warden audit log: incident timelines, exports and verification');
  command.exitOverride();
  command.configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  const withConnection = (cmd: Command) =>
    cmd
      .addOption(new Option('--address <host:port>', 'audit service address').default(env.WARDEN_AUDIT_ADDRESS ?? '127.0.0.1:50052'))
      .addOption(new Option('--api-key <key>', 'an authz API key or token: the audit service authenticates it through authz (default: $WARDEN_API_KEY)'))
      .addOption(new Option('--key-file <file>', 'file holding the API key (default: $WARDEN_KEY_FILE)'))
      .addOption(new Option('--as <subject>', 'send x-warden-subject (development only: a service with AUDIT_AUTHZ_DISABLED and AUDIT_TRUST_SUBJECT_HEADER)'));
  const withFilter = (cmd: Command) =>
    cmd
      .requiredOption('--org <org>', 'organization id')
      .option('--project <project>')
      .option('--env <environment>')
      .option('--resource <path>', 'exact resource path')
      .option('--prefix <path>', 'resource path prefix')
      .option('--actor <subject>', 'e.g. user:sarah@acme.com')
      .option('--action <action...>', 'one or more actions, e.g. flag.enabled')
      .option('--since <time>', 'ISO 8601, inclusive')
      .option('--until <time>', 'ISO 8601, exclusive')
      .option('--oldest', 'oldest first (default: newest first)');
  const keyFrom = (o: { apiKey?: string; keyFile?: string }): string | undefined => {
    const direct = o.apiKey ?? env.WARDEN_API_KEY;
    if (direct !== undefined && direct !== '') return direct;
    const file = o.keyFile ?? env.WARDEN_KEY_FILE;
    return file === undefined || file === '' ? undefined : readFileSync(file, 'utf8').trim();
  };
  const conn = (o: { address: string; apiKey?: string; keyFile?: string; as?: string }) => connect({ address: o.address, apiKey: keyFrom(o), subject: o.as });

  withFilter(withConnection(command.command('timeline').description('print an incident timeline')))
    .option('--limit <n>', 'at most n events', (v) => Number.parseInt(v, 10), 200)
    .option('--json', 'one JSON object per event')
    .action(async (o: FilterOptions & { address: string; apiKey?: string; as?: string; limit: number; json?: boolean }) => {
      const c = conn(o);
      try {
        let count = 0;
        for await (const page of c.client.query(
          { filter: filterOf(o), order: o.oldest === true ? Order.ORDER_OLDEST_FIRST : Order.ORDER_NEWEST_FIRST, limit: o.limit, pageSize: Math.min(1000, o.limit) },
          { metadata: c.metadata },
        )) {
          for (const e of page.events) {
            count += 1;
            io.stdout(o.json === true ? `${JSON.stringify({ seq: e.seq, ...e.signed?.event })}\n` : `${formatTimelineLine(e)}\n`);
          }
        }
        if (o.json !== true) io.stderr(`${count} event${count === 1 ? '' : 's'}\n`);
      } finally {
        c.close();
      }
    });

  withFilter(withConnection(command.command('export').description('export events as JSON Lines (verifiable offline) or CSV')))
    .addOption(new Option('--format <format>', 'jsonl or csv').choices(['jsonl', 'csv']).default('jsonl'))
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--log-order', 'the whole organization log in seq order (only --org): the file `verify --file` checks')
    .option('--with-proofs', 'JSONL: add the latest checkpoint and an inclusion proof per event, so a filtered export verifies offline')
    .action(async (o: FilterOptions & { address: string; apiKey?: string; as?: string; format: string; out?: string; logOrder?: boolean; withProofs?: boolean }) => {
      const c = conn(o);
      const file = o.out === undefined ? undefined : createWriteStream(o.out);
      try {
        for await (const chunk of c.client.export(
          {
            filter: filterOf(o),
            format: o.format === 'csv' ? ExportFormat.EXPORT_FORMAT_CSV : ExportFormat.EXPORT_FORMAT_JSONL,
            order: o.logOrder === true ? Order.ORDER_LOG : o.oldest === true ? Order.ORDER_OLDEST_FIRST : Order.ORDER_NEWEST_FIRST,
            withProofs: o.withProofs === true,
          },
          { metadata: c.metadata },
        )) {
          if (file !== undefined) file.write(chunk.data);
          else io.stdout(chunk.data.toString('utf8'));
        }
      } finally {
        c.close();
        if (file !== undefined) await new Promise<void>((resolve) => file.end(resolve));
      }
    });

  command
    .command('verifier-key')
    .description("print the verifier key (<name>+<hash>+<key>, C2SP signed-note) of the audit service's checkpoint signing key, to pin it (AUTHZ_AUDIT_VERIFIER_KEY, verify --key)")
    .requiredOption('--signing-key <file>', 'the Ed25519 private key (PKCS#8 PEM) the audit service signs checkpoints with (AUDIT_SIGNING_KEY_FILE)')
    .option('--name <name>', 'the key name the service signs under (AUDIT_SIGNING_KEY_NAME)', 'warden-audit')
    .action((o: { signingKey: string; name: string }) => {
      const key = parsePrivateKey(readFileSync(o.signingKey, 'utf8'));
      io.stdout(`${formatVerifierKey(createNoteVerifier(o.name, createPublicKey(key)))}\n`);
    });

  withConnection(command.command('checkpoint').description("print (or save) an organization's latest signed checkpoint"))
    .requiredOption('--org <org>')
    .option('--out <file>', 'write the note to a file')
    .action(async (o: { org: string; address: string; apiKey?: string; as?: string; out?: string }) => {
      const c = conn(o);
      try {
        const response = await c.client.checkpoint({ org: o.org }, { metadata: c.metadata });
        if (response.checkpoint === undefined) throw new Error(`no checkpoint for ${o.org} yet`);
        if (o.out !== undefined) writeFileSync(o.out, response.checkpoint.note);
        else io.stdout(response.checkpoint.note);
        io.stderr(`tree size ${response.checkpoint.treeSize}, verifier key ${response.verifierKey}\n`);
      } finally {
        c.close();
      }
    });

  withConnection(command.command('verify').description('verify a log: online (--org) or offline (--file --checkpoint --key)'))
    .option('--org <org>', 'verify the service log of this organization (online)')
    .option('--trusted <file>', 'online: a checkpoint note seen earlier; the log must still contain it')
    .option('--file <export.jsonl>', 'offline: an exported JSON Lines file of a whole organization log')
    .option('--checkpoint <note>', 'offline: a signed checkpoint note file')
    .option('--key <vkey>', 'offline: the audit verifier key (<name>+<hash>+<key>)')
    .option('--producer-keys <file>', 'offline: producer keys JSON, to check event signatures too')
    .option('--witness-policy <file>', 'a C2SP tlog-policy file: the checkpoint must be cosigned by its witness quorum; online, its witnesses with a URL are asked for the newest checkpoint they cosigned')
    .action(async (o: { org?: string; trusted?: string; file?: string; checkpoint?: string; key?: string; producerKeys?: string; witnessPolicy?: string; address: string; apiKey?: string; as?: string }) => {
      const policy = o.witnessPolicy === undefined ? undefined : parseWitnessPolicy(readFileSync(o.witnessPolicy, 'utf8'));
      if (o.file !== undefined) {
        const key = o.key ?? (policy?.logs[0] === undefined ? undefined : formatVerifierKey(policy.logs[0]));
        if (key === undefined) throw new Error('offline verify needs --file and --key (and --checkpoint unless the export has proofs)');
        const { report, checkpoint, producerSignaturesChecked, mode, uncovered, note } = await verifyExportFile({ file: o.file, checkpoint: o.checkpoint, key, producerKeys: o.producerKeys });
        if (policy !== undefined) {
          const quorum = checkWitnessPolicy(parseCheckpointNote(note), policy, [parseVerifierKey(key)]);
          if (!quorum.ok) {
            io.stdout(`FAILED  the checkpoint (size ${checkpoint.treeSize}) does not meet the witness policy: ${quorum.reason}\n`);
            io.setExitCode(1);
            return;
          }
          io.stderr(`witness quorum met (cosigned by ${quorum.cosigned.join(', ') || 'none'})\n`);
        }
        if (report.ok) {
          const what = mode === 'proofs' ? `${report.eventsChecked} events proven by inclusion proofs` : `${report.eventsChecked} events`;
          const extra = uncovered > 0 ? `; ${uncovered} events newer than the checkpoint not proven` : '';
          io.stdout(`OK  ${what}; checkpoint ${checkpoint.origin} size ${checkpoint.treeSize} verified${producerSignaturesChecked ? '; producer signatures verified' : ' (producer signatures not checked: pass --producer-keys)'}${extra}\n`);
        } else {
          io.stdout(`FAILED  first problem at seq ${report.firstProblem?.seq}: [${report.firstProblem?.kind}] ${report.firstProblem?.message}\n`);
          for (const p of report.problems.slice(1, 20)) io.stdout(`        seq ${p.seq}: [${p.kind}] ${p.message}\n`);
          io.setExitCode(1);
        }
        return;
      }
      if (o.org === undefined) throw new Error('verify needs --org (online) or --file (offline)');
      const c = conn(o);
      try {
        const trusted = o.trusted !== undefined ? [readFileSync(o.trusted, 'utf8')] : [];
        if (policy !== undefined) {
          const witnessed = await witnessChecks(c, o.org, policy, o.key);
          if (witnessed.failed) {
            io.setExitCode(1);
            return;
          }
          if (witnessed.trusted !== undefined) trusted.push(witnessed.trusted);
        }
        const reports = [];
        for (const note of trusted.length === 0 ? [undefined] : trusted) {
          reports.push(await c.client.verify({ org: o.org, ...(note !== undefined ? { trustedCheckpoint: note } : {}) }, { metadata: c.metadata }));
        }
        const report = reports.find((r) => !r.ok) ?? reports[0]!;
        if (report.ok) {
          io.stdout(`OK  ${report.eventsChecked} events, ${report.checkpointsVerified} checkpoint roots verified, tree size ${report.treeSize}${report.payloadsExpired > 0 ? `, ${report.payloadsExpired} payloads expired by retention` : ''}\n`);
        } else {
          const first = report.firstProblem;
          io.stdout(`FAILED  first problem at seq ${first?.seq}: [${(first === undefined ? undefined : problemKindFromProto(first.kind)) ?? 'unknown'}] ${first?.message}\n`);
          for (const p of report.problems.slice(1, 20)) io.stdout(`        seq ${p.seq}: [${problemKindFromProto(p.kind) ?? 'unknown'}] ${p.message}\n`);
          io.setExitCode(1);
        }
      } finally {
        c.close();
      }
    });

  /** The service's checkpoint against the policy and what its witnesses saw; prints FAILED lines. */
  async function witnessChecks(c: Connection, org: string, policy: WitnessPolicy, key: string | undefined): Promise<{ failed: boolean; trusted: string | undefined }> {
    const response = await c.client.checkpoint({ org }, { metadata: c.metadata });
    if (response.checkpoint === undefined) {
      io.stdout(`FAILED  the log of ${org} has no checkpoint, so no witness cosignature\n`);
      return { failed: true, trusted: undefined };
    }
    const logVerifiers = policy.logs.length > 0 ? [] : [parseVerifierKey(key ?? response.verifierKey)];
    if (policy.logs.length === 0 && key === undefined) io.stderr('the policy names no log key: trusting the key the service reports (pass --key or a "log" line)\n');
    const verdict = await checkAgainstWitnesses({ note: response.checkpoint.note, policy, logVerifiers: [...policy.logs, ...logVerifiers] });
    const failures = [...verdict.conflicts];
    if (!verdict.quorum.ok) failures.push(`the checkpoint (size ${response.checkpoint.treeSize}) does not meet the witness policy: ${verdict.quorum.reason}`);
    for (const w of verdict.unreachable) io.stderr(`witness ${w} could not be asked\n`);
    if (verdict.askedQuorum === false) failures.push(`too few witnesses answered to meet the quorum "${policy.quorum}" (a rollback could hide behind the ones that did not): ${verdict.unreachable.join('; ')}`);
    if (verdict.askedQuorum === undefined) io.stderr('no policy witness has a URL: cosignatures checked, but no witness was asked for the newest checkpoint it cosigned\n');
    if (failures.length > 0) {
      io.stdout(`FAILED  ${failures[0]}\n`);
      for (const f of failures.slice(1)) io.stdout(`        ${f}\n`);
      return { failed: true, trusted: undefined };
    }
    io.stderr(`witness quorum met (cosigned by ${verdict.quorum.cosigned.join(', ') || 'none'})\n`);
    return { failed: false, trusted: verdict.newestWitnessed?.note };
  }

  const keys = command.command('keys').description('producer key registry (needs AUDIT_KEY_ADMIN_SCOPE on the service)');
  withConnection(keys.command('list').description('list producer keys')).action(async (o: { address: string; apiKey?: string; as?: string }) => {
    const c = conn(o);
    try {
      const response = await c.client.listProducerKeys({}, { metadata: c.metadata });
      for (const k of response.keys) {
        io.stdout(`${k.producer}/${k.keyId}  ${Buffer.from(k.publicKey).toString('base64')}  ${k.revokedAt !== undefined ? `revoked ${k.revokedAt.toISOString()}` : 'active'}\n`);
      }
    } finally {
      c.close();
    }
  });
  withConnection(keys.command('add').description('register a producer public key (base64 of the raw 32 bytes)'))
    .argument('<producer>')
    .argument('<keyId>')
    .argument('<publicKey>')
    .action(async (producer: string, keyId: string, publicKey: string, o: { address: string; apiKey?: string; as?: string }) => {
      const c = conn(o);
      try {
        await c.client.addProducerKey({ producer, keyId, publicKey: Buffer.from(publicKey, 'base64') }, { metadata: c.metadata });
        io.stdout(`added ${producer}/${keyId}\n`);
      } finally {
        c.close();
      }
    });
  withConnection(keys.command('revoke').description("revoke a producer key (its new events are refused)"))
    .argument('<producer>')
    .argument('<keyId>')
    .action(async (producer: string, keyId: string, o: { address: string; apiKey?: string; as?: string }) => {
      const c = conn(o);
      try {
        const response = await c.client.revokeProducerKey({ producer, keyId }, { metadata: c.metadata });
        io.stdout(`revoked ${producer}/${keyId} at ${response.revokedAt?.toISOString() ?? '?'}\n`);
      } finally {
        c.close();
      }
    });

  return command;
}
