/**
 * @warden/testkit: what tests and benchmarks share. Imports no service: a service's own
 * parts (its migrate function) are passed in. The vitest-only half (template setup,
 * per-file databases by inject) is `@warden/testkit/vitest`.
 */
export { freePort, freePorts } from './ports.js';
export { seededRandom } from './random.js';
export { eventually, type EventuallyOptions, type Settled } from './eventually.js';
export {
  createDatabase,
  createTemplateDatabase,
  databaseUrl,
  DEFAULT_PG_URL,
  pgAdminUrl,
  withAdmin,
  type DatabaseOptions,
  type Migrate,
  type TemplateDatabase,
  type TestDatabase,
} from './postgres.js';
export { DEFAULT_REDIS_URL, deleteKeys, redisPrefix, redisUrl, sharedRedis, testRedis } from './redis.js';
export { ownRedis, ownRedisCluster, type OwnCluster, type OwnRedis } from './redis-server.js';
export { startNode, startProcess, type OutputMode, type ProcessExit, type ProcessOptions, type StopOptions, type TestProcess } from './process.js';
export { parseDockerfile, readDockerfile, type DockerImage } from './dockerfile.js';
export { createTestIdp, TEST_AUDIENCE, TEST_ISSUER, type TestIdp, type TokenOptions } from './idp.js';
export { startAuthzProcess, type AuthzProcess, type AuthzProcessOptions } from './authz-process.js';
export {
  noteKeyId,
  parseCheckpointText,
  parseVkey,
  rfc6962,
  signNoteText,
  splitBundle,
  splitNote,
  tilePath,
  verifyCosignatureV1,
  verifyNoteSignature,
  verifyTiledLog,
  vkeyOf,
  type NoteLine,
} from './c2sp.js';
