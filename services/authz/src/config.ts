/**
 * The authz service's configuration: AUTHZ_* (and the shared DATABASE_URL, REDIS_URL,
 * OTEL_EXPORTER_OTLP_ENDPOINT) read by the one loader of @warden/service-kit — every problem
 * at once, unknown AUTHZ_* refused, an empty value is unset — before any socket opens.
 * Secrets may come from files: DATABASE_URL_FILE, AUTHZ_DATABASE_READ_URL_FILE.
 */
import { z } from 'zod';
import { ConfigError, fileSecret, knownSettings, loadConfig as loadSettings, setting } from '@warden/service-kit';

const port = setting.port();
const schema = z.strictObject({
  DATABASE_URL: fileSecret(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  AUTHZ_GRPC_HOST: z.string().min(1).default('127.0.0.1'),
  AUTHZ_GRPC_PORT: port.default(50051),
  AUTHZ_DATA_DIR: z.string().min(1).default('data'),
  AUTHZ_EMBEDDED_PG_PORT: port.default(54329),
  AUTHZ_PG_POOL_MAX: z.coerce.number().int().min(1).max(1000).default(10),
  // A streaming read replica (standby) of DATABASE_URL: cache-miss fills read there.
  AUTHZ_DATABASE_READ_URL: fileSecret(z.url({ protocol: /^postgres(ql)?$/ }).optional()),
  // Optional (not defaulted) so that setting it without a replica is refused; 10 when unset.
  AUTHZ_PG_READ_POOL_MAX: z.coerce.number().int().min(1).max(1000).optional(),
  AUTHZ_WORLD_FILE: z.string().min(1).optional(),
  AUTHZ_LOG_LEVEL: setting.logLevel(),
  AUTHZ_SHUTDOWN_GRACE_MS: setting.shutdownGraceMs(),
  AUTHZ_HTTP_HOST: z.string().min(1).default('127.0.0.1'),
  AUTHZ_HTTP_PORT: port.default(8080),
  AUTHZ_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTHZ_CORS_ORIGINS: z.string().optional(),
  // The web console at /console (apps/console's built files); off unless set.
  AUTHZ_CONSOLE: setting.bool().default(false),
  AUTHZ_METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  AUTHZ_METRICS_PORT: port.default(9464),
  OTEL_EXPORTER_OTLP_ENDPOINT: setting.otlpEndpoint(),
  // The outbox relay (management changes → the audit service). Unset address: events wait in the outbox.
  AUTHZ_AUDIT_ADDRESS: setting.address().optional(),
  AUTHZ_AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  AUTHZ_AUDIT_KEY_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 characters of A-Z a-z 0-9 . _ -').optional(),
  // AuditStatusService: the audit log's checkpoint key (signed-note vkey; or a file, AUTHZ_AUDIT_VERIFIER_KEY_FILE,
  // as `warden audit verifier-key` prints it) and witness keys (comma-separated vkeys), pinned.
  AUTHZ_AUDIT_VERIFIER_KEY: fileSecret(z.string().min(1).optional()),
  AUTHZ_AUDIT_WITNESS_KEYS: z.string().optional(),
  AUTHZ_AUDIT_PRODUCER: z.string().regex(/^[a-z][a-z0-9._:-]{0,63}$/, 'must be a producer name like authz').default('authz'),
  AUTHZ_OUTBOX_BATCH: z.coerce.number().int().min(1).max(1000).default(100),
  AUTHZ_OUTBOX_INTERVAL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  AUTHZ_TRUST_LOOPBACK: setting.bool().default(false),
  AUTHZ_KEY_CACHE_MS: z.coerce.number().int().min(0).max(600_000).default(5_000),
  AUTHZ_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  AUTHZ_JWKS_FILE: z.string().min(1).optional(),
  AUTHZ_JWT_ISSUER: z.string().min(1).optional(),
  AUTHZ_JWT_AUDIENCE: z.string().min(1).optional(),
  AUTHZ_JWT_SUBJECT_CLAIM: z.string().min(1).default('sub'),
  /** A claim listing the token subject's identity-provider groups (e.g. `groups`): for its own checks the subject is a member of the organization's groups of those names. Unset: groups are not read. */
  AUTHZ_JWT_GROUPS_CLAIM: z.string().min(1).optional(),
  /** A claim naming the token's organization: AuthZEN client names (`{type: todo, id: 42}`) are mapped into it. Unset: token callers use Warden paths. */
  AUTHZ_JWT_ORG_CLAIM: z.string().min(1).optional(),
  AUTHZ_PLATFORM_ADMINS: z.string().optional(),
  AUTHZ_BOOTSTRAP_KEY_FILE: z.string().min(1).optional(),
  AUTHZ_BOOTSTRAP_KEY_SUBJECT: z.string().regex(/^service:[A-Za-z0-9][A-Za-z0-9._@+-]*$/, 'must be a service subject (service:<id>)').optional(),
  AUTHZ_BOOTSTRAP_KEY_ORG: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/, 'must be an organization id').optional(),
  // IdentityService (identity.proto): the services that authenticate their callers through authz.
  AUTHZ_IDENTITY_CALLERS: z.string().optional(),
  AUTHZ_IDENTITY_KEY_FILE: z.string().min(1).optional(),
  // The cached grant graph (stores/cache). Unset REDIS_URL: in-process layer only.
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  AUTHZ_REDIS_CLUSTER: setting.bool().default(false),
  // No hash tags in the prefix: each unit key must hash on its own (a Cluster spreads them).
  AUTHZ_REDIS_KEY_PREFIX: z.string().min(1).max(64).regex(/^[^{}\s]+$/, 'must have no braces or spaces').default('warden:'),
  AUTHZ_REDIS_TTL_MS: z.coerce.number().int().min(1000).max(30 * 86_400_000).default(3_600_000),
  AUTHZ_CACHE_MAX_ENTRIES: z.coerce.number().int().min(0).max(100_000_000).default(200_000),
  AUTHZ_CACHE_MAX_BYTES: z.coerce.number().int().min(1024 * 1024).max(64 * 1024 ** 3).default(256 * 1024 * 1024),
  AUTHZ_MAX_STALENESS_MS: z.coerce.number().int().min(100).max(3_600_000).default(5_000),
  AUTHZ_CACHE_HEARTBEAT_MS: z.coerce.number().int().min(20).max(600_000).default(1_000),
  AUTHZ_WATCH_MAX_BUFFERED: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  // How long a change or access request stays open before it expires (default 24 h, at most 30 days).
  AUTHZ_APPROVAL_TTL_SECONDS: z.coerce.number().int().min(60).max(30 * 24 * 3600).default(24 * 3600),
}).superRefine((c, ctx) => {
  // Settings valid one by one but not together (each message names its variables).
  const problem = (message: string) => ctx.addIssue({ code: 'custom', path: [], message });
  if (c.AUTHZ_DATABASE_READ_URL !== undefined && c.DATABASE_URL === undefined) {
    problem('AUTHZ_DATABASE_READ_URL: needs DATABASE_URL (the primary it replicates); embedded Postgres has no read replica');
  }
  if (c.AUTHZ_PG_READ_POOL_MAX !== undefined && c.AUTHZ_DATABASE_READ_URL === undefined) problem('AUTHZ_PG_READ_POOL_MAX: set only with AUTHZ_DATABASE_READ_URL');
  const jwtSet = [c.AUTHZ_JWKS_URL, c.AUTHZ_JWKS_FILE, c.AUTHZ_JWT_ISSUER, c.AUTHZ_JWT_AUDIENCE].some((v) => v !== undefined);
  if (jwtSet) {
    if ((c.AUTHZ_JWKS_URL === undefined) === (c.AUTHZ_JWKS_FILE === undefined)) problem('AUTHZ_JWKS_URL / AUTHZ_JWKS_FILE: set exactly one to accept tokens');
    if (c.AUTHZ_JWT_ISSUER === undefined) problem('AUTHZ_JWT_ISSUER: required when tokens are accepted');
    if (c.AUTHZ_JWT_AUDIENCE === undefined) problem('AUTHZ_JWT_AUDIENCE: required when tokens are accepted');
  }
  const bootstrap = [c.AUTHZ_BOOTSTRAP_KEY_FILE, c.AUTHZ_BOOTSTRAP_KEY_SUBJECT, c.AUTHZ_BOOTSTRAP_KEY_ORG];
  if (bootstrap.some((v) => v !== undefined) && bootstrap.some((v) => v === undefined)) problem('AUTHZ_BOOTSTRAP_KEY_FILE / _SUBJECT / _ORG: set all three or none');
  for (const admin of list(c.AUTHZ_PLATFORM_ADMINS)) {
    if (!/^(user|service):[A-Za-z0-9][A-Za-z0-9._@+-]*$/.test(admin)) problem(`AUTHZ_PLATFORM_ADMINS: ${JSON.stringify(admin)} is not a user or service subject`);
  }
  const identityCallers = list(c.AUTHZ_IDENTITY_CALLERS);
  for (const caller of identityCallers) {
    if (!/^service:[A-Za-z0-9][A-Za-z0-9._@+-]*$/.test(caller)) problem(`AUTHZ_IDENTITY_CALLERS: ${JSON.stringify(caller)} is not a service subject (service:<id>)`);
  }
  if (c.AUTHZ_IDENTITY_KEY_FILE !== undefined && identityCallers.length !== 1) problem('AUTHZ_IDENTITY_KEY_FILE: needs exactly one subject in AUTHZ_IDENTITY_CALLERS (the key is issued to it)');
  if (c.AUTHZ_REDIS_CLUSTER && c.REDIS_URL === undefined) problem('AUTHZ_REDIS_CLUSTER: needs REDIS_URL (one node of the cluster)');
  if (c.AUTHZ_CACHE_HEARTBEAT_MS * 2 > c.AUTHZ_MAX_STALENESS_MS) {
    problem('AUTHZ_CACHE_HEARTBEAT_MS: must be at most half of AUTHZ_MAX_STALENESS_MS, or a healthy replica would refuse cached answers');
  }
  const auditParts = [c.AUTHZ_AUDIT_ADDRESS, c.AUTHZ_AUDIT_SIGNING_KEY_FILE, c.AUTHZ_AUDIT_KEY_ID];
  if (auditParts.some((v) => v !== undefined) && auditParts.some((v) => v === undefined)) {
    problem('AUTHZ_AUDIT_ADDRESS / _SIGNING_KEY_FILE / _KEY_ID: set all three to ship audit events, or none');
  }
  for (const origin of list(c.AUTHZ_CORS_ORIGINS)) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) problem(`AUTHZ_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin (scheme://host[:port], no path)`);
  }
});

