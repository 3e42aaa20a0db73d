/**
 * One-at-a-time execution for the work that changes the log's state: committing a
 * group, recovery, spool replay, taking checkpoint snapshots, key changes. A failed
 * piece of work does not block the next one.
 */
export class Serial {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work, work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
