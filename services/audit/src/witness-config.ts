/**
 * Issue 16 item 3's settings, kept apart from config.ts to ease merging: the witnesses
 * each new checkpoint is submitted to (c2sp.org/tlog-witness) and the tlog-tiles HTTP
 * server (c2sp.org/tlog-tiles).
 *
 * AUDIT_WITNESSES is a comma-separated list of `<submission URL prefix> <witness vkey>`
 * (the vkey is cosignature/v1, signature type 0x04, as `warden-witness vkey` prints it).
 */
import { z } from 'zod';
import { parseCosignatureVerifierKey, type CosignatureVerifier } from '@warden/audit-events';
import { setting } from '@warden/service-kit';

export type WitnessEndpoint = { readonly url: string; readonly vkey: string; readonly verifier: CosignatureVerifier };

export function parseWitnessList(text: string): WitnessEndpoint[] {
  return text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const parts = entry.split(/\s+/);
      if (parts.length !== 2) throw new TypeError(`"${entry}" is not "<url> <vkey>"`);
      const [url, vkey] = parts as [string, string];
      let parsed: URL;
      try {
        parsed = new URL(url);
      } catch {
        throw new TypeError(`"${url}" is not a URL`);
      }
      if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new TypeError(`"${url}" is not an http(s) URL`);
      if (parsed.search !== '' || parsed.hash !== '') throw new TypeError(`"${url}" is a URL prefix: no query or fragment`);
      return { url: url.replace(/\/+$/, ''), vkey, verifier: parseCosignatureVerifierKey(vkey) };
    });
}

export const witnessSettings = {
  AUDIT_WITNESSES: z
    .string()
    .optional()
    .transform((text, ctx) => {
      try {
        const list = parseWitnessList(text ?? '');
        if (new Set(list.map((w) => w.verifier.keyId.toString('hex') + w.verifier.name)).size !== list.length) throw new TypeError('a witness key is listed twice');
        return list;
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: (error as Error).message });
        return z.NEVER;
      }
    }),
  AUDIT_WITNESS_TIMEOUT_MS: setting.int(100, 600_000).default(5000),
  AUDIT_WITNESS_RETRIES: setting.int(0, 20).default(3),
  AUDIT_HTTP_ADDRESS: setting.address().optional(),
};

export type WitnessConfig = {
  readonly witnesses: readonly WitnessEndpoint[];
  /** Each add-checkpoint request's deadline. */
  readonly timeoutMs: number;
  /** Retries of a failed (network, 5xx) submission, with the one backoff. */
  readonly retries: number;
  /** host:port of the tlog-tiles HTTP server; off when unset. */
  readonly httpAddress: string | undefined;
};

export function witnessConfig(c: { AUDIT_WITNESSES: WitnessEndpoint[]; AUDIT_WITNESS_TIMEOUT_MS: number; AUDIT_WITNESS_RETRIES: number; AUDIT_HTTP_ADDRESS?: string | undefined }): WitnessConfig {
  return { witnesses: c.AUDIT_WITNESSES, timeoutMs: c.AUDIT_WITNESS_TIMEOUT_MS, retries: c.AUDIT_WITNESS_RETRIES, httpAddress: c.AUDIT_HTTP_ADDRESS };
}
