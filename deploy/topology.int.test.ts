/**
 * deploy/compose.yaml, run natively (there is no container engine on this machine).
 *
 * The test reads the compose file and the two Dockerfiles, and starts the SAME processes
 * the `authz` and `audit` containers would run — each Dockerfile's `CMD`, from the
 * repository root (the images' WORKDIR holds the same layout) — with the container's
 * environment (Dockerfile `ENV` + compose `environment`) mapped to this machine by the
 * table below: compose host names and loopback become 127.0.0.1 with free ports, secrets
 * and volumes become files and folders the test generates the way docs/deploy.md tells an
 * operator to, DATABASE_URL is a fresh database on the machine's Postgres and REDIS_URL
 * the machine's Redis with a key prefix of the test's own. A variable the table does not
 * know fails the test: compose cannot grow a setting this test silently ignores.
 *
 * Then it drives the system as a user would: a grant and a revoke through the admin API
 * with the bootstrap key, Checks over gRPC and AuthZEN, the signed change events in the
 * audit timeline, /metrics, and a SIGTERM that both processes answer with exit code 0
 * within compose's stop grace period.
 *
 * Needs `npm run build` (the services' dist), Postgres (WARDEN_TEST_PG_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres) and Redis (WARDEN_TEST_REDIS_URL, default
 * redis://127.0.0.1:6379): without them it fails, loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { ClientError, createChannel, createClient, Metadata, Status, type Channel } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditServiceDefinition, Order, type StoredEvent } from '@warden/proto/audit/v1';
import { AuthzServiceDefinition, Decision, Effect, ReasonCode } from '@warden/proto/authz/v1';
import { AdminServiceDefinition } from '@warden/proto/authz/v1/admin';
import { verifyEventSignature, type AuditEvent, type JsonValue } from '@warden/audit-events';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPLOY = path.join(ROOT, 'deploy');
const PG_ADMIN_URL = process.env['WARDEN_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const MACHINE_REDIS_URL = process.env['WARDEN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';

// ---------------------------------------------------------------------------------------
// The mapping table: every variable a Warden container gets, and what it becomes here.
// ---------------------------------------------------------------------------------------

type Rule =
  /** The same value natively. */
  | { readonly kind: 'keep' }
  /** A path in the container: through its secrets and volumes to the file or folder the test made. */
  | { readonly kind: 'path' }
  /** A listen host: 0.0.0.0 becomes 127.0.0.1 (nothing this test starts listens beyond loopback). */
  | { readonly kind: 'bind' }
  /** A listen port: a free port of this machine. */
  | { readonly kind: 'port' }
  /** A listen address host:port: 127.0.0.1 and a free port. */
  | { readonly kind: 'listen' }
  /** host:port or URL of a compose service (or of loopback in the container's network namespace). */
  | { readonly kind: 'address' }
  /** Not passed: why. */
  | { readonly kind: 'drop'; readonly why: string };

const keep: Rule = { kind: 'keep' };
const asPath: Rule = { kind: 'path' };
const bind: Rule = { kind: 'bind' };
const port: Rule = { kind: 'port' };
const listen: Rule = { kind: 'listen' };
const address: Rule = { kind: 'address' };
// No ClickHouse server can be installed here (Debian's is 18.16, there is no container engine),
// so audit runs with CLICKHOUSE_URL unset: the same SQL on the embedded chdb engine, whose data
// lands in AUDIT_DATA_DIR (the audit-spool volume, a temporary folder).
const NO_CLICKHOUSE_SERVER = 'no ClickHouse server here: audit uses the embedded chdb engine in AUDIT_DATA_DIR';

type ServiceName = 'authz' | 'audit';

