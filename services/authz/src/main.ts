#!/usr/bin/env node
/**
 * Process entry: `node dist/main.js [--world FILE]` (the flag sets AUTHZ_WORLD_FILE).
 * runService (@warden/service-kit): configuration (exit 2 listing every problem), telemetry,
 * the app, and a bounded close on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { runService } from '@warden/service-kit';
import { loadConfig } from './config.js';

const { values } = parseArgs({ options: { world: { type: 'string' } }, strict: true });
const env = { ...process.env };
if (values.world !== undefined) env['AUTHZ_WORLD_FILE'] = values.world;

await runService({
  name: 'warden-authz',
  loadConfig: () => loadConfig(env),
  async start(config, logger) {
    // Imported only now, after telemetry: the instrumentations patch pg, ioredis and fastify
    // as they load, and nice-grpc-opentelemetry takes its tracer when loaded.
    const { startAuthzApp } = await import('./app.js');
    return startAuthzApp(config, logger);
  },
});
