import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, fileSecret, knownSettings, loadConfig, setting } from './config.js';

const schema = z.object({
  DATABASE_URL: fileSecret(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  SVC_PORT: setting.port().default(8080),
  SVC_HOST: z.string().min(1).default('127.0.0.1'),
  SVC_WORLD_FILE: z.string().min(1).optional(),
  SVC_TRUST: setting.bool().default(false),
  SVC_LOG_LEVEL: setting.logLevel(),
  SVC_SHUTDOWN_GRACE_MS: setting.shutdownGraceMs(),
});

function problemsOf(run: () => unknown): readonly string[] {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('accepted');
}

const dir = mkdtempSync(path.join(tmpdir(), 'service-kit-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadConfig', () => {
  it('parses with the schema: defaults, coercion, booleans', () => {
    expect(loadConfig(schema, { prefix: 'SVC_', env: { SVC_PORT: '9', SVC_TRUST: 'true', PATH: '/bin' } })).toEqual({
      DATABASE_URL: undefined,
      SVC_PORT: 9,
      SVC_HOST: '127.0.0.1',
      SVC_WORLD_FILE: undefined,
      SVC_TRUST: true,
      SVC_LOG_LEVEL: 'info',
      SVC_SHUTDOWN_GRACE_MS: 10_000,
    });
  });

  it('takes an empty value for an unset one', () => {
    const values = loadConfig(schema, { prefix: 'SVC_', env: { SVC_HOST: '', DATABASE_URL: '' } });
    expect(values.SVC_HOST).toBe('127.0.0.1');
    expect(values.DATABASE_URL).toBeUndefined();
  });

  it('reports every problem at once, unknown settings first, never echoing a value', () => {
    let error: unknown;
    try {
      loadConfig(schema, { prefix: 'SVC_', env: { SVC_PORT: '99999', SVC_LOG_LEVEL: 'loud', SVC_PROT: '1', DATABASE_URL: 'mysql://root:hunter2@db/x', OTHER_THING: 'x' } });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const { problems, message } = error as ConfigError;
    expect(problems).toHaveLength(4);
    expect(problems[0]).toBe('SVC_PROT: unknown setting');
    expect(problems.slice(1).map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'SVC_LOG_LEVEL', 'SVC_PORT']);
    expect(message).toMatch(/^invalid configuration:\n {2}- SVC_PROT: unknown setting\n/);
    // The settings a misspelt one may have meant, once, after the problems.
    expect(message).toMatch(/\nknown SVC_\* settings: SVC_HOST, SVC_LOG_LEVEL, SVC_PORT, SVC_SHUTDOWN_GRACE_MS, SVC_TRUST, SVC_WORLD_FILE$/);
    expect(message).not.toContain('hunter2');
  });

  it('reads a secret from <NAME>_FILE (trimmed), and refuses both forms or an unreadable file', () => {
    const file = path.join(dir, 'database-url');
    writeFileSync(file, 'postgres://warden:s3cret@db/warden\n');
    expect(loadConfig(schema, { prefix: 'SVC_', env: { DATABASE_URL_FILE: file } }).DATABASE_URL).toBe('postgres://warden:s3cret@db/warden');
    expect(problemsOf(() => loadConfig(schema, { prefix: 'SVC_', env: { DATABASE_URL_FILE: file, DATABASE_URL: 'postgres://a@b/c' } }))).toEqual([
      'DATABASE_URL_FILE: set either DATABASE_URL or DATABASE_URL_FILE, not both',
    ]);
    expect(problemsOf(() => loadConfig(schema, { prefix: 'SVC_', env: { DATABASE_URL_FILE: '/nonexistent/url' } }))[0]).toMatch(/^DATABASE_URL_FILE: cannot read \/nonexistent\/url: /);
    // A value read from a file is validated like any other, and not echoed either.
    writeFileSync(file, 'mysql://root:hunter2@db/x');
    const problems = problemsOf(() => loadConfig(schema, { prefix: 'SVC_', env: { DATABASE_URL_FILE: file } }));
    expect(problems).toEqual([expect.stringMatching(/^DATABASE_URL: /)]);
    expect(problems.join()).not.toContain('hunter2');
  });

  it("reports the schema's checks across settings with the rest: by path, or as their own message", () => {
    const checked = schema.superRefine((c, ctx) => {
      if (c.SVC_TRUST && c.SVC_HOST !== '127.0.0.1') ctx.addIssue({ code: 'custom', path: ['SVC_TRUST'], message: 'only with SVC_HOST=127.0.0.1' });
      if (c.SVC_WORLD_FILE !== undefined && c.DATABASE_URL === undefined) ctx.addIssue({ code: 'custom', path: [], message: 'SVC_WORLD_FILE / DATABASE_URL: set both or neither' });
    });
    expect(problemsOf(() => loadConfig(checked, { prefix: 'SVC_', env: { SVC_TRUST: 'true', SVC_HOST: '0.0.0.0', SVC_WORLD_FILE: 'w.yaml', SVC_PORT: '70000', SVC_TYPO: 'x' } }))).toEqual([
      'SVC_TYPO: unknown setting',
      expect.stringMatching(/^SVC_PORT: /),
      'SVC_TRUST: only with SVC_HOST=127.0.0.1',
      'SVC_WORLD_FILE / DATABASE_URL: set both or neither',
    ]);
    expect(knownSettings(checked)).toEqual(knownSettings(schema));
  });
});

describe('knownSettings', () => {
  it('lists the schema keys and the _FILE form of each secret, sorted', () => {
    expect(knownSettings(schema)).toEqual([
      'DATABASE_URL',
      'DATABASE_URL_FILE',
      'SVC_HOST',
      'SVC_LOG_LEVEL',
      'SVC_PORT',
      'SVC_SHUTDOWN_GRACE_MS',
      'SVC_TRUST',
      'SVC_WORLD_FILE',
    ]);
  });

  it('accepts the _FILE form of a secret and refuses it for a setting that is not one', () => {
    expect(problemsOf(() => loadConfig(schema, { prefix: 'SVC_', env: { SVC_HOST_FILE: '/x' } }))).toEqual(['SVC_HOST_FILE: unknown setting']);
  });
});
