/**
 * The audit service's configuration: AUDIT_* (and the shared CLICKHOUSE_URL,
 * OTEL_EXPORTER_OTLP_ENDPOINT) read by the one loader of @warden/service-kit — every problem
 * at once, unknown AUDIT_* and contradictory settings refused, an empty value is unset —
 * before a socket is opened. `*_FILE` settings name files holding secrets; relative paths
 * are resolved against the working directory.
 */
import { resolve } from 'node:path';
import { witnessConfig, witnessSettings, type WitnessConfig } from './witness-config.js'; // issue 16 item 3
import { z } from 'zod';
import { ConfigError, knownSettings, loadConfig as loadSettings, setting } from '@warden/service-kit';
import { DATABASE_NAME } from './adapters/stores/driver.js';
import { checkDeliverySettings, deliveryConfig, deliverySettings, type DeliveryConfig } from './delivery-config.js';

const bool = setting.bool;
const int = setting.int;

const schema = z
  .object({
    AUDIT_GRPC_ADDRESS: setting.address().default('127.0.0.1:50052'),
    AUDIT_DATA_DIR: z.string().min(1).default('./data/audit'),
    ...witnessSettings, // issue 16 item 3: witnesses and tlog-tiles (witness-config.ts)
    CLICKHOUSE_URL: z.url().optional(),
    AUDIT_CLICKHOUSE_USER: z.string().min(1).optional(),
    AUDIT_CLICKHOUSE_PASSWORD_FILE: z.string().min(1).optional(),
    AUDIT_CLICKHOUSE_DATABASE: z.string().regex(DATABASE_NAME, 'must be a ClickHouse identifier').default('warden_audit'),
    AUDIT_MIGRATE: bool().optional(),
    AUDIT_PAYLOAD_TTL_DAYS: int(1, 36500).optional(),
    AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
    AUDIT_SIGNING_KEY_NAME: z.string().regex(/^[^\s+]+$/, 'must have no spaces or +').default('warden-audit'),
    AUDIT_PREVIOUS_VERIFIER_KEYS: z.string().optional(),
    AUDIT_ORIGIN_PREFIX: z.string().regex(/^[^\s+]+$/, 'must have no spaces or +').default('audit.warden.local'),
    AUDIT_PRODUCER_KEYS_FILE: z.string().min(1).optional(),
    // --- identity (issue 16): authz authenticates callers and decides; the next two are development only.
    AUDIT_AUTHZ_ADDRESS: setting.address().optional(),
    AUDIT_AUTHZ_CREDENTIAL_FILE: z.string().min(1).optional(),
    AUDIT_AUTHZ_CACHE_MS: int(0, 60_000).default(5_000),
    AUDIT_AUTHZ_TIMEOUT_MS: int(50, 60_000).default(2_000),
    AUDIT_AUTHZ_DISABLED: bool().default(false),
    AUDIT_API_KEYS_FILE: z.string().min(1).optional(),
    AUDIT_TRUST_SUBJECT_HEADER: bool().default(false),
    // --- end identity
    AUDIT_KEY_ADMIN_SCOPE: z.string().regex(/^org:[^\s]+$/, 'must be a resource path like org:warden').optional(),
    AUDIT_CHECKPOINT_EVERY: int(1, 10_000_000).default(1000),
    AUDIT_CHECKPOINT_INTERVAL_MS: int(100, 86_400_000).default(10_000),
    AUDIT_MAX_BATCH: int(1, 10_000).default(1000),
    AUDIT_MAX_EVENT_BYTES: int(256, 16_777_216).default(65_536),
    AUDIT_MAX_FUTURE_SKEW_MS: int(0, 86_400_000).default(300_000),
    AUDIT_SPOOL_RETRY_MS: int(50, 600_000).default(1000),
    AUDIT_MIN_COMMIT_INTERVAL_MS: int(0, 1000).default(0),
    AUDIT_FLUSH_INTERVAL_MS: int(1, 60_000).default(200),
    AUDIT_LOG_LEVEL: setting.logLevel(),
    AUDIT_SHUTDOWN_GRACE_MS: setting.shutdownGraceMs(),
    // Prometheus `/metrics` (0: any free port), as authz's AUTHZ_METRICS_HOST/PORT.
    AUDIT_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
    AUDIT_METRICS_PORT: setting.port().default(9465),
    OTEL_EXPORTER_OTLP_ENDPOINT: setting.otlpEndpoint(),
    // Delivery to SIEMs (webhook, OTLP logs): delivery-config.ts.
    ...deliverySettings,
  })
  .superRefine((c, ctx) => {
    checkDeliverySettings(c, ctx);
    if (c.AUDIT_AUTHZ_ADDRESS !== undefined && c.AUDIT_AUTHZ_DISABLED) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_AUTHZ_DISABLED'], message: 'contradicts AUDIT_AUTHZ_ADDRESS: set one of them' });
    }
    if (c.AUDIT_AUTHZ_ADDRESS === undefined && !c.AUDIT_AUTHZ_DISABLED) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_AUTHZ_ADDRESS'], message: 'is required (or set AUDIT_AUTHZ_DISABLED=true for development)' });
    }
    if (c.AUDIT_AUTHZ_ADDRESS !== undefined && c.AUDIT_AUTHZ_CREDENTIAL_FILE === undefined) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_AUTHZ_CREDENTIAL_FILE'], message: 'is required with AUDIT_AUTHZ_ADDRESS: the audit service authenticates to authz with its own credential' });
    }
    if (c.AUDIT_AUTHZ_CREDENTIAL_FILE !== undefined && c.AUDIT_AUTHZ_ADDRESS === undefined) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_AUTHZ_CREDENTIAL_FILE'], message: 'needs AUDIT_AUTHZ_ADDRESS' });
    }
    for (const dev of ['AUDIT_API_KEYS_FILE', 'AUDIT_TRUST_SUBJECT_HEADER'] as const) {
      if (c[dev] !== undefined && c[dev] !== false && !c.AUDIT_AUTHZ_DISABLED) {
        ctx.addIssue({ code: 'custom', path: [dev], message: 'is a development switch, only with AUDIT_AUTHZ_DISABLED=true: with authz, callers use authz API keys and tokens' });
      }
    }
    if (c.CLICKHOUSE_URL === undefined && (c.AUDIT_CLICKHOUSE_USER !== undefined || c.AUDIT_CLICKHOUSE_PASSWORD_FILE !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['AUDIT_CLICKHOUSE_USER'], message: 'needs CLICKHOUSE_URL' });
    }
  });