export interface Config {
  /** Postgres to use; when undefined the service starts embedded Postgres under dataDir. */
  readonly databaseUrl: string | undefined;
  readonly grpc: { readonly host: string; readonly port: number };
  readonly dataDir: string;
  readonly embeddedPostgresPort: number;
  readonly poolMax: number;
  /** A streaming read replica of `databaseUrl` for cache-miss fills; undefined: everything reads the primary. */
  readonly readReplica: { readonly url: string; readonly poolMax: number } | undefined;
  readonly worldFile: string | undefined;
  readonly logLevel: string;
  readonly shutdownGraceMs: number;
  readonly http: { readonly host: string; readonly port: number; readonly publicUrl: string | undefined; readonly corsOrigins: readonly string[] };
  /** Serve the web console at /console. */
  readonly console: boolean;
  /** Prometheus `/metrics` (0: any free port) and OTLP traces (when an endpoint is set). */
  readonly telemetry: { readonly metricsHost: string; readonly metricsPort: number; readonly otlpEndpoint: string | undefined };
  /** Sidecar mode: calls from loopback without credentials are trusted (explicit opt-in). */
  readonly trustLoopback: boolean;
  /** How long a verified API key is remembered; a revocation takes effect within this time (0: check every call). */
  readonly keyCacheMs: number;
  readonly jwt:
    | { readonly jwksUrl: string | undefined; readonly jwksFile: string | undefined; readonly issuer: string; readonly audience: string; readonly subjectClaim: string; readonly groupsClaim: string | undefined; readonly orgClaim: string | undefined }
    | undefined;
  readonly platformAdmins: readonly string[];
  /** Where the outbox relay ships audit events, signed; undefined: they wait in the outbox. */
  readonly audit:
    | { readonly address: string; readonly signingKeyFile: string; readonly keyId: string; readonly producer: string; readonly batchSize: number; readonly intervalMs: number }
    | undefined;
  /** AuditStatusService's pinned keys: the audit log's checkpoint verifier key and witness cosignature keys (vkeys). */
  readonly auditKeys: { readonly verifierKey: string | undefined; readonly witnessKeys: readonly string[] };
  /** Subjects that may call IdentityService (with an operator-issued key or a token). */
  readonly identityCallers: readonly string[];
  /** At start, if this file does not exist, issue an API key to the one identity caller and write it there (mode 0600). */
  readonly identityKeyFile: string | undefined;
  /** At start, if `file` does not exist, create an API key for `subject` in `org` and write it there (mode 0600). */
  readonly bootstrapKey: { readonly file: string; readonly subject: string; readonly org: string } | undefined;
  /** The cached grant graph: Redis (shared by replicas; undefined: in-process only) and the in-process LRU. */
  readonly cache: {
    readonly redisUrl: string | undefined;
    /** REDIS_URL names one node of a Redis Cluster (the others are discovered). */
    readonly redisCluster: boolean;
    readonly keyPrefix: string;
    readonly redisTtlMs: number;
    /** 0 disables the in-process layer (every Check reads Redis). */
    readonly maxEntries: number;
    readonly maxBytes: number;
    /** Cached answers only while the replica confirmed it was current this recently. */
    readonly maxStalenessMs: number;
    readonly heartbeatMs: number;
  };
  /** Changes a Watch stream may have queued before it is cut off (RESOURCE_EXHAUSTED). */
  readonly watchMaxBuffered: number;
  /** How long a change or access request stays open by default (AUTHZ_APPROVAL_TTL_SECONDS). */
  readonly approvalTtlMs: number;
}

