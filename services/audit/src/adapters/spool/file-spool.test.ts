import { appendFileSync, closeSync, mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { SpoolFile } from '@warden/spool';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { EncodedRows } from '../../domain/ports.js';
import { FileSpool } from './file-spool.js';

const root = mkdtempSync(join(tmpdir(), 'warden-file-spool-'));
let n = 0;
const fresh = () => join(root, `case-${++n}`);
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Rows as the store encodes them: one JSON array per line (the spool keeps them as text). */
const rows = (...seqs: number[]): EncodedRows => ({ bytes: Buffer.from(seqs.map((seq) => `[${JSON.stringify('acme')},${seq},"x\\ny"]\n`).join('')), count: seqs.length });
const text = (r: EncodedRows) => r.bytes.toString('utf8');
const segments = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('wal-')).sort();
const spares = (dir: string) => readdirSync(dir).filter((name) => name.startsWith('spare-')).sort();
/** A batch as append() writes it into segment `seg`. */
const batchText = (token: string, seg: number, r: EncodedRows) => `${JSON.stringify({ token, rows: r.count, seg, crc: crc32(r.bytes) })}\n${text(r)}`;

describe('FileSpool', () => {
  it('keeps a batch as a header line and its rows as written, and reads them back after a restart', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir);
    await spool.append({ token: 'a', rows: rows(0, 1) });
    await spool.append({ token: 'b', rows: rows(2) });
    expect(spool.depth).toBe(3);
    await spool.close();
    const [segment] = segments(dir);
    expect(segment).toBe('wal-000000000001.log');
    expect(readFileSync(join(dir, segment!), 'utf8')).toBe(`{"token":"a","rows":2,"seg":1,"crc":${crc32(rows(0, 1).bytes)}}\n${text(rows(0, 1))}{"token":"b","rows":1,"seg":1,"crc":${crc32(rows(2).bytes)}}\n${text(rows(2))}`);
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
    appendFileSync(path, `{"token":"b","rows":3}\n${text(rows(2))}[${JSON.stringify('acme')},3`);
    const second = new FileSpool(dir);
    expect(second.depth).toBe(2);
    expect(await second.pending()).toEqual([{ token: 'a', rows: rows(0, 1) }]);
    // The next run appends to a new segment; batch b's complete lines stay in the old one and are still left out.
    await second.append({ token: 'c', rows: rows(2, 3) });
    await second.close();
    // A batch cut short in the middle of a segment (its rows end where the next header starts) is left out too.
    writeFileSync(join(dir, 'wal-000000000009.jsonl'), `{"token":"d","rows":2}\n${text(rows(4))}{"token":"e","rows":1}\n${text(rows(4))}`);
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
    writeFileSync(join(dir, 'wal-000000000001.jsonl'), `${older}{"token":"new","rows":1}\n${text(rows(1))}`);
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
      writeFileSync(join(dir, 'wal-000000000001.jsonl'), `${damage}{"token":"a","rows":1}\n${text(rows(0))}`);
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

  it('recycles a released segment: the next segment is the same file, overwritten from its start, and its earlier batches are not read', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir);
    await spool.append({ token: 'a', rows: rows(0, 1, 2, 3) });
    await spool.append({ token: 'b', rows: rows(4, 5, 6, 7) });
    const first = join(dir, 'wal-000000000001.log');
    const { ino } = statSync(first);
    const one = await spool.rotate();
    await spool.append({ token: 'c', rows: rows(8) });
    await spool.release(one);
    expect(spares(dir)).toEqual(['spare-000000000001.log']);
    expect(statSync(join(dir, 'spare-000000000001.log')).ino).toBe(ino);
    const two = await spool.rotate();
    // Segment 3 is segment 1's file under a new name, its old bytes still behind the new ones.
    expect(spares(dir)).toEqual([]);
    expect(statSync(join(dir, 'wal-000000000003.log')).ino).toBe(ino);
    await spool.append({ token: 'd', rows: rows(9) });
    expect(readFileSync(join(dir, 'wal-000000000003.log'), 'utf8')).toContain('"token":"b"');
    expect(await spool.pending()).toEqual([
      { token: 'c', rows: rows(8) },
      { token: 'd', rows: rows(9) },
    ]);
    await spool.release(two);
    await spool.close();
    // After a restart too: segment 3 holds d alone.
    const again = new FileSpool(dir);
    expect(again.depth).toBe(1);
    expect(await again.pending()).toEqual([{ token: 'd', rows: rows(9) }]);
    await again.close();
  });

  it('a recycled segment never written, or whose write was torn, holds nothing of its earlier life and is a spare again', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir);
    await spool.append({ token: 'a', rows: rows(0, 1) });
    await spool.append({ token: 'b', rows: rows(2, 3) });
    await spool.release(await spool.rotate());
    await spool.close();
    // The process died after naming the spare segment 3 and before writing to it: it holds segment 1's batches only.
    renameSync(join(dir, 'spare-000000000001.log'), join(dir, 'wal-000000000003.log'));
    const died = new FileSpool(dir);
    expect(died.depth).toBe(0);
    expect(died.isEmpty).toBe(true);
    expect(await died.pending()).toEqual([]);
    expect(segments(dir)).toEqual(['wal-000000000004.log']);
    await died.close();
    // It died in the middle of a batch's write: the header and one row of two are on disk, over the old bytes.
    const torn = (seg: number) => {
      const text = batchText('c', seg, rows(4, 5));
      return text.slice(0, text.indexOf('\n', text.indexOf('\n') + 1) + 1);
    };
    const overwrite = (path: string, text: string) => {
      const fd = openSync(path, 'r+');
      writeSync(fd, text, 0);
      closeSync(fd);
    };
    overwrite(join(dir, 'wal-000000000004.log'), torn(4));
    const again = new FileSpool(dir);
    expect(await again.pending()).toEqual([]);
    expect(segments(dir)).toEqual(['wal-000000000005.log']);
    await again.close();
    // A whole batch before the torn one is read; the torn one after it is not.
    overwrite(join(dir, 'wal-000000000005.log'), batchText('x', 5, rows(6)) + torn(5));
    const third = new FileSpool(dir);
    expect(await third.pending()).toEqual([{ token: 'x', rows: rows(6) }]);
    expect(third.path).toBe(join(dir, 'wal-000000000006.log'));
    await third.close();
  });

  it('keeps at most `spares` released segments and deletes larger ones; new segments are numbered past every spare', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir, { spares: 1, maxSpareBytes: 200 });
    await spool.append({ token: 'big', rows: rows(...Array.from({ length: 20 }, (_, i) => i)) });
    await spool.release(await spool.rotate());
    expect(spares(dir)).toEqual([]);
    await spool.append({ token: 'a', rows: rows(20) });
    const two = await spool.rotate();
    await spool.append({ token: 'b', rows: rows(21) });
    const three = await spool.rotate();
    await spool.release(three);
    expect(two).toBe(2);
    expect(spares(dir)).toEqual(['spare-000000000002.log']);
    expect(segments(dir)).toEqual([]);
    await spool.close();
    // Restarted with only a spare on disk: the next segment is numbered after it, in its file.
    const again = new FileSpool(dir);
    expect(again.path).toBe(join(dir, 'wal-000000000003.log'));
    expect(spares(dir)).toEqual([]);
    await again.append({ token: 'c', rows: rows(22) });
    expect(await again.pending()).toEqual([{ token: 'c', rows: rows(22) }]);
    // A spare removed by someone else: rotate() starts a new file instead.
    await again.release(await again.rotate());
    expect(spares(dir)).toEqual(['spare-000000000003.log']);
    rmSync(join(dir, 'spare-000000000003.log'));
    await again.append({ token: 'd', rows: rows(23) });
    await again.rotate();
    await again.append({ token: 'e', rows: rows(24) });
    expect(await again.pending()).toEqual([
      { token: 'd', rows: rows(23) },
      { token: 'e', rows: rows(24) },
    ]);
    await again.close();
  });
  it('after a failed append the group stays as it landed and the next one goes to a new segment, so what a reload read is kept', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir);
    await spool.append({ token: 'a', rows: rows(0) });
    await spool.release(await spool.rotate());
    await spool.append({ token: 'b', rows: rows(1) });
    await spool.release(await spool.rotate());
    // Segment 3 is a recycled file: its groups are written over the old bytes.
    expect(spool.path).toBe(join(dir, 'wal-000000000003.log'));
    await spool.append({ token: 'c', rows: rows(2) });
    // The disk took group d, then the append reported an error (its outcome unknown to the
    // service). SpoolFile's own test covers the write underneath.
    const appendText = SpoolFile.prototype.appendText;
    const failing = vi.spyOn(SpoolFile.prototype, 'appendText').mockImplementationOnce(async function (this: SpoolFile<never>, text: string | Uint8Array) {
      await appendText.call(this, text);
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    });
    try {
      await expect(spool.append({ token: 'd', rows: rows(3, 4) })).rejects.toThrow(/EIO/);
    } finally {
      failing.mockRestore();
    }
    // The service re-reads the spool after a failed write: d is there, and stays there.
    expect(await spool.pending()).toEqual([
      { token: 'c', rows: rows(2) },
      { token: 'd', rows: rows(3, 4) },
    ]);
    expect(spool.path).not.toBe(join(dir, 'wal-000000000003.log'));
    await spool.append({ token: 'e', rows: rows(5) });
    await spool.close();
    const again = new FileSpool(dir);
    expect((await again.pending()).map((b) => b.token)).toEqual(['c', 'd', 'e']);
    await again.close();
  });
  it('each rotation takes one spare, so every spare is used in turn', async () => {
    const dir = fresh();
    const spool = new FileSpool(dir);
    for (const token of ['a', 'b', 'c']) {
      await spool.append({ token, rows: rows(0) });
      await spool.rotate();
    }
    await spool.append({ token: 'd', rows: rows(1) });
    await spool.release(await spool.rotate());
    expect(spares(dir)).toEqual(['spare-000000000001.log', 'spare-000000000002.log', 'spare-000000000003.log', 'spare-000000000004.log']);
    const inodes = new Set(spares(dir).map((name) => statSync(join(dir, name)).ino));
    // Segment 5 was started before the release, in a new file; each of the next four takes one of the four spares.
    await spool.append({ token: 'e', rows: rows(2) });
    for (const token of ['f', 'g', 'h', 'i']) {
      await spool.rotate();
      await spool.append({ token, rows: rows(3) });
      expect(inodes.has(statSync(spool.path).ino)).toBe(true);
    }
    expect(spares(dir)).toEqual([]);
    await spool.close();
  });
});
