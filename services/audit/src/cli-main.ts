#!/usr/bin/env node
/** The `warden-audit` executable. */
import { CommanderError } from 'commander';
import { createAuditCommand } from './cli.js';

const command = createAuditCommand().name('warden-audit');
command.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode;
    return;
  }
  process.stderr.write(`warden-audit: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