/** Every environment variable the service reads (docs/configuration.md is checked against it). */
export const KNOWN_SETTINGS: readonly string[] = knownSettings(schema);

export type Config = {
  readonly grpcAddress: string;
  readonly dataDir: string;
  /** Issue 16 item 3: the witnesses checkpoints are submitted to, and the tlog-tiles HTTP server. */
  readonly witnessing: WitnessConfig;
  readonly clickhouse:
    | { readonly kind: 'chdb'; readonly path: string }
    | { readonly kind: 'server'; readonly url: string; readonly username: string | undefined; readonly passwordFile: string | undefined };
  readonly database: string;
  readonly migrate: boolean;
  readonly payloadTtlDays: number | undefined;
  readonly signingKeyFile: string | undefined;
  readonly signingKeyName: string;
  readonly previousVerifierKeys: readonly string[];
  readonly originPrefix: string;
  readonly producerKeysFile: string | undefined;
  /** Callers authenticated and authorized by authz (undefined: development, AUDIT_AUTHZ_DISABLED). */
  readonly authz: { readonly address: string; readonly credentialFile: string; readonly cacheMs: number; readonly timeoutMs: number } | undefined;
  /** Development only (AUDIT_AUTHZ_DISABLED=true). */
  readonly apiKeysFile: string | undefined;
  /** Development only (AUDIT_AUTHZ_DISABLED=true). */
  readonly trustSubjectHeader: boolean;
  readonly keyAdminScope: string | undefined;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
  readonly maxBatch: number;
  readonly maxEventBytes: number;
  readonly maxFutureSkewMs: number;
  readonly spoolRetryMs: number;
  readonly minCommitIntervalMs: number;
  /** Longest time an acknowledged event waits in the write-ahead spool before its ClickHouse insert starts. */
  readonly flushIntervalMs: number;
  readonly logLevel: string;
  /** On SIGTERM, how long in-flight calls may finish before they are cancelled. */
  readonly shutdownGraceMs: number;
  /** Prometheus `/metrics` (port 0: any free port) and OTLP traces (only when an endpoint is set). */
  readonly telemetry: { readonly metricsHost: string; readonly metricsPort: number; readonly otlpEndpoint: string | undefined };
  /** Streams to SIEMs (delivery-config.ts). */
  readonly delivery: DeliveryConfig;
};

