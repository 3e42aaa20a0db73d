import { appendFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EncodedRows } from '../../domain/ports.js';
import { FileSpool } from './file-spool.js';

const root = mkdtempSync(join(tmpdir(), 'warden-file-spool-'));
let n = 0;
const fresh = () => join(root, `case-${++n}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Rows as the store encodes them: one JSON array per line (the spool keeps them as text). */
const rows = (...seqs: number[]): EncodedRows => ({ text: seqs.map((seq) => `[${JSON.stringify('acme')},${seq},"x\\ny"]\n`).join(''), count: seqs.length });
const segments = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('wal-')).sort();

describe('FileSpool', () => {
  it('keeps a batch as a header line and its rows as written, and reads them back after a restart', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir);
    await spool.append({ token: 'a', rows: rows(0, 1) });
    await spool.append({ token: 'b', rows: rows(2) });
    expect(spool.depth).toBe(3);
    await spool.close();
    const [segment] = segments(dir);
    expect(readFileSync(join(dir, segment!), 'utf8')).toBe(`{"token":"a","rows":2}\n${rows(0, 1).text}{"token":"b","rows":1}\n${rows(2).text}`);
    const again = new FileSpool(dir);
    expect(again.depth).toBe(3);
    expect(await again.pending()).toEqual([
      { token: 'a', rows: rows(0, 1) },
      { token: 'b', rows: rows(2) },
    ]);
    await again.close();
  });

  it('leaves out a batch cut short — a torn tail, or fewer rows than its header announces before the next batch', async () => {
    const dir = fresh();
    const first = new FileSpool(dir);
    await first.append({ token: 'a', rows: rows(0, 1) });
    await first.close();
    const path = join(dir, segments(dir)[0]!);
    // The process died in the middle of batch b's write: its header and one of three rows are complete lines.
    appendFileSync(path, `{"token":"b","rows":3}\n${rows(2).text}[${JSON.stringify('acme')},3`);
    const second = new FileSpool(dir);
    expect(second.depth).toBe(2);
    expect(await second.pending()).toEqual([{ token: 'a', rows: rows(0, 1) }]);
    // The next run appends to a new segment; batch b's complete lines stay in the old one and are still left out.
    await second.append({ token: 'c', rows: rows(2, 3) });
    await second.close();
    // A batch cut short in the middle of a segment (its rows end where the next header starts) is left out too.
    writeFileSync(join(dir, 'wal-000000000009.jsonl'), `{"token":"d","rows":2}\n${rows(4).text}{"token":"e","rows":1}\n${rows(4).text}`);
    const third = new FileSpool(dir);
    expect((await third.pending()).map((b) => b.token)).toEqual(['a', 'c', 'e']);
    expect(third.depth).toBe(5);
    await third.close();
  });

  it('reads the older format (one line of records per batch), in segments and in a spool.jsonl left by an older version', async () => {
    const dir = fresh();
    const record = { org: 'acme', seq: 0, leafHash: 'ab' };
    const older = `${JSON.stringify({ token: 'old', records: [record] })}\n`;
    const spool0 = new FileSpool(dir);
    await spool0.close();
    writeFileSync(join(dir, 'spool.jsonl'), older);
    writeFileSync(join(dir, 'wal-000000000001.jsonl'), `${older}{"token":"new","rows":1}\n${rows(1).text}`);
    const spool = new FileSpool(dir);
    expect(spool.depth).toBe(3);
    expect(await spool.pending()).toEqual([
      { token: 'old', records: [record] },
      { token: 'old', records: [record] },
      { token: 'new', rows: rows(1) },
    ]);
    await spool.close();
  });

  it('refuses a damaged segment: a line that is neither a header, a row nor an older batch, or a header without a row count', async () => {
    for (const damage of ['not json at all\n', '{"token":"x","rows":-1}\n', '{"rows":1}\n']) {
      const dir = fresh();
      const spool = new FileSpool(dir);
      await spool.close();
      writeFileSync(join(dir, 'wal-000000000001.jsonl'), `${damage}{"token":"a","rows":1}\n${rows(0).text}`);
      const damaged = new FileSpool(dir);
      await expect(damaged.pending(), damage).rejects.toThrow(/corrupt at line 1/);
      await damaged.close();
    }
  });

  it('rotate() closes the newest segment and release() deletes the closed ones', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir);
    await spool.append({ token: 'a', rows: rows(0) });
    const closed = await spool.rotate();
    await spool.append({ token: 'b', rows: rows(1) });
    expect(await spool.pending(closed)).toEqual([{ token: 'a', rows: rows(0) }]);
    await spool.release(closed);
    expect(spool.depth).toBe(1);
    expect(await spool.pending()).toEqual([{ token: 'b', rows: rows(1) }]);
    await spool.close();
  });
});
