/**
 * The settings of delivery to SIEMs (issue 16 item 4): a Standard Webhooks endpoint and an
 * OTLP/HTTP logs endpoint, each optional, each with its own filter, and the shared pacing.
 * config.ts spreads `deliverySettings` into its schema, calls `checkDeliverySettings` from
 * its superRefine and `deliveryConfig` to build `Config.delivery`: the loader stays one.
 */
import { resolve } from 'node:path';
import { z } from 'zod';
import { ACTION } from '@warden/audit-events';
import { parseOrgId } from '@warden/names';
import { fileSecret, setting } from '@warden/service-kit';
import { parseWebhookSecret } from './adapters/sinks/standard-webhooks.js';
import type { SinkFilter } from './domain/delivery.js';

const int = setting.int;

/** Comma-separated organization ids (`acme` or `org:acme`); empty: every organization. */
const orgList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const ids = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    try {
      return ids.map((id) => parseOrgId(id, 'org'));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be organization ids separated by commas (${error instanceof Error ? error.message : 'malformed'})` });
      return z.NEVER;
    }
  });

/** Comma-separated actions (`flag.enabled`) or action prefixes (`flag.*`); empty: every action. */
const actionList = z
  .string()
  .optional()
  .transform((value, ctx) => {
    const items = (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = items.find((a) => !(ACTION.test(a) || (a.endsWith('.*') && /^[a-z][a-z0-9_]{0,63}(\.[a-z][a-z0-9_]{0,63}){0,2}$/.test(a.slice(0, -2)))));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${JSON.stringify(bad)} is not an action (flag.enabled) or an action prefix (flag.*)` });
      return z.NEVER;
    }
    return items;
  });

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

export const deliverySettings = {
  AUDIT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  // Standard Webhooks symmetric secret `whsec_<base64>`; normally AUDIT_WEBHOOK_SECRET_FILE.
  AUDIT_WEBHOOK_SECRET: fileSecret(z.string().min(1).optional()),
  AUDIT_WEBHOOK_CA_FILE: z.string().min(1).optional(),
  AUDIT_WEBHOOK_ORGS: orgList,
  AUDIT_WEBHOOK_ACTIONS: actionList,
  AUDIT_OTLP_LOGS_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  // `key=value,…` request headers (as OTEL_EXPORTER_OTLP_HEADERS); normally AUDIT_OTLP_LOGS_HEADERS_FILE.
  AUDIT_OTLP_LOGS_HEADERS: fileSecret(z.string().min(1).optional()),
  AUDIT_OTLP_LOGS_CA_FILE: z.string().min(1).optional(),
  AUDIT_OTLP_LOGS_ORGS: orgList,
  AUDIT_OTLP_LOGS_ACTIONS: actionList,
  AUDIT_DELIVERY_BATCH: int(1, 10_000).default(500),
  AUDIT_DELIVERY_TIMEOUT_MS: int(100, 600_000).default(10_000),
  AUDIT_DELIVERY_POLL_MS: int(10, 600_000).default(500),
  AUDIT_DELIVERY_RETRY_MS: int(10, 600_000).default(1000),
  AUDIT_DELIVERY_MAX_RETRY_MS: int(10, 86_400_000).default(300_000),
};

type Settings = z.output<z.ZodObject<typeof deliverySettings>>;

/** `key=value` pairs separated by commas, values percent-decoded (the OTEL_EXPORTER_OTLP_HEADERS format). */
export function parseHeaderList(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const item of text.split(',')) {
    if (item.trim() === '') continue;
    const eq = item.indexOf('=');
    const key = eq < 0 ? '' : item.slice(0, eq).trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) throw new Error('must be key=value pairs separated by commas (a header name is malformed)');
    headers[key] = decodeURIComponent(item.slice(eq + 1).trim());
  }
  return headers;
}