export { ConfigError };

export function loadConfig(env: Record<string, string | undefined> = process.env, cwd = process.cwd()): Config {
  const c = loadSettings(schema, { prefix: 'AUDIT_', env });
  const dataDir = resolve(cwd, c.AUDIT_DATA_DIR);
  const server = c.CLICKHOUSE_URL !== undefined;
  return {
    grpcAddress: c.AUDIT_GRPC_ADDRESS,
    dataDir,
    witnessing: witnessConfig(c),
    clickhouse: server
      ? { kind: 'server', url: c.CLICKHOUSE_URL!, username: c.AUDIT_CLICKHOUSE_USER, passwordFile: c.AUDIT_CLICKHOUSE_PASSWORD_FILE }
      : { kind: 'chdb', path: resolve(dataDir, 'chdb') },
    database: c.AUDIT_CLICKHOUSE_DATABASE,
    migrate: c.AUDIT_MIGRATE ?? !server,
    payloadTtlDays: c.AUDIT_PAYLOAD_TTL_DAYS,
    signingKeyFile: c.AUDIT_SIGNING_KEY_FILE === undefined ? undefined : resolve(cwd, c.AUDIT_SIGNING_KEY_FILE),
    signingKeyName: c.AUDIT_SIGNING_KEY_NAME,
    previousVerifierKeys: (c.AUDIT_PREVIOUS_VERIFIER_KEYS ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''),
    originPrefix: c.AUDIT_ORIGIN_PREFIX,
    producerKeysFile: c.AUDIT_PRODUCER_KEYS_FILE === undefined ? undefined : resolve(cwd, c.AUDIT_PRODUCER_KEYS_FILE),
    apiKeysFile: c.AUDIT_API_KEYS_FILE === undefined ? undefined : resolve(cwd, c.AUDIT_API_KEYS_FILE),
    trustSubjectHeader: c.AUDIT_TRUST_SUBJECT_HEADER,
    authz:
      c.AUDIT_AUTHZ_ADDRESS === undefined
        ? undefined
        : { address: c.AUDIT_AUTHZ_ADDRESS, credentialFile: resolve(cwd, c.AUDIT_AUTHZ_CREDENTIAL_FILE!), cacheMs: c.AUDIT_AUTHZ_CACHE_MS, timeoutMs: c.AUDIT_AUTHZ_TIMEOUT_MS },
    keyAdminScope: c.AUDIT_KEY_ADMIN_SCOPE,
    checkpointEvery: c.AUDIT_CHECKPOINT_EVERY,
    checkpointIntervalMs: c.AUDIT_CHECKPOINT_INTERVAL_MS,
    maxBatch: c.AUDIT_MAX_BATCH,
    maxEventBytes: c.AUDIT_MAX_EVENT_BYTES,
    maxFutureSkewMs: c.AUDIT_MAX_FUTURE_SKEW_MS,
    spoolRetryMs: c.AUDIT_SPOOL_RETRY_MS,
    minCommitIntervalMs: c.AUDIT_MIN_COMMIT_INTERVAL_MS,
    flushIntervalMs: c.AUDIT_FLUSH_INTERVAL_MS,
    logLevel: c.AUDIT_LOG_LEVEL,
    shutdownGraceMs: c.AUDIT_SHUTDOWN_GRACE_MS,
    telemetry: { metricsHost: c.AUDIT_METRICS_HOST, metricsPort: c.AUDIT_METRICS_PORT, otlpEndpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT },
    delivery: deliveryConfig(c, cwd),
  };
}
