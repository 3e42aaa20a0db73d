/**
 * The core (domain/ and usecases/) imports no driver (chdb, ClickHouse client, gRPC,
 * pino) and no adapter or transport (adapters/, api/), directly or through another file.
 * (What the package root exports for other packages moved to @warden/audit-events.)
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const FORBIDDEN = ['chdb', '@clickhouse/client', 'nice-grpc', '@grpc/grpc-js', 'pino', 'fastify'];
const SRC = join(import.meta.dirname, '..');

function reachable(entries: readonly string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);
    seen.set(file, specifiers);
    for (const s of specifiers) if (s.startsWith('.')) visit(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  };
  for (const entry of entries) visit(entry);
  return seen;
}

const core = ['domain', 'usecases'].flatMap((dir) =>
  readdirSync(join(SRC, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(SRC, dir, f)),
);

describe('purity', () => {
  it('domain/ and usecases/ reach no driver, adapter or transport', () => {
    const graph = reachable(core);
    expect(graph.size).toBeGreaterThan(5);
    for (const [file, specifiers] of graph) {
      const where = relative(SRC, file);
      expect(where.startsWith('adapters/') || where.startsWith('api/'), `${where} is reached from the core`).toBe(false);
      for (const s of specifiers) expect(FORBIDDEN.includes(s) || FORBIDDEN.some((f) => s.startsWith(`${f}/`)), `${where} imports ${s}`).toBe(false);
    }
  });
});