export { ConfigError };

/** Every environment variable the service reads (deploy manifests and docs/configuration.md are checked against it). */
export const KNOWN_SETTINGS: readonly string[] = knownSettings(schema);

/** A comma-separated list, trimmed, without empty entries. */
function list(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const c = loadSettings(schema, { prefix: 'AUTHZ_', env });
  const jwtSet = [c.AUTHZ_JWKS_URL, c.AUTHZ_JWKS_FILE, c.AUTHZ_JWT_ISSUER, c.AUTHZ_JWT_AUDIENCE].some((v) => v !== undefined);
  return {
    databaseUrl: c.DATABASE_URL,
    grpc: { host: c.AUTHZ_GRPC_HOST, port: c.AUTHZ_GRPC_PORT },
    dataDir: c.AUTHZ_DATA_DIR,
    embeddedPostgresPort: c.AUTHZ_EMBEDDED_PG_PORT,
    poolMax: c.AUTHZ_PG_POOL_MAX,
    readReplica: c.AUTHZ_DATABASE_READ_URL !== undefined ? { url: c.AUTHZ_DATABASE_READ_URL, poolMax: c.AUTHZ_PG_READ_POOL_MAX ?? 10 } : undefined,
    worldFile: c.AUTHZ_WORLD_FILE,
    logLevel: c.AUTHZ_LOG_LEVEL,
    shutdownGraceMs: c.AUTHZ_SHUTDOWN_GRACE_MS,
    http: { host: c.AUTHZ_HTTP_HOST, port: c.AUTHZ_HTTP_PORT, publicUrl: c.AUTHZ_PUBLIC_URL, corsOrigins: list(c.AUTHZ_CORS_ORIGINS) },
    console: c.AUTHZ_CONSOLE,
    telemetry: { metricsHost: c.AUTHZ_METRICS_HOST, metricsPort: c.AUTHZ_METRICS_PORT, otlpEndpoint: c.OTEL_EXPORTER_OTLP_ENDPOINT },
    trustLoopback: c.AUTHZ_TRUST_LOOPBACK,
    keyCacheMs: c.AUTHZ_KEY_CACHE_MS,
    jwt: jwtSet
      ? { jwksUrl: c.AUTHZ_JWKS_URL, jwksFile: c.AUTHZ_JWKS_FILE, issuer: c.AUTHZ_JWT_ISSUER!, audience: c.AUTHZ_JWT_AUDIENCE!, subjectClaim: c.AUTHZ_JWT_SUBJECT_CLAIM, groupsClaim: c.AUTHZ_JWT_GROUPS_CLAIM, orgClaim: c.AUTHZ_JWT_ORG_CLAIM }
      : undefined,
    platformAdmins: list(c.AUTHZ_PLATFORM_ADMINS),
    identityCallers: list(c.AUTHZ_IDENTITY_CALLERS),
    identityKeyFile: c.AUTHZ_IDENTITY_KEY_FILE,
    audit:
      c.AUTHZ_AUDIT_ADDRESS !== undefined
        ? {
            address: c.AUTHZ_AUDIT_ADDRESS,
            signingKeyFile: c.AUTHZ_AUDIT_SIGNING_KEY_FILE!,
            keyId: c.AUTHZ_AUDIT_KEY_ID!,
            producer: c.AUTHZ_AUDIT_PRODUCER,
            batchSize: c.AUTHZ_OUTBOX_BATCH,
            intervalMs: c.AUTHZ_OUTBOX_INTERVAL_MS,
          }
        : undefined,
    auditKeys: { verifierKey: c.AUTHZ_AUDIT_VERIFIER_KEY, witnessKeys: list(c.AUTHZ_AUDIT_WITNESS_KEYS) },
    bootstrapKey:
      c.AUTHZ_BOOTSTRAP_KEY_FILE !== undefined
        ? { file: c.AUTHZ_BOOTSTRAP_KEY_FILE, subject: c.AUTHZ_BOOTSTRAP_KEY_SUBJECT!, org: c.AUTHZ_BOOTSTRAP_KEY_ORG! }
        : undefined,
    cache: {
      redisUrl: c.REDIS_URL,
      redisCluster: c.AUTHZ_REDIS_CLUSTER,
      keyPrefix: c.AUTHZ_REDIS_KEY_PREFIX,
      redisTtlMs: c.AUTHZ_REDIS_TTL_MS,
      maxEntries: c.AUTHZ_CACHE_MAX_ENTRIES,
      maxBytes: c.AUTHZ_CACHE_MAX_BYTES,
      maxStalenessMs: c.AUTHZ_MAX_STALENESS_MS,
      heartbeatMs: c.AUTHZ_CACHE_HEARTBEAT_MS,
    },
    watchMaxBuffered: c.AUTHZ_WATCH_MAX_BUFFERED,
    approvalTtlMs: c.AUTHZ_APPROVAL_TTL_SECONDS * 1000,
  };
}
