/** The connection every `warden` command shares: address, credentials, exit codes, one gRPC channel per command. */
import { existsSync, readFileSync } from 'node:fs';
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';
import { ClientError, createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import { AuthzServiceDefinition } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { ApprovalsServiceDefinition } from '@warden/proto/authz/v1/approvals';

export const EXIT = { ok: 0, denied: 1, usage: 2, approval: 3, unavailable: 4, refused: 5 } as const;

export interface Connection {
  addr: string;
  keyFile?: string;
  json?: boolean;
}

export function parseJsonObject(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new CommanderArgumentError('must be a JSON object, e.g. \'{"ticket":"OPS-1"}\'');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new CommanderArgumentError('must be a JSON object');
  return parsed as Record<string, unknown>;
}

/** `2026-12-01T00:00:00Z`, or a duration from now: `30m`, `12h`, `7d`. */
export function parseExpiry(value: string): Date {
  const relative = /^(\d+)([mhd])$/.exec(value);
  if (relative) return new Date(Date.now() + Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd']);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new CommanderArgumentError('must be a date-time (2026-12-01T00:00:00Z) or a duration (30m, 12h, 7d)');
  return date;
}

function credentials(options: Connection): Metadata {
  const env = process.env['WARDEN_API_KEY'];
  let key = env;
  if (key === undefined || key === '') {
    const file = options.keyFile ?? process.env['WARDEN_KEY_FILE'] ?? (existsSync('data/admin.key') ? 'data/admin.key' : undefined);
    if (file !== undefined) key = readFileSync(file, 'utf8').trim();
  }
  return key ? Metadata({ authorization: `Bearer ${key}` }) : Metadata();
}

export interface Clients {
  readonly authz: ReturnType<typeof createClient<typeof AuthzServiceDefinition>>;
  readonly admin: ReturnType<typeof createClient<typeof AdminServiceDefinition>>;
  readonly approvals: ReturnType<typeof createClient<typeof ApprovalsServiceDefinition>>;
}

export async function withClients<T>(options: Connection, run: (clients: Clients) => Promise<T>): Promise<T | undefined> {
  let channel: Channel | undefined;
  try {
    channel = createChannel(options.addr);
    const defaults = { '*': { metadata: credentials(options), signal: AbortSignal.timeout(15_000) } };
    return await run({
      authz: createClient(AuthzServiceDefinition, channel, defaults),
      admin: createClient(AdminServiceDefinition, channel, defaults),
      approvals: createClient(ApprovalsServiceDefinition, channel, defaults),
    });
  } catch (error) {
    if (error instanceof ClientError) {
      process.stderr.write(`warden: ${Status[error.code]}: ${error.details}\n`);
      process.exitCode = error.code === Status.INVALID_ARGUMENT ? EXIT.usage
        : [Status.UNAVAILABLE, Status.DEADLINE_EXCEEDED, Status.INTERNAL, Status.UNKNOWN].includes(error.code) ? EXIT.unavailable
        : EXIT.refused;
      return undefined;
    }
    throw error;
  } finally {
    channel?.close();
  }
}

export function connectionOptions(command: Command): Command {
  return command
    .option('--addr <host:port>', 'authz gRPC address', process.env['WARDEN_AUTHZ_ADDR'] ?? '127.0.0.1:50051')
    .option('--key-file <file>', 'file holding the API key (or set WARDEN_API_KEY)')
    .option('--json', 'print JSON');
}

