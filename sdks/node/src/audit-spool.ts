/**
 * The audit client's spool, over the shared fsynced append-only file (@warden/spool), in
 * segments: `audit-spool.jsonl`, `audit-spool.1.jsonl`, `audit-spool.2.jsonl`, … One line per
 * recorded event, appended and fsynced before `record` resolves, to the newest segment; one
 * line per answered batch naming the event ids the audit service answered. No file is ever
 * rewritten: once a segment holds `segmentLines` lines the next appends open a new one, and a
 * segment is deleted (whole) once every event in it was answered.
 *
 * Invariants:
 *  - an event is in a segment, fsynced, before the client counts it as recorded;
 *  - an event leaves the spool (by an answer line or its segment's deletion) only after the
 *    service answered it, so a crash loses nothing recorded (at worst answered events are
 *    sent again: ids are stable and the service answers them as duplicates);
 *  - a segment is deleted only when none of its events waits and no append to it is in
 *    flight, oldest first; answer lines name only events of their own segment or older
 *    ones, so deleting the oldest segments never revives an answered event of a newer one;
 *    answers run one at a time (a deletion never races an answer line);
 *  - segments are read in index order, so the waiting events come back in record order.
 * A file written by earlier versions (one event per line, or with answer lines) is segment 0.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseEvent, type AuditEvent } from '@warden/audit-events';
import { SpoolFile } from '@warden/spool';

type Line = AuditEvent | { readonly answered: readonly string[] };
type Segment = { readonly index: number; readonly file: SpoolFile<Line>; lines: number; waiting: number; appending: number };

const SEGMENT = /^audit-spool(?:\.(\d+))?\.jsonl$/;

export class AuditSpool {
  /** Oldest first; the last one takes appends. */
  private readonly segments: Segment[] = [];
  /** Each unanswered event id → the segments holding its unanswered copies, oldest first. */
  private readonly where = new Map<string, Segment[]>();
  /** Events in the spool not answered yet (the `warden.audit.client.spool.depth` gauge). */
  depth = 0;
  private answering: Promise<void> = Promise.resolve();
  /** Indexes are never reused in a process: a new segment never shares a path with one being deleted. */
  private nextIndex: number;

  /**
   * @param segmentLines Lines (events and answer lines) after which appends go to a new
   * segment. @defaultValue 10000
   */
  constructor(
    private readonly dir: string,
    private readonly segmentLines = 10_000,
  ) {
    mkdirSync(dir, { recursive: true });
    const found = readdirSync(dir)
      .map((name) => ({ name, match: SEGMENT.exec(name) }))
      .filter((f): f is { name: string; match: RegExpExecArray } => f.match !== null)
      .map((f) => ({ name: f.name, index: f.match[1] === undefined ? 0 : Number(f.match[1]) }))
      .sort((a, b) => a.index - b.index);
    for (const f of found) this.segments.push(this.segment(f.index, path.join(dir, f.name)));
    this.nextIndex = (found.at(-1)?.index ?? -1) + 1;
  }

  /** The segment appends go to now. */
  get path(): string {
    return this.current().file.path;
  }

  /** The segment files on disk (oldest first), for tests and operators. */
  get files(): string[] {
    return this.segments.map((s) => s.file.path);
  }

  /** The recorded events not answered yet, in record order. */
  load(): AuditEvent[] {
    const recorded: { event: AuditEvent; segment: Segment }[] = [];
    const answeredAt = new Set<number>();
    /** Positions of each id's unanswered events, oldest first. */
    const positions = new Map<string, number[]>();
    for (const segment of this.segments) {
      segment.lines = 0;
      for (const line of segment.file.read({ skipCorrupt: true })) {
        segment.lines += 1;
        if (typeof line === 'object' && line !== null && 'answered' in line && Array.isArray(line.answered)) {
          for (const id of line.answered) {
            const at = positions.get(id)?.shift();
            if (at !== undefined) answeredAt.add(at);
          }
          continue;
        }
        const parsed = parseEvent(line);
        if (!parsed.ok) continue;
        const list = positions.get(parsed.event.id);
        if (list === undefined) positions.set(parsed.event.id, [recorded.length]);
        else list.push(recorded.length);
        recorded.push({ event: parsed.event, segment });
      }
    }
    this.where.clear();
    for (const segment of this.segments) segment.waiting = 0;
    const waiting: AuditEvent[] = [];
    recorded.forEach(({ event, segment }, i) => {
      if (answeredAt.has(i)) return;
      waiting.push(event);
      segment.waiting += 1;
      this.remember(event.id, segment);
    });
    this.depth = waiting.length;
    return waiting;
  }

  /** Resolves once the event is on disk. */
  async append(event: AuditEvent): Promise<void> {
    let segment = this.current();
    if (segment.lines >= this.segmentLines) segment = this.open();
    segment.appending += 1;
    segment.lines += 1;
    try {
      await segment.file.append([event]);
      segment.waiting += 1;
      this.remember(event.id, segment);
      this.depth += 1;
    } finally {
      segment.appending -= 1;
    }
  }

  /**
   * Records that the service answered these events (their copies recorded first). Answers
   * run one at a time, so a segment's deletion and an answer line never interleave (an
   * answer line written into a segment another answer just deleted would recreate its file).
   */
  answer(ids: readonly string[]): Promise<void> {
    const run = this.answering.then(() => this.answerNow(ids));
    this.answering = run.catch(() => undefined);
    return run;
  }

  private async answerNow(ids: readonly string[]): Promise<void> {
    const touched = new Set<Segment>();
    for (const id of ids) {
      const list = this.where.get(id);
      const segment = list?.shift();
      if (list !== undefined && list.length === 0) this.where.delete(id);
      if (segment === undefined) continue;
      segment.waiting -= 1;
      this.depth = Math.max(0, this.depth - 1);
      touched.add(segment);
    }
    // Whole segments whose events are all answered go, oldest first (never one an append is writing to).
    while (this.segments.length > 0 && this.segments[0]!.waiting === 0 && this.segments[0]!.appending === 0) {
      const done = this.segments.shift()!;
      touched.delete(done);
      await done.file.clear();
    }
    if (touched.size === 0) return;
    const segment = this.current();
    segment.lines += 1;
    await segment.file.append([{ answered: ids }]);
  }

  async close(): Promise<void> {
    await Promise.all(this.segments.map((s) => s.file.close()));
  }

  private remember(id: string, segment: Segment): void {
    const list = this.where.get(id);
    if (list === undefined) this.where.set(id, [segment]);
    else list.push(segment);
  }

  private current(): Segment {
    return this.segments.at(-1) ?? this.open();
  }

  private open(): Segment {
    const index = this.nextIndex++;
    const segment = this.segment(index, path.join(this.dir, index === 0 ? 'audit-spool.jsonl' : `audit-spool.${index}.jsonl`));
    this.segments.push(segment);
    return segment;
  }

  private segment(index: number, file: string): Segment {
    return { index, file: new SpoolFile<Line>(file), lines: 0, waiting: 0, appending: 0 };
  }
}