const ENV_RULES: Record<ServiceName, Readonly<Record<string, Rule>>> = {
  authz: {
    NODE_ENV: keep, // authz.Dockerfile
    DATABASE_URL_FILE: asPath, // secret database_url: holds the URL of this test's fresh database
    REDIS_URL: address, // redis:6379 → the machine's Redis
    AUTHZ_GRPC_HOST: bind,
    AUTHZ_GRPC_PORT: port,
    AUTHZ_HTTP_HOST: bind,
    AUTHZ_HTTP_PORT: port,
    AUTHZ_METRICS_HOST: bind,
    AUTHZ_METRICS_PORT: port, // a free port, never the default 9464: tests run side by side
    AUTHZ_WORLD_FILE: asPath, // ../examples/acme.yaml, mounted
    AUTHZ_BOOTSTRAP_KEY_FILE: asPath, // in the authz-home volume
    AUTHZ_BOOTSTRAP_KEY_SUBJECT: keep,
    AUTHZ_BOOTSTRAP_KEY_ORG: keep,
    AUTHZ_AUDIT_ADDRESS: address, // 127.0.0.1:50052 in authz's network namespace: audit
    AUTHZ_AUDIT_SIGNING_KEY_FILE: asPath,
    AUTHZ_AUDIT_KEY_ID: keep,
    AUTHZ_TRUST_LOOPBACK: keep,
    AUTHZ_LOG_LEVEL: keep,
  },
  audit: {
    NODE_ENV: keep, // audit.Dockerfile
    AUDIT_DATA_DIR: asPath, // audit.Dockerfile; the audit-spool volume
    AUDIT_GRPC_ADDRESS: listen,
    CLICKHOUSE_URL: { kind: 'drop', why: NO_CLICKHOUSE_SERVER },
    AUDIT_CLICKHOUSE_USER: { kind: 'drop', why: `server credentials (the config refuses them without CLICKHOUSE_URL); ${NO_CLICKHOUSE_SERVER}` },
    AUDIT_CLICKHOUSE_PASSWORD_FILE: { kind: 'drop', why: `server credentials; ${NO_CLICKHOUSE_SERVER}` },
    AUDIT_AUTHZ_ADDRESS: address, // 127.0.0.1:50051 in authz's network namespace: authz
    AUDIT_SIGNING_KEY_FILE: asPath,
    AUDIT_PRODUCER_KEYS_FILE: asPath,
    AUDIT_API_KEYS_FILE: asPath,
    AUDIT_METRICS_HOST: bind,
    AUDIT_METRICS_PORT: port, // a free port, never the default 9465
    AUDIT_LOG_LEVEL: keep,
  },
};

/** Variables the test adds that compose does not set, and why. */
const ADDED: Record<ServiceName, Readonly<Record<string, (run: Run) => string>>> = {
  authz: {
    // Compose gives authz a Redis of its own; here the machine's Redis is shared with other tests.
    AUTHZ_REDIS_KEY_PREFIX: (run) => run.redisPrefix,
  },
  audit: {},
};

/** The people of examples/acme.yaml the test uses: an auditor (security_auditor) and a member. */
const AUDITOR = 'user:ivy@acme.com';
const MEMBER = 'user:mia@acme.com';

/** The files under deploy/secrets/ that compose reads, generated as docs/deploy.md says. */
const SECRET_FILES: Readonly<Record<string, (run: Run) => string>> = {
  // The compose Postgres's password; the machine's Postgres is reached through database_url below.
  postgres_password: () => randomBytes(18).toString('base64'),
  database_url: (run) => run.databaseUrl,
  clickhouse_password: () => randomBytes(18).toString('base64'),
  'audit_signing_key.pem': () => pem(generateKeyPairSync('ed25519').privateKey),
  'authz_audit_key.pem': (run) => pem(run.producerKey),
  'producers.json': (run) =>
    JSON.stringify([{ producer: 'authz', keyId: run.env('authz', 'AUTHZ_AUDIT_KEY_ID'), publicKey: createPublicKey(run.producerKey).export({ type: 'spki', format: 'pem' }).toString() }]),
  'audit_api_keys.json': (run) => JSON.stringify(Object.entries(run.auditKeys).map(([subject, key]) => ({ subject, keySha256: createHash('sha256').update(key).digest('hex') }))),
};

function pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}

// ---------------------------------------------------------------------------------------
// Reading compose and the Dockerfiles.
// ---------------------------------------------------------------------------------------

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: unknown;
  entrypoint?: unknown;
  environment?: Record<string, string | number | boolean>;
  secrets?: string[];
  volumes?: string[];
  ports?: string[];
  network_mode?: string;
  stop_grace_period?: string;
  depends_on?: Record<string, { condition: string }>;
}
interface Compose {
  services: Record<string, ComposeService>;
  secrets: Record<string, { file: string }>;
}

const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8')) as Compose;

interface Image {
  readonly env: Record<string, string>;
  readonly cmd: readonly string[];
}

