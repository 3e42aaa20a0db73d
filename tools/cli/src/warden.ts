#!/usr/bin/env node
/** The `warden` command (see program.ts). */
import { EXIT } from './connection.js';
import { createProgram } from './program.js';

try {
  await createProgram().parseAsync(process.argv);
} catch (error) {
  const code = (error as { exitCode?: number }).exitCode;
  if (typeof code === 'number') process.exit(code === 0 ? 0 : EXIT.usage);
  process.stderr.write(`warden: ${(error as Error).message}\n`);
  process.exit(EXIT.unavailable);
}
