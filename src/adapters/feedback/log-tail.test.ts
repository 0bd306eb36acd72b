import { appendFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tailFile, type TailItem, type TailPosition } from './log-tail.ts';

const dir = mkdtempSync(join(tmpdir(), 'chapar-tail-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Everything the tail yields up to its first idle (the file read to its end), then stops it. */
async function readToIdle(path: string, start: TailPosition | null, maxLines?: number): Promise<TailItem[]> {
  const stop = new AbortController();
  const items: TailItem[] = [];
  for await (const item of tailFile(path, { start, pollMs: 5, signal: stop.signal, maxLines })) {
    items.push(item);
    if (item.kind === 'idle') stop.abort();
  }
  return items;
}
const inodeOf = (path: string) => String(statSync(path, { bigint: true }).ino);

describe('tailFile', () => {
  it('yields complete lines in batches, each with the position after its last newline; CRLF is trimmed', async () => {
    const path = join(dir, 'batches.log');
    writeFileSync(path, 'one\r\ntwo\nthree\nfour\nfive\npartial');
    const inode = inodeOf(path);
    expect(await readToIdle(path, null, 2)).toEqual([
      { kind: 'lines', lines: ['one', 'two'], position: { inode, offset: 9 } },
      { kind: 'lines', lines: ['three', 'four'], position: { inode, offset: 20 } },
      { kind: 'lines', lines: ['five'], position: { inode, offset: 25 } },
      { kind: 'idle', position: { inode, offset: 25 } },
    ]);
  });

  it('resumes at a stored position in the same file, and starts over when the position is not a line start or the file another', async () => {
    const path = join(dir, 'resume.log');
    writeFileSync(path, 'one\ntwo\nthree\n');
    const inode = inodeOf(path);
    expect((await readToIdle(path, { inode, offset: 8 }))[0]).toEqual({ kind: 'lines', lines: ['three'], position: { inode, offset: 14 } });
    expect((await readToIdle(path, { inode, offset: 6 }))[0]).toMatchObject({ lines: ['one', 'two', 'three'] });
    expect((await readToIdle(path, { inode, offset: 400 }))[0]).toMatchObject({ lines: ['one', 'two', 'three'] });
    expect((await readToIdle(path, { inode: '1', offset: 8 }))[0]).toMatchObject({ lines: ['one', 'two', 'three'] });
  });

  it('drops a line longer than its read buffer instead of stalling on it', async () => {
    const path = join(dir, 'long.log');
    writeFileSync(path, `before\n${'x'.repeat(3 * 1024 * 1024)}\nafter\n`);
    const items = await readToIdle(path, null);
    expect(items.flatMap((i) => (i.kind === 'lines' ? i.lines : []))).toEqual(['before', 'after']);
    expect(items.at(-1)).toEqual({ kind: 'idle', position: { inode: inodeOf(path), offset: statSync(path).size } });
  });

  it('reads nothing from an empty file and an unfinished line', async () => {
    const path = join(dir, 'empty.log');
    writeFileSync(path, '');
    expect(await readToIdle(path, null)).toEqual([{ kind: 'idle', position: { inode: inodeOf(path), offset: 0 } }]);
    appendFileSync(path, 'no newline yet');
    expect(await readToIdle(path, null)).toEqual([{ kind: 'idle', position: { inode: inodeOf(path), offset: 0 } }]);
  });

  it('fails at once for a missing file', async () => {
    await expect(readToIdle(join(dir, 'missing.log'), null)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