/** The final stage's ENV and CMD of a Dockerfile. */
function readDockerfile(file: string): Image {
  const text = readFileSync(path.join(ROOT, file), 'utf8').replace(/\\\n/g, ' ');
  const stage = text.slice(text.lastIndexOf('\nFROM '));
  const env: Record<string, string> = {};
  for (const [, body] of stage.matchAll(/^ENV\s+(.+)$/gm)) {
    for (const pair of body!.trim().split(/\s+/)) {
      const match = /^([A-Z_][A-Z0-9_]*)=([^"'\s]*)$/.exec(pair);
      if (match === null) throw new Error(`${file}: cannot read ENV ${pair} (KEY=value without quotes expected)`);
      env[match[1]!] = match[2]!;
    }
  }
  const cmd = /^CMD (\[.*\])$/m.exec(stage)?.[1];
  if (cmd === undefined) throw new Error(`${file}: no exec-form CMD`);
  return { env, cmd: JSON.parse(cmd) as string[] };
}

/** The service whose network namespace a service lives in (`network_mode: service:x`). */
function netns(service: string): string {
  const mode = compose.services[service]?.network_mode;
  if (mode === undefined) return service;
  const shared = /^service:(\w+)$/.exec(mode)?.[1];
  if (shared === undefined) throw new Error(`${service}: network_mode ${mode} is not mapped by this test`);
  return netns(shared);
}

/** Compose `stop_grace_period` (Docker's default: 10 s), after which the engine kills the process. */
function stopGraceMs(service: string): number {
  const value = compose.services[service]?.stop_grace_period ?? '10s';
  const match = /^(\d+)(ms|s|m)$/.exec(value);
  if (match === null) throw new Error(`${service}: stop_grace_period ${value} is not mapped by this test`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

// ---------------------------------------------------------------------------------------
// The run: temporary files, ports, the mapped environments.
// ---------------------------------------------------------------------------------------

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as { port: number };
      s.close(() => resolve(p));
    });
  });
}

interface Run {
  readonly dir: string;
  readonly databaseUrl: string;
  readonly redisPrefix: string;
  readonly producerKey: KeyObject;
  /** Audit API keys by subject. */
  readonly auditKeys: Readonly<Record<string, string>>;
  /** The container environment's value (Dockerfile ENV + compose environment), before mapping. */
  env(service: ServiceName, name: string): string;
}

interface Plan {
  readonly service: ServiceName;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
}

/** `${netns}:${containerPort}` → the port the native process listens on (or the machine's Redis). */
type Endpoints = Map<string, string>;

function containerEnv(service: ServiceName): Record<string, string> {
  const spec = compose.services[service]!;
  const image = readDockerfile(spec.build!.dockerfile);
  const env = { ...image.env };
  for (const [key, value] of Object.entries(spec.environment ?? {})) env[key] = String(value);
  return env;
}

function mounts(service: ServiceName, dir: string): Array<{ target: string; source: string }> {
  const spec = compose.services[service]!;
  const out: Array<{ target: string; source: string }> = [];
  const secretsDir = path.join(dir, 'secrets');
  for (const secret of spec.secrets ?? []) {
    const file = compose.secrets[secret]?.file;
    if (file === undefined) throw new Error(`${service}: secret ${secret} is not declared`);
    out.push({ target: `/run/secrets/${secret}`, source: path.join(secretsDir, path.relative(path.join(DEPLOY, 'secrets'), path.resolve(DEPLOY, file))) });
  }
  for (const volume of spec.volumes ?? []) {
    const [from, target] = volume.split(':') as [string, string];
    if (from.startsWith('.') || from.startsWith('/')) {
      const host = path.resolve(DEPLOY, from);
      const underSecrets = path.relative(path.join(DEPLOY, 'secrets'), host);
      out.push({ target, source: underSecrets.startsWith('..') ? host : path.join(secretsDir, underSecrets) });
    } else {
      out.push({ target, source: path.join(dir, 'volumes', from) });
    }
  }
  return out.sort((a, b) => b.target.length - a.target.length);
}

