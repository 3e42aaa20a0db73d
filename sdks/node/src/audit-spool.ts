/**
 * The audit client's spool, over the shared fsynced append-only file (@warden/spool):
 * one line per recorded event, appended and fsynced before `record` resolves, and one
 * line per answered batch naming the event ids the audit service answered. The file is
 * never rewritten for a batch: it is removed when every event in it was answered, and
 * compacted (atomically) only when answered lines far outnumber the waiting ones.
 *
 * Invariants:
 *  - an event is in the file before the client counts it as recorded;
 *  - an event leaves the file (by an answer line, removal or compaction) only after
 *    the service answered it, so a crash loses nothing recorded;
 *  - removal and compaction happen only while no append is in flight (appends issued
 *    later are ordered after them by the file), so they never drop a recorded event.
 * Files written by earlier versions (one event per line, rewritten per batch) read the same.
 */
import path from 'node:path';
import { parseEvent, type AuditEvent } from '@warden/audit-events';
import { SpoolFile } from '@warden/spool';

type Line = AuditEvent | { readonly answered: readonly string[] };


export class AuditSpool {
  private readonly file: SpoolFile<Line>;
  /** Events in the file not answered yet (the `warden.audit.client.spool.depth` gauge). */
  depth = 0;
  /** Answered events still in the file. */
  private answered = 0;
  private appending = 0;

  /**
   * @param compactAfter Compact once this many answered events sit in the file (and
   * more than the waiting ones).
   */
  constructor(
    dir: string,
    private readonly compactAfter = 10_000,
  ) {
    this.file = new SpoolFile<Line>(path.join(dir, 'audit-spool.jsonl'));
  }

  get path(): string {
    return this.file.path;
  }

  /** The recorded events not answered yet, in record order. */
  load(): AuditEvent[] {
    const recorded: (AuditEvent | undefined)[] = [];
    /** Positions of each id's unanswered events, oldest first. */
    const positions = new Map<string, number[]>();
    let answered = 0;
    for (const line of this.file.read({ skipCorrupt: true })) {
      if (typeof line === 'object' && line !== null && 'answered' in line && Array.isArray(line.answered)) {
        for (const id of line.answered) {
          const at = positions.get(id)?.shift();
          if (at === undefined) continue;
          recorded[at] = undefined;
          answered += 1;
        }
        continue;
      }
      const parsed = parseEvent(line);
      if (!parsed.ok) continue;
      positions.set(parsed.event.id, [...(positions.get(parsed.event.id) ?? []), recorded.length]);
      recorded.push(parsed.event);
    }
    const waiting = recorded.filter((e): e is AuditEvent => e !== undefined);
    this.depth = waiting.length;
    this.answered = answered;
    return waiting;
  }

  /** Resolves once the event is on disk. */
  async append(event: AuditEvent): Promise<void> {
    this.appending += 1;
    try {
      await this.file.append([event]);
      this.depth += 1;
    } finally {
      this.appending -= 1;
    }
  }

  /**
   * Records that the service answered these events; `waiting` is every recorded event
   * still unanswered, in order (used to compact).
   */
  async answer(ids: readonly string[], waiting: readonly AuditEvent[]): Promise<void> {
    this.depth = Math.max(0, this.depth - ids.length);
    this.answered += ids.length;
    if (this.appending === 0 && waiting.length === 0) {
      this.answered = 0;
      await this.file.clear();
    } else if (this.appending === 0 && this.answered >= this.compactAfter && this.answered > waiting.length) {
      this.answered = 0;
      await this.file.replace(waiting);
    } else {
      await this.file.append([{ answered: ids }]);
    }
  }

  close(): Promise<void> {
    return this.file.close();
  }
}
