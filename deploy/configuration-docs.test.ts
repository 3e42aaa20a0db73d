/**
 * docs/configuration.md against the services' zod schemas: every setting a service
 * reads has a row in its table, and every row names a setting the service reads. The
 * README and docs/deploy.md name only settings that exist, and docs/deploy.md's compose
 * steps create every secret file deploy/compose.yaml reads.
 *
 * The settings come from the config modules' sources (not a build), so the check
 * holds for the schema as written.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { KNOWN_SETTINGS as AUTHZ_SETTINGS } from '../services/authz/src/config.js';
import { KNOWN_SETTINGS as AUDIT_SETTINGS } from '../services/audit/src/config.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

const SERVICES = { authz: AUTHZ_SETTINGS, audit: AUDIT_SETTINGS } as const;

/** The `## <name>` section of a markdown document, up to the next `## `. */
function section(markdown: string, name: string): string {
  const start = markdown.indexOf(`\n## ${name}\n`);
  if (start < 0) throw new Error(`docs/configuration.md has no "## ${name}" section`);
  const next = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, next < 0 ? undefined : next);
}

/** Table rows as cells (the header and separator rows left out). */
function rows(markdown: string): string[][] {
  return markdown
    .split('\n')
    .filter((line) => line.startsWith('|') && !/^\|[-| ]+\|$/.test(line))
    .slice(1)
    .map((line) => line.slice(1, -1).split(/(?<!\\)\|/).map((cell) => cell.trim()));
}

/** AUTHZ_* and AUDIT_* names in a text; a trailing `_*` marks a family (`AUTHZ_BOOTSTRAP_KEY_*`), not a setting. */
function mentioned(text: string): string[] {
  return [...new Set([...text.matchAll(/\b(?:AUTHZ|AUDIT)_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_])/g)].map((m) => m[0]))];
}

describe('docs/configuration.md', () => {
  const doc = read('docs/configuration.md');

  for (const [service, settings] of Object.entries(SERVICES)) {
    it(`lists every ${service} setting exactly once, and nothing else`, () => {
      const table = rows(section(doc, service));
      const named = table.map((cells) => /^`([A-Z0-9_]+)`$/.exec(cells[0] ?? '')?.[1] ?? `(unreadable first cell: ${cells[0]})`);
      const duplicates = named.filter((name, i) => named.indexOf(name) !== i);
      expect(duplicates, `${service}: rows listed twice`).toEqual([]);
      const missing = settings.filter((s) => !named.includes(s));
      const unknown = named.filter((n) => !settings.includes(n));
      expect(missing, `${service} reads these settings, which docs/configuration.md does not list`).toEqual([]);
      expect(unknown, `docs/configuration.md lists these as ${service} settings, which the service does not read`).toEqual([]);
    });

    it(`gives every ${service} setting a type, a default and a meaning`, () => {
      for (const cells of rows(section(doc, service))) {
        expect(cells, `row ${cells[0]}`).toHaveLength(4);
        for (const cell of cells) expect(cell, `a cell of row ${cells[0]}`).not.toBe('');
      }
    });
  }

  it('the README points to it, and the README and docs/deploy.md name only real settings', () => {
    const readme = read('README.md');
    expect(readme).toContain('](docs/configuration.md)');
    const known = new Set<string>([...AUTHZ_SETTINGS, ...AUDIT_SETTINGS]);
    for (const file of ['README.md', 'docs/deploy.md', 'docs/configuration.md']) {
      const unknown = mentioned(read(file)).filter((name) => !known.has(name));
      expect(unknown, `${file} names settings no service reads`).toEqual([]);
    }
  });

  it('docs/deploy.md creates every file under deploy/secrets/ that compose reads', () => {
    const compose = parse(read('deploy/compose.yaml')) as { services: Record<string, { volumes?: string[] }>; secrets: Record<string, { file: string }> };
    const readByCompose = [
      ...Object.values(compose.secrets).map((s) => s.file),
      ...Object.values(compose.services).flatMap((s) => (s.volumes ?? []).map((v) => v.split(':')[0]!)),
    ].filter((file) => file.startsWith('./secrets/')).map((file) => file.slice('./secrets/'.length));
    expect(readByCompose.length).toBeGreaterThan(0);
    const deploy = read('docs/deploy.md');
    const steps = deploy.slice(deploy.indexOf('mkdir -p deploy/secrets'), deploy.indexOf('docker compose -f deploy/compose.yaml up'));
    const created = [...steps.matchAll(/(?:>|-out)\s+(?:deploy\/secrets\/)?([\w.-]+)/g)].map((m) => m[1]);
    for (const file of readByCompose) expect(created, `docs/deploy.md creates deploy/secrets/${file}`).toContain(file);
  });
});
