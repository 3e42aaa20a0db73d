/** The logs a witness follows: `<origin> <log vkey>` per entry, the origin optionally ending in `/*`. */
import { parseVerifierKey } from '@warden/audit-events';
import type { TrustedLog } from './witness.js';

export function parseLogLine(entry: string): TrustedLog {
  const parts = entry.trim().split(/\s+/);
  if (parts.length !== 2 || parts[0] === '') throw new TypeError(`"${entry}": a log is "<origin> <vkey>" (the origin may end in /* for every origin under a prefix)`);
  const [origin, vkey] = parts as [string, string];
  if (origin.includes('+') || (origin.includes('*') && !/^[^*]+\/\*$/.test(origin))) throw new TypeError(`"${origin}": an origin has no +, and * only as a last "/*"`);
  return { origin, verifier: parseVerifierKey(vkey) };
}