/** Cross-setting checks (messages never contain a secret). */
export function checkDeliverySettings(c: Settings, ctx: z.RefinementCtx): void {
  if (c.AUDIT_WEBHOOK_URL !== undefined) {
    const url = new URL(c.AUDIT_WEBHOOK_URL);
    if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname)) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_WEBHOOK_URL'], message: 'must be https (plain http only to a loopback address)' });
    }
    if (c.AUDIT_WEBHOOK_SECRET === undefined) ctx.addIssue({ code: 'custom', path: ['AUDIT_WEBHOOK_SECRET_FILE'], message: 'is required with AUDIT_WEBHOOK_URL' });
    else {
      try {
        parseWebhookSecret(c.AUDIT_WEBHOOK_SECRET);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['AUDIT_WEBHOOK_SECRET'], message: (error as Error).message });
      }
    }
  } else {
    for (const key of ['AUDIT_WEBHOOK_SECRET', 'AUDIT_WEBHOOK_CA_FILE', 'AUDIT_WEBHOOK_ORGS', 'AUDIT_WEBHOOK_ACTIONS'] as const) {
      const v = c[key];
      if (v !== undefined && (!Array.isArray(v) || v.length > 0)) ctx.addIssue({ code: 'custom', path: [key], message: 'needs AUDIT_WEBHOOK_URL' });
    }
  }
  if (c.AUDIT_OTLP_LOGS_ENDPOINT === undefined) {
    for (const key of ['AUDIT_OTLP_LOGS_HEADERS', 'AUDIT_OTLP_LOGS_CA_FILE', 'AUDIT_OTLP_LOGS_ORGS', 'AUDIT_OTLP_LOGS_ACTIONS'] as const) {
      const v = c[key];
      if (v !== undefined && (!Array.isArray(v) || v.length > 0)) ctx.addIssue({ code: 'custom', path: [key], message: 'needs AUDIT_OTLP_LOGS_ENDPOINT' });
    }
  }
  if (c.AUDIT_OTLP_LOGS_HEADERS !== undefined) {
    try {
      parseHeaderList(c.AUDIT_OTLP_LOGS_HEADERS);
    } catch (error) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_OTLP_LOGS_HEADERS'], message: (error as Error).message });
    }
  }
  if (c.AUDIT_DELIVERY_MAX_RETRY_MS < c.AUDIT_DELIVERY_RETRY_MS) {
    ctx.addIssue({ code: 'custom', path: ['AUDIT_DELIVERY_MAX_RETRY_MS'], message: 'must be at least AUDIT_DELIVERY_RETRY_MS' });
  }
}

export type SinkConfig = {
  readonly url: URL;
  /** Extra trusted CA certificates (PEM file, read at start-up). */
  readonly caFile: string | undefined;
  readonly filter: SinkFilter;
};

export type DeliveryConfig = {
  /** The decoded HMAC key is derived at start-up; the secret stays here only. */
  readonly webhook: (SinkConfig & { readonly secret: string }) | undefined;
  readonly otlpLogs: (SinkConfig & { readonly headers: Readonly<Record<string, string>> }) | undefined;
  readonly batch: number;
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly retryMs: number;
  readonly maxRetryMs: number;
};

function path(file: string | undefined, cwd: string): string | undefined {
  return file === undefined ? undefined : resolve(cwd, file);
}

export function deliveryConfig(c: Settings, cwd: string): DeliveryConfig {
  return {
    webhook:
      c.AUDIT_WEBHOOK_URL === undefined
        ? undefined
        : {
            url: new URL(c.AUDIT_WEBHOOK_URL),
            secret: c.AUDIT_WEBHOOK_SECRET!,
            caFile: path(c.AUDIT_WEBHOOK_CA_FILE, cwd),
            filter: { orgs: c.AUDIT_WEBHOOK_ORGS, actions: c.AUDIT_WEBHOOK_ACTIONS },
          },
    otlpLogs:
      c.AUDIT_OTLP_LOGS_ENDPOINT === undefined
        ? undefined
        : {
            url: new URL(c.AUDIT_OTLP_LOGS_ENDPOINT),
            headers: parseHeaderList(c.AUDIT_OTLP_LOGS_HEADERS ?? ''),
            caFile: path(c.AUDIT_OTLP_LOGS_CA_FILE, cwd),
            filter: { orgs: c.AUDIT_OTLP_LOGS_ORGS, actions: c.AUDIT_OTLP_LOGS_ACTIONS },
          },
    batch: c.AUDIT_DELIVERY_BATCH,
    timeoutMs: c.AUDIT_DELIVERY_TIMEOUT_MS,
    pollMs: c.AUDIT_DELIVERY_POLL_MS,
    retryMs: c.AUDIT_DELIVERY_RETRY_MS,
    maxRetryMs: c.AUDIT_DELIVERY_MAX_RETRY_MS,
  };
}
