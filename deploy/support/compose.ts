/**
 * deploy/compose.yaml and the Dockerfiles, read and mapped onto this machine for
 * topology.int.test.ts: each container's environment (Dockerfile ENV + compose
 * environment) through the test's mapping table, its secrets and volumes as files and
 * folders of the run, its listening ports as free ports of 127.0.0.1 by network namespace.
 * A variable, mount or address the table does not map is an error, never passed silently.
 */
import type { KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parse } from 'yaml';
import { freePort, readDockerfile as readImage, redisUrl, type DockerImage } from '@warden/testkit';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const DEPLOY = path.join(ROOT, 'deploy');

export type ServiceName = 'authz' | 'audit';

export type Rule =
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

export const keep: Rule = { kind: 'keep' };
export const asPath: Rule = { kind: 'path' };
export const bind: Rule = { kind: 'bind' };
export const port: Rule = { kind: 'port' };
export const listen: Rule = { kind: 'listen' };
export const address: Rule = { kind: 'address' };

/** The test's table: a rule for every variable each container gets, and the variables it adds. */
export interface MappingTable {
  readonly rules: Record<ServiceName, Readonly<Record<string, Rule>>>;
  readonly added: Record<ServiceName, Readonly<Record<string, (run: Run) => string>>>;
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

export const compose = parse(readFileSync(path.join(DEPLOY, 'compose.yaml'), 'utf8')) as Compose;

/** The final stage's ENV and CMD of a Dockerfile (a path from the repository root). */
export const readDockerfile = (file: string): DockerImage => readImage(path.join(ROOT, file));

/** The service whose network namespace a service lives in (`network_mode: service:x`). */
export function netns(service: string): string {
  const mode = compose.services[service]?.network_mode;
  if (mode === undefined) return service;
  const shared = /^service:(\w+)$/.exec(mode)?.[1];
  if (shared === undefined) throw new Error(`${service}: network_mode ${mode} is not mapped by this test`);
  return netns(shared);
}

/** Compose `stop_grace_period` (Docker's default: 10 s), after which the engine kills the process. */
export function stopGraceMs(service: string): number {
  const value = compose.services[service]?.stop_grace_period ?? '10s';
  const match = /^(\d+)(ms|s|m)$/.exec(value);
  if (match === null) throw new Error(`${service}: stop_grace_period ${value} is not mapped by this test`);
  return Number(match[1]) * { ms: 1, s: 1000, m: 60_000 }[match[2] as 'ms' | 's' | 'm'];
}

// ---------------------------------------------------------------------------------------
// The run: temporary files, ports, the mapped environments.
// ---------------------------------------------------------------------------------------

export interface Run {
  readonly dir: string;
  readonly databaseUrl: string;
  readonly redisPrefix: string;
  readonly producerKey: KeyObject;
  /** Audit's checkpoint signing key (audit_signing_key.pem; its verifier key is audit_verifier_key). */
  readonly auditKey: KeyObject;
  /** The container environment's value (Dockerfile ENV + compose environment), before mapping. */
  env(service: ServiceName, name: string): string;
}

export interface Plan {
  readonly service: ServiceName;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
}

/** `${netns}:${containerPort}` → the port the native process listens on (or the machine's Redis). */
export type Endpoints = Map<string, string>;

export function containerEnv(service: ServiceName): Record<string, string> {
  const spec = compose.services[service]!;
  const image = readDockerfile(spec.build!.dockerfile);
  const env = { ...image.env };
  for (const [key, value] of Object.entries(spec.environment ?? {})) env[key] = String(value);
  return env;
}

export function mounts(service: ServiceName, dir: string): Array<{ target: string; source: string }> {
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

export function plan(service: ServiceName, run: Run, endpoints: Endpoints, table: MappingTable): Plan {
  const spec = compose.services[service]!;
  if (spec.entrypoint !== undefined || spec.command !== undefined) throw new Error(`${service}: compose overrides the image's command; map it in this test`);
  const image = readDockerfile(spec.build!.dockerfile);
  expect(image.cmd[0], `${service}: the image starts node`).toBe('node');
  const rules = table.rules[service];
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
  for (const [name, value] of Object.entries(table.added[service])) env[name] = value(run);
  return { service, args: image.cmd.slice(1), env };
}

/** Free ports for every listening port of the two containers, keyed by network namespace and container port. */
export async function allocate(table: MappingTable): Promise<Endpoints> {
  const endpoints: Endpoints = new Map();
  for (const service of ['authz', 'audit'] as const) {
    for (const [name, value] of Object.entries(containerEnv(service))) {
      const rule = table.rules[service][name];
      const containerPort = rule?.kind === 'port' ? value : rule?.kind === 'listen' ? value.split(':')[1] : undefined;
      if (containerPort === undefined) continue;
      const key = `${netns(service)}:${containerPort}`;
      if (endpoints.has(key)) throw new Error(`${service}: ${name} listens on ${containerPort}, which another process in the network namespace of ${netns(service)} listens on`);
      endpoints.set(key, `127.0.0.1:${await freePort()}`);
    }
  }
  // The dependencies compose runs and this machine has: Redis (Postgres is reached through the database_url secret).
  const redis = new URL(redisUrl());
  endpoints.set('redis:6379', `${redis.hostname}:${redis.port || '6379'}`);
  return endpoints;
}
