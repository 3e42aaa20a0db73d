/**
 * Witness policies in the c2sp.org/tlog-policy text format (C2SP main as of 2026-06-22,
 * untagged): `log <vkey> [<url>]`, `witness <name> <vkey> [<url>]`,
 * `group <name> all|any|<k> <member>...`, exactly one `quorum <name>` (or `quorum none`);
 * `#` comments and blank lines ignored; names defined before use; each member at most once
 * per group; no duplicate keys. Pure: no I/O.
 *
 * Warden signs the checkpoints of every organization's log with one key whose name is
 * not the origin (origins are `<prefix>/<org>`), so a `log` line names that key and
 * accepts any origin it signs.
 */
import { parseVerifierKey, verifyNote, type NoteVerifier, type SignedNote } from './checkpoint.js';
import { checkCosignature, parseCosignatureVerifierKey, type CosignatureVerifier } from './cosignature.js';
import { rawPublicKey } from './keys.js';

export type PolicyWitness = { readonly name: string; readonly verifier: CosignatureVerifier; readonly vkey: string; readonly url: string | undefined };
type Group = { readonly name: string; readonly threshold: number; readonly members: readonly string[] };

export type WitnessPolicy = {
  readonly logs: readonly NoteVerifier[];
  readonly witnesses: readonly PolicyWitness[];
  readonly groups: readonly Group[];
  /** A witness or group name, or 'none'. */
  readonly quorum: string;
};

const NAME = /^[^\s]+$/;

export function parseWitnessPolicy(text: string): WitnessPolicy {
  const logs: NoteVerifier[] = [];
  const witnesses: PolicyWitness[] = [];
  const groups: Group[] = [];
  const names = new Set<string>();
  const keys = new Set<string>();
  let quorum: string | undefined;
  const fail = (line: number, message: string): never => {
    throw new TypeError(`policy line ${line}: ${message}`);
  };
  if (/[^\t\n\x20-\x7e\x80-\xff]/.test(Buffer.from(text, 'utf8').toString('latin1'))) throw new TypeError('policy: control characters other than tab and newline');
  text.split('\n').forEach((raw, i) => {
    const n = i + 1;
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const [keyword, ...args] = line.split(/[ \t]+/) as [string, ...string[]];
    const uniqueKey = (raw32: Buffer) => {
      const k = raw32.toString('hex');
      if (keys.has(k)) fail(n, 'duplicate key');
      keys.add(k);
    };
    const define = (name: string) => {
      if (!NAME.test(name) || name === 'none') fail(n, `"${name}" is not a usable name`);
      if (names.has(name)) fail(n, `"${name}" is defined twice`);
      names.add(name);
    };
    try {
      if (keyword === 'log') {
        if (args.length < 1 || args.length > 2) fail(n, 'log <vkey> [<url>]');
        const verifier = parseVerifierKey(args[0]!);
        uniqueKey(rawPublicKey(verifier.publicKey));
        logs.push(verifier);
      } else if (keyword === 'witness') {
        if (args.length < 2 || args.length > 3) fail(n, 'witness <name> <vkey> [<url>]');
        define(args[0]!);
        const verifier = parseCosignatureVerifierKey(args[1]!);
        uniqueKey(rawPublicKey(verifier.publicKey));
        witnesses.push({ name: args[0]!, verifier, vkey: args[1]!, url: args[2] });
      } else if (keyword === 'group') {
        if (args.length < 3) fail(n, 'group <name> all|any|<k> <member>...');
        const [name, k, ...members] = args as [string, string, ...string[]];
        if (new Set(members).size !== members.length) fail(n, 'a member is listed twice');
        for (const m of members) if (!names.has(m)) fail(n, `"${m}" is not defined on an earlier line`);
        const threshold = k === 'all' ? members.length : k === 'any' ? 1 : /^[1-9]\d*$/.test(k) ? Number(k) : fail(n, `"${k}" is not all, any or a number`);
        if (threshold < 1 || threshold > members.length) fail(n, `threshold ${threshold} is not within 1..${members.length}`);
        define(name);
        groups.push({ name, threshold, members });
      } else if (keyword === 'quorum') {
        if (args.length !== 1) fail(n, 'quorum <name>');
        if (quorum !== undefined) fail(n, 'a second quorum line');
        if (args[0] !== 'none' && !names.has(args[0]!)) fail(n, `"${args[0]}" is not defined on an earlier line`);
        quorum = args[0]!;
      } else {
        fail(n, `unknown keyword "${keyword}"`);
      }
    } catch (error) {
      if (error instanceof TypeError && error.message.startsWith('policy line')) throw error;
      fail(n, (error as Error).message);
    }
  });
  if (quorum === undefined) throw new TypeError('policy: no quorum line');
  return { logs, witnesses, groups, quorum };
}

export type PolicyResult = {
  readonly ok: boolean;
  /** Witnesses whose cosignature verified. */
  readonly cosigned: readonly string[];
  /** Witnesses with a cosignature line that does not verify (the note is malformed). */
  readonly invalid: readonly string[];
  /** Why not, when not ok. */
  readonly reason: string | undefined;
};

/** Is the note signed by a policy log (when the policy lists logs) and cosigned by a quorum? */
export function checkWitnessPolicy(note: SignedNote, policy: WitnessPolicy, extraLogs: readonly NoteVerifier[] = []): PolicyResult {
  const logs = [...policy.logs, ...extraLogs];
  const cosigned: string[] = [];
  const invalid: string[] = [];
  for (const w of policy.witnesses) {
    const check = checkCosignature(note, w.verifier);
    if (check.status === 'valid') cosigned.push(w.name);
    if (check.status === 'invalid') invalid.push(w.name);
  }
  if (logs.length > 0 && !logs.some((v) => verifyNote(note, v))) return { ok: false, cosigned, invalid, reason: 'the checkpoint is not signed by a log of the policy' };
  if (invalid.length > 0) return { ok: false, cosigned, invalid, reason: `a cosignature by ${invalid.join(', ')} does not verify` };
  const ok = quorumMet(policy, cosigned);
  return { ok, cosigned, invalid, reason: ok ? undefined : `the witness quorum "${policy.quorum}" is not met (cosigned by: ${cosigned.length === 0 ? 'none' : cosigned.join(', ')})` };
}

/** Does this set of witnesses (by policy name) satisfy the policy's quorum? */
export function quorumMet(policy: WitnessPolicy, witnesses: readonly string[]): boolean {
  const groups = new Map(policy.groups.map((g) => [g.name, g]));
  const witnessed = (name: string): boolean => {
    const group = groups.get(name);
    if (group === undefined) return witnesses.includes(name);
    return group.members.filter(witnessed).length >= group.threshold;
  };
  return policy.quorum === 'none' || witnessed(policy.quorum);
}