function plan(service: ServiceName, run: Run, endpoints: Endpoints): Plan {
  const spec = compose.services[service]!;
  if (spec.entrypoint !== undefined || spec.command !== undefined) throw new Error(`${service}: compose overrides the image's command; map it in this test`);
  const image = readDockerfile(spec.build!.dockerfile);
  expect(image.cmd[0], `${service}: the image starts node`).toBe('node');
  const rules = ENV_RULES[service];
  const env: Record<string, string> = {};
  const where = mounts(service, run.dir);
  const toHostPath = (value: string, name: string) => {
    const mount = where.find((m) => value === m.target || value.startsWith(`${m.target}/`));
    if (mount === undefined) throw new Error(`${service}: ${name}=${value} is in no secret or volume of the container`);
    return mount.source + value.slice(mount.target.length);
  };
  const resolveAddress = (host: string, containerPort: string, name: string): string => {
    // Loopback is the container's own network namespace; a service name is that service's, and a
    // service that lives in another's namespace (network_mode) has no name of its own in compose.
    let namespace = host;
    if (host === '127.0.0.1' || host === 'localhost') namespace = netns(service);
    else if (compose.services[host]?.network_mode !== undefined) throw new Error(`${service}: ${name} names ${host}, which has no address of its own (network_mode)`);
    const found = endpoints.get(`${namespace}:${containerPort}`);
    if (found === undefined) throw new Error(`${service}: ${name} points at ${host}:${containerPort}, which nothing started here serves`);
    return found;
  };
  for (const [name, value] of Object.entries(containerEnv(service))) {
    const rule = rules[name];
    if (rule === undefined) {
      throw new Error(`${service}: the container gets ${name}=${value}, which deploy/topology.int.test.ts does not map: add it to ENV_RULES (pass it through or override it, and say why)`);
    }
    switch (rule.kind) {
      case 'keep':
        env[name] = value;
        break;
      case 'path':
        env[name] = toHostPath(value, name);
        break;
      case 'bind':
        expect(['0.0.0.0', '127.0.0.1'], `${service}: ${name}`).toContain(value);
        env[name] = '127.0.0.1';
        break;
      case 'port':
        env[name] = endpoints.get(`${netns(service)}:${value}`)!.split(':')[1]!;
        break;
      case 'listen':
        env[name] = endpoints.get(`${netns(service)}:${value.split(':')[1]}`)!;
        break;
      case 'address': {
        if (value.includes('://')) {
          const url = new URL(value);
          const target = resolveAddress(url.hostname, url.port, name);
          url.host = target;
          env[name] = url.toString().replace(/\/$/, '');
        } else {
          const [host, containerPort] = value.split(':') as [string, string];
          env[name] = resolveAddress(host, containerPort, name);
        }
        break;
      }
      case 'drop':
        break;
    }
  }
  for (const name of Object.keys(rules)) {
    expect(Object.keys(containerEnv(service)), `${service}: ENV_RULES maps ${name}, which the container no longer gets: remove it from the table`).toContain(name);
  }
  for (const [name, value] of Object.entries(ADDED[service])) env[name] = value(run);
  return { service, args: image.cmd.slice(1), env };
}

/** Free ports for every listening port of the two containers, keyed by network namespace and container port. */
async function allocate(): Promise<Endpoints> {
  const endpoints: Endpoints = new Map();
  for (const service of ['authz', 'audit'] as const) {
    for (const [name, value] of Object.entries(containerEnv(service))) {
      const rule = ENV_RULES[service][name];
      const containerPort = rule?.kind === 'port' ? value : rule?.kind === 'listen' ? value.split(':')[1] : undefined;
      if (containerPort === undefined) continue;
      const key = `${netns(service)}:${containerPort}`;
      if (endpoints.has(key)) throw new Error(`${service}: ${name} listens on ${containerPort}, which another process in the network namespace of ${netns(service)} listens on`);
      endpoints.set(key, `127.0.0.1:${await freePort()}`);
    }
  }
  // The dependencies compose runs and this machine has: Redis (Postgres is reached through the database_url secret).
  const redis = new URL(MACHINE_REDIS_URL);
  endpoints.set('redis:6379', `${redis.hostname}:${redis.port || '6379'}`);
  return endpoints;
}

// ---------------------------------------------------------------------------------------
// Processes.
// ---------------------------------------------------------------------------------------

interface Proc {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; atMs: number }>;
  stdout: string;
  stderr: string;
}

