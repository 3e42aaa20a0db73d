/**
 * The one env-config loader of the Warden services: the environment is read in one place and
 * parsed with the service's zod object schema, before any socket opens.
 *
 * Rules (the same for every service):
 *  - Every problem is reported at once (ConfigError.problems), each naming its variable and
 *    never echoing a value (a URL may carry a password).
 *  - A variable with the service's prefix that the schema does not know is refused: a typo
 *    must not silently do nothing.
 *  - An empty value is the same as an unset one (a deployment can blank an inherited variable).
 *  - A setting marked `fileSecret` may instead be read from the file `<NAME>_FILE` (trimmed);
 *    setting both is refused.
 *  - The settings a service reads (`knownSettings`) are derived from its schema, never listed
 *    by hand; deploy manifests and docs/configuration.md are checked against them.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    /** One line per problem, each starting with the variable it is about. */
    readonly problems: readonly string[],
    /** Printed after the problems (e.g. the settings a misspelt one may have meant). */
    hint?: string,
  ) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}${hint === undefined ? '' : `\n${hint}`}`);
  }
}

/** A settings schema: a zod object whose keys are the environment variables. */
export type SettingsSchema = z.ZodObject;

const secrets = new WeakSet<z.ZodType>();

/** Marks a setting whose value may come from the file named by `<NAME>_FILE` instead. */
export function fileSecret<T extends z.ZodType>(schema: T): T {
  secrets.add(schema);
  return schema;
}

function secretNames(schema: SettingsSchema): string[] {
  return Object.entries(schema.shape)
    .filter(([, field]) => secrets.has(field as z.ZodType))
    .map(([name]) => name);
}

/** Every environment variable a schema reads, `<NAME>_FILE` variants included, sorted. */
export function knownSettings(schema: SettingsSchema): readonly string[] {
  return [...Object.keys(schema.shape), ...secretNames(schema).map((name) => `${name}_FILE`)].sort();
}

export interface LoadOptions {
  /** The service's own prefix (`AUTHZ_`): unknown variables that start with it are refused. */
  readonly prefix: string;
  /** The environment, injected (tests pass their own). */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/**
 * The parsed settings; throws ConfigError listing every problem. Checks across settings
 * belong in the schema's `superRefine`: an issue with a path is reported as `<path>: <message>`,
 * one without as its message alone (which then names the variables, e.g. `A / B: set both`).
 */
export function loadConfig<Schema extends SettingsSchema>(schema: Schema, options: LoadOptions): z.output<Schema> {
  const { prefix, env } = options;
  const known = new Set(knownSettings(schema));
  const problems: string[] = [];
  const input: Record<string, string> = {};
  let unknown = false;
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (!known.has(key)) {
      if (key.startsWith(prefix)) {
        problems.push(`${key}: unknown setting`);
        unknown = true;
      }
      continue;
    }
    if (!key.endsWith('_FILE') || !secretNames(schema).includes(key.slice(0, -'_FILE'.length))) input[key] = value;
  }
  for (const name of secretNames(schema)) {
    const file = env[`${name}_FILE`];
    if (file === undefined || file === '') continue;
    if (input[name] !== undefined) {
      problems.push(`${name}_FILE: set either ${name} or ${name}_FILE, not both`);
      continue;
    }
    try {
      input[name] = readFileSync(file, 'utf8').trim();
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${file}: ${(error as Error).message}`);
    }
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) for (const issue of parsed.error.issues) problems.push(issue.path.length === 0 ? issue.message : `${issue.path.join('.')}: ${issue.message}`);
  if (problems.length > 0 || !parsed.success) {
    const hint = unknown ? `known ${prefix}* settings: ${[...known].filter((k) => k.startsWith(prefix)).join(', ')}` : undefined;
    throw new ConfigError(problems, hint);
  }
  return parsed.data;
}

/** Shared setting shapes, so the services spell them one way. */
export const setting = {
  port: () => z.coerce.number().int().min(0).max(65535),
  /** An integer in [min, max] (durations in milliseconds, sizes, counts). */
  int: (min: number, max: number) => z.coerce.number().int().min(min).max(max),
  /** `true` or `false`, as a boolean. */
  bool: () => z.enum(['true', 'false']).transform((v) => v === 'true'),
  /** `host:port`. */
  address: () => z.string().regex(/^[^:\s]+:\d{1,5}$/, 'must be host:port'),
  logLevel: () => z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How long in-flight calls may finish after SIGTERM before they are cancelled. */
  shutdownGraceMs: () => z.coerce.number().int().min(0).max(600_000).default(DEFAULT_SHUTDOWN_GRACE_MS),
  /** The standard OpenTelemetry variable: traces are made and exported over OTLP/HTTP only when it is set. */
  otlpEndpoint: () => z.url({ protocol: /^https?$/ }).optional(),
} as const;

/** The services' shared default grace period after SIGTERM. */
export const DEFAULT_SHUTDOWN_GRACE_MS = 10_000;
