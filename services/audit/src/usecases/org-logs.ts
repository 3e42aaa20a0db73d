/**
 * The head of every organization log this process knows: its size, the last link of
 * its hash chain and the right edge of its Merkle tree (a compact range). Changed only
 * by the sequencer (after a durable write) and by recovery, both under the Serial lock.
 */
import { CompactRange, GENESIS_CHAIN } from '@warden/audit-events';

export type OrgLog = {
  /** Events in the log (stored or spooled) = the next seq. */
  size: number;
  lastChain: Buffer;
  tree: CompactRange;
};

export class OrgLogs {
  private readonly logs = new Map<string, OrgLog>();

  get(org: string): OrgLog | undefined {
    return this.logs.get(org);
  }

  /** The org's log, created empty the first time it is seen. */
  open(org: string): OrgLog {
    let log = this.logs.get(org);
    if (log === undefined) {
      log = { size: 0, lastChain: GENESIS_CHAIN, tree: new CompactRange() };
      this.logs.set(org, log);
    }
    return log;
  }

  set(org: string, log: OrgLog): void {
    this.logs.set(org, log);
  }

  size(org: string): number {
    return this.logs.get(org)?.size ?? 0;
  }

  orgs(): string[] {
    return [...this.logs.keys()];
  }

  clear(): void {
    this.logs.clear();
  }
}
