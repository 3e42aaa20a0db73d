/** Runs `warden audit …` in process with captured output (the API key `sre-key` in the environment). */
import { createAuditCommand, type CliIo } from '../../src/audit.js';

export async function runAudit(args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  let code = 0;
  const io: CliIo = { stdout: (t) => (out += t), stderr: (t) => (err += t), env: { WARDEN_API_KEY: 'sre-key' }, setExitCode: (c) => (code = c) };
  await createAuditCommand(io).parseAsync(['node', 'warden-audit', ...args]);
  return { out, err, code };
}
