/**
 * `warden audit verify --witness-policy FILE` (issue 16 item 3): the checkpoint must carry
 * the quorum of witness cosignatures a c2sp.org/tlog-policy file demands, and every policy
 * witness with a URL is asked for the newest checkpoint it cosigned
 * (c2sp.org/tlog-witness@v1.0.0 "GET <monitoring prefix>/<origin hash>/checkpoint"; the
 * monitoring prefix is taken to be the URL). A witness that has cosigned a larger tree (or
 * another root at the same size) than the log now shows proves a rollback or a fork — even
 * when the service's own files were wiped — and its checkpoint becomes the trusted
 * checkpoint the log must still contain.
 */
import { checkCosignature, checkWitnessPolicy, originHash, parseCheckpointNote, quorumMet, verifyNote, type NoteVerifier, type WitnessPolicy } from '@warden/audit-events';

export type WitnessedCheckpoint = { readonly witness: string; readonly note: string; readonly treeSize: number; readonly rootHash: Buffer };

export type PolicyVerdict = {
  /** The checkpoint meets the quorum. */
  readonly quorum: { ok: boolean; reason: string | undefined; cosigned: readonly string[] };
  /** The largest checkpoint a witness vouches for (log-signed and cosigned by it). */
  readonly newestWitnessed: WitnessedCheckpoint | undefined;
  /** Contradictions between the log's checkpoint and a witness's. */
  readonly conflicts: readonly string[];
  /** Witnesses that could not be asked (unreachable, bad answer). */
  readonly unreachable: readonly string[];
  /**
   * Whether the witnesses that answered meet the quorum themselves (fail closed: a rollback
   * could hide behind witnesses that cannot be reached); undefined when no policy witness
   * has a URL (an offline policy: only the cosignatures are checked).
   */
  readonly askedQuorum: boolean | undefined;
};

export async function checkAgainstWitnesses(options: {
  note: string;
  policy: WitnessPolicy;
  logVerifiers: readonly NoteVerifier[];
  timeoutMs?: number;
  fetchImpl?: typeof fetch;
}): Promise<PolicyVerdict> {
  const parsed = parseCheckpointNote(options.note);
  const { origin, treeSize, rootHash } = parsed.checkpoint;
  const quorum = checkWitnessPolicy(parsed, options.policy, options.logVerifiers);
  const hash = originHash(origin);
  const conflicts: string[] = [];
  const unreachable: string[] = [];
  let newest: WitnessedCheckpoint | undefined;
  const answered: string[] = [];
  await Promise.all(
    options.policy.witnesses.map(async (w) => {
      if (w.url === undefined) return;
      try {
        const response = await (options.fetchImpl ?? fetch)(`${w.url.replace(/\/+$/, '')}/${hash}/checkpoint`, { signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
        if (response.status === 404) {
          answered.push(w.name); // this witness never cosigned the log
          return;
        }
        if (response.status !== 200) throw new Error(`status ${response.status}`);
        const text = await response.text();
        const seen = parseCheckpointNote(text);
        if (seen.checkpoint.origin !== origin) throw new Error('a checkpoint of another log');
        if (checkCosignature(seen, w.verifier).status !== 'valid') throw new Error('its checkpoint lacks its own valid cosignature');
        if (!options.logVerifiers.some((v) => verifyNote(seen, v))) throw new Error('its checkpoint is not signed by the log key');
        const entry = { witness: w.name, note: text, treeSize: seen.checkpoint.treeSize, rootHash: seen.checkpoint.rootHash };
        if (entry.treeSize > treeSize) conflicts.push(`witness ${w.name} has cosigned tree size ${entry.treeSize}, larger than the log's checkpoint (${treeSize}): the log was rolled back`);
        else if (entry.treeSize === treeSize && !entry.rootHash.equals(rootHash)) conflicts.push(`witness ${w.name} has cosigned another root at tree size ${treeSize}: the log forked`);
        if (newest === undefined || entry.treeSize > newest.treeSize) newest = entry;
        answered.push(w.name);
      } catch (error) {
        unreachable.push(`${w.name} (${(error as Error).message})`);
      }
    }),
  );
  const askedQuorum = options.policy.witnesses.some((w) => w.url !== undefined) ? quorumMet(options.policy, answered) : undefined;
  return { quorum, newestWitnessed: newest, conflicts, unreachable, askedQuorum };
}
