export { createAuthorizer, type Authorizer, type AuthorizerOptions } from './usecases/check.js';
export { startAuthzApp, type AuthzApp } from './app.js';
export { loadConfig, ConfigError, KNOWN_SETTINGS, type Config } from './config.js';
export { decide, type GrantView, type ValidCheck } from './domain/engine.js';
export { parseWorld, type World, type WorldFile } from './domain/world.js';
export { parseSubject, parseResource, parseAction } from '@warden/names';
export { SYSTEM_ROLES, ACTION_CATALOGUE } from './domain/catalogue.js';
export type { Binding, CheckInput, CheckResult, Consistency, Decision, Reason, Role } from './domain/model.js';
export { InvalidArgumentError, UnavailableError } from '@warden/errors';
export { createMemoryGrantView } from './adapters/memory/memory-grant-view.js';
// For sibling packages (bench/): the write path, migrations, the cached source, action matching.
export { migrate } from './adapters/postgres/migrations.js';
export { applyWorld } from './adapters/postgres/pg-grant-writer.js';
export { CachedGrantSource, type CacheStats, type CachedGrantSourceOptions } from './adapters/cache/cached-grant-source.js';
export { compileActions } from './domain/actions.js';
export { DEFAULT_SENSITIVE_ACTIONS } from './domain/catalogue.js';
export { HEALTH_PATHS } from './api/http/server.js';
export { TRUSTED_LOCAL, type Caller } from './domain/caller.js';
// For the benchmark's management rows: the admin use cases over the Postgres adapters.
export { createAdmin, type Admin } from './usecases/admin.js';
export { PgGrantStore } from './adapters/postgres/pg-grant-store.js';
export { PgGrantQueries } from './adapters/postgres/pg-grant-queries.js';
export { PgGrantWriter } from './adapters/postgres/pg-grant-writer.js';
export { PgApiKeyStore } from './adapters/postgres/pg-api-key-store.js';
