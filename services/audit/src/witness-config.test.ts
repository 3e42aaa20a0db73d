/** Issue 16 item 3's settings through the one loader: parsed, or refused naming the setting. */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCosignatureVerifier, createNoteVerifier, formatCosignatureVerifierKey, formatVerifierKey } from '@warden/audit-events';
import { ConfigError, loadConfig } from './config.js';

const key = generateKeyPairSync('ed25519').publicKey;
const vkey = formatCosignatureVerifierKey(createCosignatureVerifier('w.example/1', key));

function problem(env: Record<string, string>): string {
  try {
    loadConfig({ AUDIT_AUTHZ_DISABLED: 'true', ...env }, '/');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('no ConfigError');
}

describe('witness settings', () => {
  it('off by default; a list of "<url> <vkey>" is parsed, the trailing slash dropped', () => {
    expect(loadConfig({ AUDIT_AUTHZ_DISABLED: 'true' }, '/').witnessing).toEqual({ witnesses: [], timeoutMs: 5000, retries: 3, httpAddress: undefined });
    const other = formatCosignatureVerifierKey(createCosignatureVerifier('w.example/2', generateKeyPairSync('ed25519').publicKey));
    const config = loadConfig({ AUDIT_AUTHZ_DISABLED: 'true', AUDIT_WITNESSES: ` https://w1.example/ ${vkey} ,http://w2:7380/p ${other}`, AUDIT_HTTP_ADDRESS: '0.0.0.0:8082', AUDIT_WITNESS_RETRIES: '0' }, '/');
    expect(config.witnessing.witnesses.map((w) => [w.url, w.verifier.name])).toEqual([
      ['https://w1.example', 'w.example/1'],
      ['http://w2:7380/p', 'w.example/2'],
    ]);
    expect(config.witnessing).toMatchObject({ retries: 0, httpAddress: '0.0.0.0:8082' });
  });

  it('refuses a malformed list, a note (0x01) key, a non-http URL, a key listed twice, a bad timeout', () => {
    expect(problem({ AUDIT_WITNESSES: 'https://w1.example' })).toMatch(/AUDIT_WITNESSES.*is not "<url> <vkey>"/);
    expect(problem({ AUDIT_WITNESSES: `https://w1.example ${formatVerifierKey(createNoteVerifier('w.example/1', key))}` })).toMatch(/AUDIT_WITNESSES.*0x04/);
    expect(problem({ AUDIT_WITNESSES: `ftp://w1.example ${vkey}` })).toMatch(/AUDIT_WITNESSES.*not an http\(s\) URL/);
    expect(problem({ AUDIT_WITNESSES: `https://a.example ${vkey},https://b.example ${vkey}` })).toMatch(/AUDIT_WITNESSES.*listed twice/);
    expect(problem({ AUDIT_WITNESS_TIMEOUT_MS: '10' })).toMatch(/AUDIT_WITNESS_TIMEOUT_MS/);
    expect(problem({ AUDIT_HTTP_ADDRESS: 'nope' })).toMatch(/AUDIT_HTTP_ADDRESS/);
  });
});
