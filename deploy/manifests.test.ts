/**
 * The deploy files, checked against the code (no container engine runs here): every
 * image is built by a Dockerfile of ours whose command starts a real entry point;
 * every environment variable a Warden container sets is one its service reads; every
 * port matches what the service is told to listen on; every probe names a real health
 * route or a port that serves grpc.health.v1.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { HEALTH_PATHS, KNOWN_SETTINGS } from '@warden/authz';
import { parseDockerfile } from '@warden/testkit';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const here = (...parts: string[]) => path.join(ROOT, 'deploy', ...parts);

function auditSettings(): string[] {
  // The audit service lists the settings it reads in its config module.
  // (issue 16 item 3's settings sit in witness-config.ts, spread into the schema.)
  const source = ['config.ts', 'witness-config.ts'].map((f) => readFileSync(path.join(ROOT, 'services/audit/src', f), 'utf8')).join('\n');
  return [...source.matchAll(/\b(AUDIT_[A-Z_]+|CLICKHOUSE_URL)\b/g)].map((m) => m[1]!);
}

interface Container {
  name: string;
  image: string;
  env?: Array<{ name: string; value?: string }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
}
interface Probe {
  httpGet?: { path: string; port: string | number };
  grpc?: { port: number };
}

function k8sContainers(): Array<{ file: string; container: Container }> {
  const out: Array<{ file: string; container: Container }> = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.yaml') && entry.name !== 'kustomization.yaml') {
        for (const doc of parseAllDocuments(readFileSync(full, 'utf8'))) {
          expect(doc.errors, `${full} parses`).toEqual([]);
          const object = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: Container[] } } } };
          for (const container of object.spec?.template?.spec?.containers ?? []) out.push({ file: full, container });
        }
      }
    }
  };
  walk(here('k8s'));
  return out;
}

const dockerfileFor: Record<string, string> = { 'warden/authz': 'authz.Dockerfile', 'warden/audit': 'audit.Dockerfile', 'warden/witness': 'witness.Dockerfile' };
const imageName = (image: string) => image.replace(/:[^/:]+$/, '');

describe('Dockerfiles', () => {
  for (const [image, file] of Object.entries(dockerfileFor)) {
    it(`${file} builds ${image}: multi-stage, non-root, starting a real entry point`, () => {
      const text = readFileSync(here(file), 'utf8');
      expect(text.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(2);
      expect(text).toMatch(/^USER node$/m);
      const { cmd } = parseDockerfile(text, file);
      expect(cmd[0], 'exec-form CMD starting node').toBe('node');
      // Node options only between node and the script (V8 flags such as --heap-growing-percent cannot go in NODE_OPTIONS).
      for (const option of cmd.slice(1, -1)) expect(option, `${file}: ${option} is a node option`).toMatch(/^--[a-z0-9-]+(=\S+)?$/);
      execFileSync(process.execPath, [...cmd.slice(1, -1), '-e', '0']); // node accepts them
      const source = cmd.at(-1)!.replace('/dist/', '/src/').replace(/\.js$/, '.ts');
      expect(existsSync(path.join(ROOT, source)), `${source} exists`).toBe(true);
      for (const [, from] of text.matchAll(/^COPY --from=build \/src\/(\S+) /gm)) {
        const top = from!.split('/')[0]!;
        expect(existsSync(path.join(ROOT, top)), `${from} comes from the repository`).toBe(true);
      }
    });
  }
});

describe('Kubernetes manifests (kustomize)', () => {
  const containers = k8sContainers();

  it('authz runs as a sidecar beside the example app and beside audit', () => {
    const pods = new Map<string, string[]>();
    for (const { file, container } of containers) pods.set(file, [...(pods.get(file) ?? []), imageName(container.image)]);
    expect([...pods.values()].filter((images) => images.includes('warden/authz') && images.length > 1)).toHaveLength(2);
  });

  for (const { file, container } of containers.filter((c) => dockerfileFor[imageName(c.container.image)] !== undefined)) {
    const where = `${path.relative(ROOT, file)}: ${container.name}`;
    it(`${where}: every env var is one the service reads, ports and probes match`, () => {
      const known = imageName(container.image) === 'warden/authz' ? KNOWN_SETTINGS : auditSettings();
      for (const { name } of container.env ?? []) expect(known, `${where} sets ${name}`).toContain(name);
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      const ports = container.ports ?? [];
      if (imageName(container.image) === 'warden/authz') {
        expect(ports.map((p) => p.containerPort)).toContain(Number(env['AUTHZ_HTTP_PORT'] ?? 8080));
        for (const probe of [container.readinessProbe, container.livenessProbe]) {
          expect(probe?.httpGet, `${where} probes over HTTP`).toBeDefined();
          expect(Object.values(HEALTH_PATHS)).toContain(probe!.httpGet!.path);
          const named = ports.find((p) => p.name === probe!.httpGet!.port)?.containerPort ?? probe!.httpGet!.port;
          expect(named).toBe(Number(env['AUTHZ_HTTP_PORT'] ?? 8080));
        }
        expect(container.readinessProbe!.httpGet!.path).toBe(HEALTH_PATHS.ready);
      } else {
        const grpcPort = Number((env['AUDIT_GRPC_ADDRESS'] ?? '0.0.0.0:50052').split(':').at(-1));
        expect(ports.map((p) => p.containerPort)).toContain(grpcPort);
        for (const probe of [container.readinessProbe, container.livenessProbe]) expect(probe?.grpc?.port, `${where} probes grpc.health.v1`).toBe(grpcPort);
      }
    });
  }
});

describe('compose', () => {
  const compose = parseAllDocuments(readFileSync(here('compose.yaml'), 'utf8'))[0]!.toJS() as {
    services: Record<string, { image?: string; build?: { context: string; dockerfile: string }; environment?: Record<string, string>; secrets?: string[]; volumes?: string[] }>;
    secrets: Record<string, { file: string }>;
  };

  it('has Postgres, Redis, ClickHouse, authz and audit (and an example witness, issue 16)', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['audit', 'authz', 'clickhouse', 'postgres', 'redis', 'witness']);
  });

  it('the example witness: built by our Dockerfile, only settings warden-witness reads, state on a volume', () => {
    const witness = compose.services['witness']!;
    expect(witness.build?.dockerfile).toBe('deploy/witness.Dockerfile');
    const main = readFileSync(path.join(ROOT, 'tools/witness/src/main.ts'), 'utf8');
    const read = new Set([...main.matchAll(/env\.(WITNESS_[A-Z_]+)/g)].map((m) => m[1]!));
    for (const key of Object.keys(witness.environment ?? {})) expect([...read], `witness sets ${key}`).toContain(key);
    expect(witness.volumes).toContain('witness:/var/lib/warden-witness');
  });

  for (const name of ['authz', 'audit']) {
    it(`${name}: built by our Dockerfile, every env var read by the service, secrets declared`, () => {
      const service = compose.services[name]!;
      expect(service.build?.dockerfile).toBe(`deploy/${dockerfileFor[imageName(service.image!)]}`);
      const known = name === 'authz' ? KNOWN_SETTINGS : auditSettings();
      for (const key of Object.keys(service.environment ?? {})) expect(known, `${name} sets ${key}`).toContain(key);
      for (const secret of service.secrets ?? []) expect(compose.secrets[secret], `secret ${secret} is declared`).toBeDefined();
      for (const value of Object.values(service.environment ?? {})) {
        const secret = /^\/run\/secrets\/(\w+)$/.exec(String(value))?.[1];
        if (secret !== undefined) expect(service.secrets).toContain(secret);
      }
    });
  }

  it('mounts the ClickHouse DDL that exists', () => {
    expect(compose.services['clickhouse']!.volumes).toContain('./clickhouse:/docker-entrypoint-initdb.d:ro');
    expect(readdirSync(here('clickhouse')).filter((f) => f.endsWith('.sql')).length).toBeGreaterThan(0);
    expect(compose.services['authz']!.volumes).toContain('../examples/acme.yaml:/config/world.yaml:ro');
    expect(existsSync(path.join(ROOT, 'examples/acme.yaml'))).toBe(true);
  });
});