function start(p: Plan, home: string): Proc {
  const child = spawn(process.execPath, [...p.args], {
    cwd: ROOT, // the image's WORKDIR (/app) holds the repository's layout
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home, ...p.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const proc: Proc = {
    name: p.service,
    child,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, atMs: Date.now() }))),
    stdout: '',
    stderr: '',
  };
  child.stdout!.on('data', (chunk: Buffer) => (proc.stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (proc.stderr += chunk.toString()));
  return proc;
}

function output(proc: Proc): string {
  const tail = (text: string) => text.split('\n').slice(-40).map((line) => (line.length > 400 ? `${line.slice(0, 400)}…` : line)).join('\n');
  return `--- ${proc.name} stderr ---\n${tail(proc.stderr) || '(empty)'}\n--- ${proc.name} stdout (last 40 lines) ---\n${tail(proc.stdout) || '(empty)'}`;
}

/** Polls `probe` until it returns a value; fails with the process's output on timeout or exit. */
async function until<T>(proc: Proc, what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${proc.name} exited (code ${proc.child.exitCode}, signal ${proc.child.signalCode}) before ${what}\n${output(proc)}`);
    }
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(`${proc.name}: no ${what} within ${timeoutMs} ms (last error: ${last instanceof Error ? last.message : String(last)})\n${output(proc)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// ---------------------------------------------------------------------------------------
// The test.
// ---------------------------------------------------------------------------------------

let tempDir: string | undefined;
let run: Run;
let endpoints: Endpoints;
let plans: Record<ServiceName, Plan>;
let database: { name: string; pool: pg.Pool } | undefined;
let authz: Proc | undefined;
let audit: Proc | undefined;
const channels: Channel[] = [];

function grpcClients(key: string) {
  const channel = createChannel(plans.authz.env['AUTHZ_GRPC_HOST'] + ':' + plans.authz.env['AUTHZ_GRPC_PORT']);
  channels.push(channel);
  const options = { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } };
  return { authz: createClient(AuthzServiceDefinition, channel, options), admin: createClient(AdminServiceDefinition, channel, options) };
}

function httpUrl(route: string): string {
  return `http://${plans.authz.env['AUTHZ_HTTP_HOST']}:${plans.authz.env['AUTHZ_HTTP_PORT']}${route}`;
}

async function timeline(key: string, filter: { org: string; resourcePrefix?: string; actions?: string[] }): Promise<StoredEvent[]> {
  const channel = createChannel(plans.audit.env['AUDIT_GRPC_ADDRESS']!);
  const client = createClient(AuditServiceDefinition, channel, { '*': { metadata: Metadata({ authorization: `Bearer ${key}` }) } });
  const events: StoredEvent[] = [];
  try {
    for await (const page of client.query({ filter: { actions: [], ...filter }, order: Order.ORDER_OLDEST_FIRST, pageSize: 1000, limit: 0, cursor: '' })) {
      events.push(...page.events);
    }
  } finally {
    channel.close();
  }
  return events;
}

beforeAll(async () => {
  for (const service of ['authz', 'audit'] as const) {
    const main = path.join(ROOT, readDockerfile(compose.services[service]!.build!.dockerfile).cmd.at(-1)!);
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` (npm test does)`);
  }
  const dir = await mkdtemp(path.join(tmpdir(), 'warden-topology-'));
  tempDir = dir;

  // A fresh, empty database: authz migrates it at start, as it would the compose Postgres.
  const name = `warden_topology_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(`this test needs the machine's Postgres at ${PG_ADMIN_URL} (set WARDEN_TEST_PG_URL): ${(error as Error).message}`);
  }
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const databaseUrl = new URL(PG_ADMIN_URL);
  databaseUrl.pathname = `/${name}`;
  database = { name, pool: new pg.Pool({ connectionString: databaseUrl.toString(), max: 2 }) };

  const redis = new Redis(MACHINE_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`this test needs the machine's Redis at ${MACHINE_REDIS_URL} (set WARDEN_TEST_REDIS_URL): ${(error as Error).message}`);
  } finally {
    redis.disconnect();
  }

  const containerEnvs = { authz: containerEnv('authz'), audit: containerEnv('audit') };
  run = {
    dir,
    databaseUrl: databaseUrl.toString(),
    redisPrefix: `warden-topology-${randomBytes(4).toString('hex')}:`,
    producerKey: generateKeyPairSync('ed25519').privateKey,
    auditKeys: { [AUDITOR]: `auditor-${randomBytes(16).toString('hex')}`, [MEMBER]: `member-${randomBytes(16).toString('hex')}` },
    env: (service, key) => {
      const value = containerEnvs[service][key];
      if (value === undefined) throw new Error(`${service}: compose no longer sets ${key}, which the generated secrets need`);
      return value;
    },
  };

  // Secrets and bind-mounted files under deploy/secrets/ → generated files; named volumes → folders.
  for (const service of ['authz', 'audit'] as const) {
    for (const { source } of mounts(service, dir)) {
      if (source.startsWith(path.join(dir, 'secrets'))) {
        const generate = SECRET_FILES[path.relative(path.join(dir, 'secrets'), source)];
        if (generate === undefined) throw new Error(`${service}: compose reads ${source.slice(dir.length)}, which this test does not know how to generate (see docs/deploy.md)`);
        await mkdir(path.dirname(source), { recursive: true });
        if (!existsSync(source)) await writeFile(source, `${generate(run)}\n`, { mode: 0o600 });
      } else if (source.startsWith(path.join(dir, 'volumes'))) {
        await mkdir(source, { recursive: true });
      } else {
        expect(existsSync(source), `${service} mounts ${source}`).toBe(true);
      }
    }
  }

  endpoints = await allocate();
  plans = { authz: plan('authz', run, endpoints), audit: plan('audit', run, endpoints) };

  // Compose's order: audit depends on a healthy authz.
  expect(compose.services['audit']!.depends_on?.['authz']?.condition).toBe('service_healthy');
  await mkdir(path.join(dir, 'home-authz'));
  await mkdir(path.join(dir, 'home-audit'));
  authz = start(plans.authz, path.join(dir, 'home-authz'));
  await until(authz, 'HTTP 200 on /readyz', 30_000, async () => ((await fetch(httpUrl('/readyz'))).status === 200 ? true : undefined));
  audit = start(plans.audit, path.join(dir, 'home-audit'));
  const healthChannel = createChannel(plans.audit.env['AUDIT_GRPC_ADDRESS']!);
  channels.push(healthChannel);
  const health = createClient(HealthDefinition, healthChannel);
  const SERVING = 1; // grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
  await until(audit, 'grpc.health.v1 SERVING', 30_000, async () => ((await health.check({ service: '' })).status === SERVING ? true : undefined));
}, 90_000);

