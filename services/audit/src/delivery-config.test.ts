import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, KNOWN_SETTINGS, loadConfig } from './config.js';

const base = { AUDIT_AUTHZ_DISABLED: 'true' };
const SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;

function problems(env: Record<string, string>): readonly string[] {
  try {
    loadConfig({ ...base, ...env }, '/srv');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error(`accepted ${JSON.stringify(env)}`);
}

describe('delivery settings', () => {
  it('none by default', () => {
    expect(loadConfig(base, '/srv').delivery).toMatchObject({ webhook: undefined, otlpLogs: undefined, batch: 500, timeoutMs: 10_000, retryMs: 1000, maxRetryMs: 300_000 });
  });

  it('a webhook: secret from its _FILE, filters parsed, CA path resolved', () => {
    const dir = mkdtempSync(join(tmpdir(), 'warden-delivery-config-'));
    writeFileSync(join(dir, 'secret'), `${SECRET}\n`);
    const c = loadConfig(
      { ...base, AUDIT_WEBHOOK_URL: 'https://siem.example.com/hooks', AUDIT_WEBHOOK_SECRET_FILE: join(dir, 'secret'), AUDIT_WEBHOOK_ORGS: 'acme, org:globex', AUDIT_WEBHOOK_ACTIONS: 'flag.*,binding.created', AUDIT_WEBHOOK_CA_FILE: 'ca.pem' },
      '/srv',
    );
    expect(c.delivery.webhook).toEqual({ url: new URL('https://siem.example.com/hooks'), secret: SECRET, caFile: '/srv/ca.pem', filter: { orgs: ['acme', 'globex'], actions: ['flag.*', 'binding.created'] } });
    expect(KNOWN_SETTINGS).toContain('AUDIT_WEBHOOK_SECRET_FILE');
    expect(KNOWN_SETTINGS).toContain('AUDIT_OTLP_LOGS_HEADERS_FILE');
  });

  it('OTLP logs: headers in the OTEL_EXPORTER_OTLP_HEADERS format', () => {
    const c = loadConfig({ ...base, AUDIT_OTLP_LOGS_ENDPOINT: 'http://collector:4318/v1/logs', AUDIT_OTLP_LOGS_HEADERS: 'Authorization=Bearer%20abc,x-scope=audit' }, '/srv');
    expect(c.delivery.otlpLogs).toMatchObject({ url: new URL('http://collector:4318/v1/logs'), headers: { authorization: 'Bearer abc', 'x-scope': 'audit' } });
  });

  it('refuses what cannot work, naming the setting and never the secret', () => {
    expect(problems({ AUDIT_WEBHOOK_URL: 'http://siem.example.com/hooks', AUDIT_WEBHOOK_SECRET: SECRET })).toEqual(['AUDIT_WEBHOOK_URL: must be https (plain http only to a loopback address)']);
    expect(problems({ AUDIT_WEBHOOK_URL: 'https://siem.example.com/hooks' })).toEqual(['AUDIT_WEBHOOK_SECRET_FILE: is required with AUDIT_WEBHOOK_URL']);
    const weak = 'whsec_c2hvcnQ=';
    const p = problems({ AUDIT_WEBHOOK_URL: 'https://siem.example.com/hooks', AUDIT_WEBHOOK_SECRET: weak });
    expect(p).toEqual(['AUDIT_WEBHOOK_SECRET: must encode 24 to 64 bytes (has 5)']);
    expect(p.join('\n')).not.toContain('c2hvcnQ');
    expect(problems({ AUDIT_WEBHOOK_SECRET: SECRET })).toEqual(['AUDIT_WEBHOOK_SECRET: needs AUDIT_WEBHOOK_URL']);
    expect(problems({ AUDIT_OTLP_LOGS_ORGS: 'acme' })).toEqual(['AUDIT_OTLP_LOGS_ORGS: needs AUDIT_OTLP_LOGS_ENDPOINT']);
    expect(problems({ AUDIT_OTLP_LOGS_ENDPOINT: 'http://c:4318/v1/logs', AUDIT_OTLP_LOGS_ACTIONS: 'Flag.Enabled' })).toEqual([expect.stringMatching(/^AUDIT_OTLP_LOGS_ACTIONS: "Flag.Enabled" is not an action/)]);
    expect(problems({ AUDIT_OTLP_LOGS_ENDPOINT: 'http://c:4318/v1/logs', AUDIT_OTLP_LOGS_ORGS: 'acme,no spaces' })).toEqual([expect.stringMatching(/^AUDIT_OTLP_LOGS_ORGS: must be organization ids/)]);
    expect(problems({ AUDIT_OTLP_LOGS_ENDPOINT: 'ftp://c/v1/logs' })).toEqual([expect.stringMatching(/^AUDIT_OTLP_LOGS_ENDPOINT: /)]);
    expect(problems({ AUDIT_DELIVERY_RETRY_MS: '5000', AUDIT_DELIVERY_MAX_RETRY_MS: '1000' })).toEqual(['AUDIT_DELIVERY_MAX_RETRY_MS: must be at least AUDIT_DELIVERY_RETRY_MS']);
    expect(problems({ AUDIT_WEBHOOK_SECRET: SECRET, AUDIT_WEBHOOK_SECRET_FILE: '/x' })).toContain('AUDIT_WEBHOOK_SECRET_FILE: set either AUDIT_WEBHOOK_SECRET or AUDIT_WEBHOOK_SECRET_FILE, not both');
  });
});
