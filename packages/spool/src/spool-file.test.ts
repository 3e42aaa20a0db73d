import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { SpoolFile, writeFileDurably } from './spool-file.js';

const root = mkdtempSync(join(tmpdir(), 'warden-spool-'));
let n = 0;
const fresh = () => join(root, `case-${++n}`, 'spool.jsonl');
afterAll(() => rmSync(root, { recursive: true, force: true }));

type Entry = { i: number };

describe('SpoolFile', () => {
  it('appends lines and reads them back in order, across instances', async () => {
    const path = fresh();
    const spool = new SpoolFile<Entry>(path);
    expect(spool.isEmpty).toBe(true);
    expect(spool.read()).toEqual([]);
    await spool.append([{ i: 0 }, { i: 1 }]);
    await spool.append([{ i: 2 }]);
    expect(spool.isEmpty).toBe(false);
    await spool.close();
    expect(new SpoolFile<Entry>(path).read()).toEqual([{ i: 0 }, { i: 1 }, { i: 2 }]);
    expect(new SpoolFile<Entry>(path).isEmpty).toBe(false);
  });

  it('appends in place: the file is never rewritten by an append', async () => {
    const path = fresh();
    const spool = new SpoolFile<Entry>(path);
    await spool.append([{ i: 0 }]);
    const { ino, size } = statSync(path);
    await spool.append([{ i: 1 }]);
    expect(statSync(path).ino).toBe(ino);
    expect(readFileSync(path, 'utf8').slice(0, size)).toBe('{"i":0}\n');
    await spool.close();
  });

  it('with overwrite, appends write over a recycled file from its start: same file, no new blocks, the old lines after the new ones', async () => {
    const path = fresh();
    const old = new SpoolFile<Entry>(path);
    await old.append([{ i: 100 }, { i: 101 }, { i: 102 }]);
    await old.close();
    const { ino, size } = statSync(path);
    const recycled = new SpoolFile<Entry>(path, { overwrite: true });
    expect(recycled.isEmpty).toBe(true);
    await recycled.append([{ i: 0 }]);
    await recycled.appendText('{"i":1}\n');
    expect(recycled.isEmpty).toBe(false);
    expect(statSync(path)).toMatchObject({ ino, size });
    // The old bytes past the new ones: the rest of a line cut in two, then a whole old line.
    expect(readFileSync(path, 'utf8')).toBe('{"i":0}\n{"i":1}\n01}\n{"i":102}\n');
    expect(recycled.readLines()).toEqual(['{"i":0}', '{"i":1}', '01}', '{"i":102}']);
    // Past the old end the file grows as any append does.
    await recycled.append([{ i: 2 }, { i: 3 }]);
    expect(readFileSync(path, 'utf8')).toBe('{"i":0}\n{"i":1}\n{"i":2}\n{"i":3}\n');
    await recycled.close();
  });

  it('concurrent appends keep their call order and share writes', async () => {
    const path = fresh();
    const spool = new SpoolFile<Entry>(path);
    await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append([{ i }])));
    expect(spool.read().map((e) => e.i)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    await spool.close();
  });

  it('ignores a torn tail and cuts it off before the next append', async () => {
    const path = fresh();
    const first = new SpoolFile<Entry>(path);
    await first.append([{ i: 0 }]);
    await first.close();
    appendFileSync(path, '{"i":1}'); // all bytes but the newline: that append never resolved
    const second = new SpoolFile<Entry>(path);
    expect(second.read()).toEqual([{ i: 0 }]);
    await second.append([{ i: 2 }]);
    expect(readFileSync(path, 'utf8')).toBe('{"i":0}\n{"i":2}\n');
    await second.close();
  });

  it('appendText writes preformatted lines in call order with the other appends; readLines returns them as written', async () => {
    const path = fresh();
    const spool = new SpoolFile<Entry>(path);
    await Promise.all([spool.append([{ i: 0 }]), spool.appendText('header 1\n[1,"a"]\n'), spool.append([{ i: 2 }])]);
    await spool.appendText('');
    expect(spool.readLines()).toEqual(['{"i":0}', 'header 1', '[1,"a"]', '{"i":2}']);
    await expect(spool.appendText('no newline')).rejects.toThrow(/complete lines/);
    appendFileSync(path, '[2,"torn'); // a torn tail is not a line
    expect(new SpoolFile<Entry>(path).readLines()).toEqual(['{"i":0}', 'header 1', '[1,"a"]', '{"i":2}']);
    await spool.close();
  });

  it('appendText takes the lines as UTF-8 bytes too, grouped with the appends around them, and refuses bytes that do not end a line', async () => {
    const path = fresh();
    const spool = new SpoolFile<Entry>(path);
    await Promise.all([spool.append([{ i: 0 }]), spool.appendText(Buffer.from('h\u00e9ader 1\n[1,"\u20ac"]\n', 'utf8')), spool.appendText('[2,"b"]\n')]);
    await spool.appendText(new Uint8Array(0));
    expect(readFileSync(path, 'utf8')).toBe('{"i":0}\nh\u00e9ader 1\n[1,"\u20ac"]\n[2,"b"]\n');
    await expect(spool.appendText(Buffer.from('no newline'))).rejects.toThrow(/complete lines/);
    expect(spool.readLines()).toEqual(['{"i":0}', 'h\u00e9ader 1', '[1,"\u20ac"]', '[2,"b"]']);
    await spool.close();
  });

  it('tolerates an unreadable last line, refuses one in the middle unless told to skip it', async () => {
    const path = fresh();
    const spool = new SpoolFile<Entry>(path);
    writeFileSync(path, '{"i":0}\n{"i":\n');
    expect(spool.read()).toEqual([{ i: 0 }]);
    writeFileSync(path, '{"i":0}\n{"i":\n{"i":2}\n');
    expect(() => spool.read()).toThrow(/is corrupt at line 2/);
    expect(spool.read({ skipCorrupt: true })).toEqual([{ i: 0 }, { i: 2 }]);
  });

  it('replace() compacts atomically; clear() removes everything; appends issued after them survive', async () => {
    const path = fresh();
    const spool = new SpoolFile<Entry>(path);
    await spool.append([{ i: 0 }, { i: 1 }, { i: 2 }]);
    const replaced = spool.replace([{ i: 2 }]);
    const after = spool.append([{ i: 3 }]);
    await Promise.all([replaced, after]);
    expect(spool.read()).toEqual([{ i: 2 }, { i: 3 }]);
    const cleared = spool.clear();
    const afterClear = spool.append([{ i: 4 }]);
    await Promise.all([cleared, afterClear]);
    expect(spool.read()).toEqual([{ i: 4 }]);
    await spool.clear();
    expect(spool.isEmpty).toBe(true);
    expect(spool.read()).toEqual([]);
    await spool.replace([]);
    expect(spool.isEmpty).toBe(true);
  });

  it('a failed append rejects and leaves the spool usable', async () => {
    const path = fresh();
    const spool = new SpoolFile<{ big?: bigint; i?: number }>(path);
    await expect(spool.append([{ big: 1n }])).rejects.toThrow(/BigInt/);
    await spool.append([{ i: 1 }]);
    expect(spool.read()).toEqual([{ i: 1 }]);
    await spool.close();
  });

  it('with overwrite, a write that reports failure after its bytes landed is never written over: later appends reject', async () => {
    const path = fresh();
    const earlier = new SpoolFile<Entry>(path);
    await earlier.append([{ i: 100 }, { i: 101 }, { i: 102 }]);
    await earlier.close();
    const recycled = new SpoolFile<Entry>(path, { overwrite: true });
    await recycled.append([{ i: 0 }]);
    const handle = await open(path, 'r');
    const proto = Object.getPrototypeOf(handle) as { write: (...args: unknown[]) => Promise<unknown> };
    await handle.close();
    const write = proto.write;
    const failing = vi.spyOn(proto, 'write').mockImplementationOnce(async function (this: unknown, ...args: unknown[]) {
      await write.apply(this, args);
      throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
    });
    try {
      await expect(recycled.append([{ i: 1 }])).rejects.toThrow(/EIO/);
    } finally {
      failing.mockRestore();
    }
    await expect(recycled.append([{ i: 2 }])).rejects.toThrow(/an earlier write failed/);
    // What landed stays: a reader sees the failed append's line, not a later one written over it.
    expect(recycled.readLines().slice(0, 2)).toEqual(['{"i":0}', '{"i":1}']);
    await recycled.close();
  });

  it('writeFileDurably replaces a file whole', async () => {
    const path = join(root, 'witness.txt');
    await writeFileDurably(path, 'one\n');
    await writeFileDurably(path, 'two\n');
    expect(readFileSync(path, 'utf8')).toBe('two\n');
  });
});