afterAll(async () => {
  for (const channel of channels) channel.close();
  for (const proc of [audit, authz]) {
    if (proc !== undefined && proc.child.exitCode === null && proc.child.signalCode === null) {
      proc.child.kill('SIGKILL');
      await proc.exited;
    }
  }
  if (database !== undefined) {
    await database.pool.end();
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${database.name} WITH (FORCE)`);
    await admin.end();
  }
  if (run !== undefined) {
    const redis = new Redis(MACHINE_REDIS_URL, { maxRetriesPerRequest: 0 });
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${run.redisPrefix}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
    redis.disconnect();
  }
  if (tempDir !== undefined) await rm(tempDir, { recursive: true, force: true });
}, 30_000);

describe('deploy/compose.yaml, natively: authz and audit as the containers would run them', () => {
  const scope = 'org:acme/project:search/env:staging';
  const resource = `${scope}/variable:FEATURE_FLAGS_URL`;
  const ask = { subject: MEMBER, action: 'variables:write', resource };
  let adminKey: string;
  let granted: { bindingId: string; revision: number };
  let revokedRevision: number;

  it('mapped every variable compose and the Dockerfiles set, and started both processes from their images\' CMD', () => {
    expect(plans.authz.args.at(-1)).toBe('services/authz/dist/main.js');
    expect(plans.audit.args.at(-1)).toBe('services/audit/dist/main.js');
    // The node options of the image's CMD are passed as they are (authz: V8 heap growth).
    expect(plans.authz.args.slice(0, -1)).toEqual(readDockerfile('deploy/authz.Dockerfile').cmd.slice(1, -1));
    // Every port compose publishes is one a process listens on, in that service's network namespace.
    for (const service of ['authz', 'audit'] as const) {
      for (const published of compose.services[service]!.ports ?? []) {
        expect([...endpoints.keys()], `${service} publishes ${published}`).toContain(`${netns(service)}:${published.split(':').at(-1)}`);
      }
    }
    expect(plans.audit.env['CLICKHOUSE_URL']).toBeUndefined();
    expect(authz!.stdout).toContain('"msg":"world applied"');
    expect(authz!.stdout).toContain('"msg":"bootstrap API key created"');
    expect(authz!.stdout).toContain('"msg":"outbox relay started"');
    expect(audit!.stdout).toMatch(/"store":"chdb".*"msg":"audit service listening"/);
  });

  it('grants through the admin HTTP API with the bootstrap key, and Check allows over gRPC and AuthZEN', async () => {
    adminKey = (await readFile(plans.authz.env['AUTHZ_BOOTSTRAP_KEY_FILE']!, 'utf8')).trim();
    expect(adminKey).toMatch(/^wdn_/);
    const { authz: check } = grpcClients(adminKey);
    const before = await check.check({ ...ask, consistency: { requirement: { $case: 'fullyConsistent', value: true } } });
    expect(before.decision).toBe(Decision.DECISION_DENY);

    const response = await fetch(httpUrl('/warden.authz.v1.AdminService/GrantBinding'), {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: MEMBER, role: 'env_writer', scope, reason: 'topology test: covering search staging' }),
    });
    const body = (await response.json()) as { binding?: { id?: string }; revision?: number | string; created?: boolean };
    expect(response.status, JSON.stringify(body)).toBe(200);
    expect(body.created).toBe(true);
    granted = { bindingId: body.binding!.id!, revision: Number(body.revision) };
    expect(granted.revision).toBeGreaterThan(before.revision);

    const after = await check.check({ ...ask, consistency: { requirement: { $case: 'atLeastRevision', value: granted.revision } } });
    expect(after.decision).toBe(Decision.DECISION_ALLOW);
    expect(after.reason?.binding?.id).toBe(granted.bindingId);

    const authzen = await fetch(httpUrl('/access/v1/evaluation'), {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: { type: 'user', id: 'mia@acme.com' }, action: { name: ask.action }, resource: { type: 'variable', id: resource } }),
    });
    expect(authzen.status).toBe(200);
    expect(await authzen.json()).toMatchObject({ decision: true, context: { warden: { decision: 'ALLOW' } } });
  });

  it('revokes through the admin gRPC API, and Check refuses over gRPC and AuthZEN', async () => {
    const { authz: check, admin } = grpcClients(adminKey);
    const revoked = await admin.revokeBinding({ bindingId: granted.bindingId, reason: 'topology test: rotation ended' });
    expect(revoked.changes).toBe(1);
    revokedRevision = revoked.revision;
    expect(revokedRevision).toBeGreaterThan(granted.revision);
    const after = await check.check({ ...ask, consistency: { requirement: { $case: 'atLeastRevision', value: revokedRevision } } });
    expect(after.decision).toBe(Decision.DECISION_DENY);
    expect(after.reason?.code).toBe(ReasonCode.REASON_CODE_NO_BINDING);
    const authzen = await fetch(httpUrl('/access/v1/evaluation'), {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ subject: { type: 'user', id: 'mia@acme.com' }, action: { name: ask.action }, resource: { type: 'variable', id: resource } }),
    });
    expect(await authzen.json()).toMatchObject({ decision: false });
    // Without a credential, administering is refused even from loopback (AUTHZ_TRUST_LOOPBACK only lets loopback callers check).
    const channel = createChannel(`${plans.authz.env['AUTHZ_GRPC_HOST']}:${plans.authz.env['AUTHZ_GRPC_PORT']}`);
    channels.push(channel);
    const anonymous = createClient(AdminServiceDefinition, channel);
    const again = { subject: MEMBER, role: 'env_writer', actions: [], scope, effect: Effect.EFFECT_ALLOW, condition: '', reason: 'no credential' };
    await expect(anonymous.grantBinding(again)).rejects.toSatisfy(
      (error: unknown) => error instanceof ClientError && (error.code === Status.UNAUTHENTICATED || error.code === Status.PERMISSION_DENIED),
    );
  });

  it('the outbox relay delivered both changes to audit, signed by the compose key, by the right actor, in revision order', async () => {
    const { rows } = await database!.pool.query<{ id: string; revision: string; action: string }>(
      `SELECT id::text AS id, revision::text AS revision, event->>'action' AS action FROM outbox WHERE revision = ANY($1::bigint[]) ORDER BY revision`,
      [[granted.revision, revokedRevision]],
    );
    expect(rows.map((r) => [Number(r.revision), r.action])).toEqual([[granted.revision, 'binding.created'], [revokedRevision, 'binding.deleted']]);
    const filter = { org: 'acme', resourcePrefix: scope, actions: ['binding.created', 'binding.deleted'] };
    const events = await until(audit!, 'both change events in the audit timeline', 20_000, async () => {
      const found = await timeline(run.auditKeys[AUDITOR]!, filter);
      return found.length >= 2 ? found : undefined;
    });
    // Audit event ids are the outbox ids, so each event is tied to the revision its write committed as.
    expect(events.map((e) => e.signed?.event?.id)).toEqual(rows.map((r) => r.id));
    expect(events[0]!.seq).toBeLessThan(events[1]!.seq);
    const publicKey = createPublicKey(run.producerKey);
    for (const [i, stored] of events.entries()) {
      const event = stored.signed!.event!;
      expect(event).toMatchObject({
        actor: { type: 'service', id: 'acme-admin' },
        action: rows[i]!.action,
        resource: scope,
        producer: 'authz',
        keyId: plans.authz.env['AUTHZ_AUDIT_KEY_ID'],
        reason: i === 0 ? 'topology test: covering search staging' : 'topology test: rotation ended',
      });
      expect(stored).toMatchObject({ org: 'acme', project: 'search', environment: 'staging' });
      const signed: AuditEvent = {
        id: event.id,
        occurredAt: event.occurredAt!.toISOString(),
        actor: { type: event.actor!.type as AuditEvent['actor']['type'], id: event.actor!.id },
        action: event.action,
        resource: event.resource,
        before: (event.before ?? null) as JsonValue,
        after: (event.after ?? null) as JsonValue,
        ...(event.reason !== undefined ? { reason: event.reason } : {}),
        producer: event.producer,
        keyId: event.keyId,
      };
      expect(verifyEventSignature(signed, stored.signed!.signature, publicKey), `event ${i} verifies with the generated authz_audit_key`).toBe(true);
    }
    expect(events[0]!.signed!.event!.after).toMatchObject({ subject: MEMBER, role: 'env_writer', scope });
    expect(events[1]!.signed!.event!.before).toMatchObject({ subject: MEMBER, role: 'env_writer', scope });
    // Audit asks authz (over loopback, AUTHZ_TRUST_LOOPBACK) who may read: a member may not.
    await expect(timeline(run.auditKeys[MEMBER]!, filter)).rejects.toSatisfy((error: unknown) => error instanceof ClientError && error.code === Status.PERMISSION_DENIED);
  });

  it('serves Prometheus metrics on the metrics ports', async () => {
    const authzMetrics = await fetch(`http://${plans.authz.env['AUTHZ_METRICS_HOST']}:${plans.authz.env['AUTHZ_METRICS_PORT']}/metrics`);
    expect(authzMetrics.status).toBe(200);
    expect(await authzMetrics.text()).toMatch(/^warden_authz_decisions(_total)?\{/m);
    const auditMetrics = await fetch(`http://${plans.audit.env['AUDIT_METRICS_HOST']}:${plans.audit.env['AUDIT_METRICS_PORT']}/metrics`);
    expect(auditMetrics.status).toBe(200);
    expect(await auditMetrics.text()).toMatch(/^warden_audit_append_events(_total)?\{/m);
  });

  it('stops both on SIGTERM with exit code 0 within compose\'s stop grace period (audit first, as `compose down` does)', async () => {
    for (const proc of [audit!, authz!]) {
      const grace = stopGraceMs(proc.name);
      const sent = Date.now();
      proc.child.kill('SIGTERM');
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), grace).unref());
      const exit = await Promise.race([proc.exited, timeout]);
      if (exit === 'timeout') throw new Error(`${proc.name} still running ${grace} ms after SIGTERM (compose would kill it now)\n${output(proc)}`);
      expect(exit, output(proc)).toMatchObject({ code: 0, signal: null });
      expect(exit.atMs - sent).toBeLessThan(grace);
    }
    expect(authz!.stdout).toContain('"msg":"authz stopped"');
  }, 30_000);
});
