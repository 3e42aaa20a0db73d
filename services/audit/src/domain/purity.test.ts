/** The package root and the domain import no I/O adapter (chdb, ClickHouse client, gRPC). */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const FORBIDDEN = ['chdb', '@clickhouse/client', 'nice-grpc', '@grpc/grpc-js', 'pino'];

function reachable(entry: string): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    const text = readFileSync(file, 'utf8');
    const specifiers = [...text.matchAll(/^(?:import|export)[^'"]*from\s+'([^']+)'/gm)].map((m) => m[1]!);
    seen.set(file, specifiers);
    for (const s of specifiers) if (s.startsWith('.')) visit(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  };
  visit(entry);
  return seen;
}

describe('purity', () => {
  it('src/index.ts reaches no I/O package', () => {
    const graph = reachable(join(import.meta.dirname, '..', 'index.ts'));
    expect(graph.size).toBeGreaterThan(5);
    for (const [file, specifiers] of graph) {
      for (const s of specifiers) expect(FORBIDDEN.includes(s) || FORBIDDEN.some((f) => s.startsWith(`${f}/`)), `${file} imports ${s}`).toBe(false);
    }
  });
});
