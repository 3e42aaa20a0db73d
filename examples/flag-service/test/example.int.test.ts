/**
 * The README's example, as a user runs it: `node examples/flag-service/dist/main.js`
 * (authz on embedded Postgres, audit on the embedded ClickHouse engine, the flag
 * service), then the demo; its output is the audit timeline of the seed scenario.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts, startNode, type TestProcess } from '@warden/testkit';

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
let dir: string;
let example: TestProcess | undefined;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  if (!existsSync(path.join(DIST, 'main.js'))) throw new Error('build first (npm test does)');
  dir = await mkdtemp(path.join(tmpdir(), 'warden-example-'));
  await chmod(dir, 0o755);
  const [port, grpcPort, httpPort, auditPort, pgPort] = await freePorts(5);
  env = {
    ...process.env,
    EXAMPLE_DATA_DIR: path.join(dir, 'data'),
    EXAMPLE_LOG_LEVEL: 'warn',
    EXAMPLE_PORT: String(port),
    EXAMPLE_AUTHZ_GRPC_PORT: String(grpcPort),
    EXAMPLE_AUTHZ_HTTP_PORT: String(httpPort),
    EXAMPLE_AUDIT_PORT: String(auditPort),
    EXAMPLE_PG_PORT: String(pgPort),
  };
  example = startNode(path.join(DIST, 'main.js'), [], { name: 'the example', env, stdout: 'ignore' });
  await example.waitFor('data/endpoints.json written', () => existsSync(path.join(dir, 'data', 'endpoints.json')), { timeoutMs: 100_000, intervalMs: 200 });
});

afterAll(async () => {
  await example?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('the example flag service', () => {
  it('runs the seed scenario and shows its audit timeline', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [path.join(DIST, 'demo.js')], { env });
    const timeline = stdout.slice(stdout.indexOf('audit timeline'));
    const rows = timeline.split('\n').filter((line) => line.includes('…/production'));
    const flagRows = rows.filter((row) => row.includes('flag:checkout-v2'));
    expect(flagRows.map((row) => row.split(' | ').slice(2, 4).join(' '))).toEqual([
      'user:alex@acme.com flag.rollout_changed',
      'user:sarah@acme.com flag.rollout_changed',
      'user:sarah@acme.com flag.enabled',
    ]);
    expect(flagRows[0]).toContain('{"rollout":0} → {"rollout":25} | canary');
    expect(flagRows[1]).toContain('{"rollout":25} → {"rollout":50}');
    // sam's refused attempt changed nothing and recorded nothing.
    expect(stdout).toMatch(/sam@acme.com .* → 403 /);
    expect(timeline).not.toContain('user:sam@acme.com');
    // The grant, made through the admin API, arrives through the outbox relay.
    expect(rows.at(-1)).toMatch(/service:acme-admin \| binding\.created \| …\/production \| null → .* \| sarah approves production changes from now on/);
  });
});
