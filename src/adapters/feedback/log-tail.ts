// Follows a growing log file as `tail -F` does, in complete lines, through rotation. Positions are
// (inode, byte offset just after a newline), so a caller that stores the position of each batch
// it has handled can resume there after a restart.

import { open, stat, type FileHandle } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** A place in a file: which file (its inode) and the byte after the last line handled. */
export interface TailPosition {
  inode: string;
  offset: number;
}

/** What the tail yields: complete lines with the position after them, or word that it has caught up. */
export type TailItem = { kind: 'lines'; lines: string[]; position: TailPosition } | { kind: 'idle'; position: TailPosition };

export interface TailOptions {
  /** Where a previous run stopped; ignored if the file at the path is another one now. */
  start: TailPosition | null;
  pollMs: number;
  signal: AbortSignal;
  /** Lines per batch at most. */
  maxLines?: number;
}

const CHUNK = 1 << 20;

interface OpenFile {
  handle: FileHandle;
  /** One read buffer per file, reused: lines leave it as strings before the next read. */
  buf: Buffer;
  inode: string;
  offset: number;
  /** Inside a line longer than a chunk: bytes are dropped until its end. */
  skipping: boolean;
}

/**
 * Yields the lines of `path` from `start` (or its beginning), then those appended, until the
 * signal aborts. Only complete lines: a partial last line waits for its newline. When the path
 * names a new, non-empty file (rename rotation) the old one is read to its end first; when the
 * file shrinks (copytruncate) it is read again from 0. On start, a stored position in a file
 * rotated meanwhile to `<path>.1` is finished there first.
 */
export async function* tailFile(path: string, opts: TailOptions): AsyncGenerator<TailItem> {
  const maxLines = opts.maxLines ?? 500;
  let file = await openAt(path, 0);
  try {
    if (opts.start && opts.start.inode === file.inode) {
      file.offset = (await isLineStart(file.handle, opts.start.offset)) ? opts.start.offset : 0;
    } else if (opts.start) {
      const rotated = await openAt(`${path}.1`, 0).catch(() => null);
      try {
        if (rotated && rotated.inode === opts.start.inode && (await isLineStart(rotated.handle, opts.start.offset))) {
          rotated.offset = opts.start.offset;
          yield* readAvailable(rotated, maxLines, true);
        }
      } finally {
        await rotated?.handle.close();
      }
    }
    while (!opts.signal.aborted) {
      const size = (await file.handle.stat()).size;
      if (size < file.offset || (size > file.offset && !file.skipping && !(await isLineStart(file.handle, file.offset)))) {
        // Truncated in place (copytruncate), perhaps already written again: start over.
        file.offset = 0;
        file.skipping = false;
      }
      yield* readAvailable(file, maxLines, false);
      const current = await stat(path, { bigint: true }).catch(() => null);
      if (current && String(current.ino) !== file.inode && current.size > 0n) {
        // Rotated, and the writer has moved to the new file: finish the old one, then switch.
        yield* readAvailable(file, maxLines, true);
        // Gone again between the look and the open: try at the next poll.
        const next = await openAt(path, 0).catch(() => null);
        if (next) {
          await file.handle.close();
          file = next;
          continue;
        }
      }
      yield { kind: 'idle', position: { inode: file.inode, offset: file.offset } };
      await sleep(opts.pollMs, undefined, { signal: opts.signal }).catch(() => undefined);
    }
  } finally {
    await file.handle.close();
  }
}

async function openAt(path: string, offset: number): Promise<OpenFile> {
  const handle = await open(path, 'r');
  try {
    const st = await handle.stat({ bigint: true });
    if (!st.isFile()) throw Object.assign(new Error(`${path} is not a file`), { code: 'ENOTFILE' });
    return { handle, buf: Buffer.allocUnsafe(CHUNK), inode: String(st.ino), offset, skipping: false };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

// Stored offsets are always just after a newline; anything else means the file is not the one
// the offset was taken in.
async function isLineStart(handle: FileHandle, offset: number): Promise<boolean> {
  if (offset === 0) return true;
  const b = Buffer.alloc(1);
  const { bytesRead } = await handle.read(b, 0, 1, offset - 1);
  return bytesRead === 1 && b[0] === 0x0a;
}

// Reads from the file's offset to its end in complete lines; `final` also takes a last line
// without a newline (the file will not grow any more). The offset moves past each batch as it
// is handed out.
async function* readAvailable(file: OpenFile, maxLines: number, final: boolean): AsyncGenerator<TailItem> {
  const buf = file.buf;
  for (;;) {
    const base = file.offset;
    const { bytesRead } = await file.handle.read(buf, 0, CHUNK, base);
    if (bytesRead === 0) return;
    let start = 0;
    let lines: string[] = [];
    const take = (): TailItem => {
      file.offset = base + start;
      const item: TailItem = { kind: 'lines', lines, position: { inode: file.inode, offset: file.offset } };
      lines = [];
      return item;
    };
    for (;;) {
      const nl = buf.indexOf(0x0a, start);
      if (nl === -1 || nl >= bytesRead) break;
      if (file.skipping) file.skipping = false;
      else lines.push(lineOf(buf, start, nl));
      start = nl + 1;
      if (lines.length >= maxLines) yield take();
    }
    if (start === 0 && bytesRead === CHUNK) {
      // One line longer than a chunk: no mail.log line is; drop it rather than stall on it.
      file.skipping = true;
      start = bytesRead;
    } else if (final && start < bytesRead && bytesRead < CHUNK) {
      if (!file.skipping) lines.push(lineOf(buf, start, bytesRead));
      start = bytesRead;
    }
    if (lines.length > 0) yield take();
    else file.offset = base + start;
    if (start === 0) return;
  }
}

function lineOf(buf: Buffer, start: number, end: number): string {
  return buf.toString('utf8', start, end > start && buf[end - 1] === 0x0d ? end - 1 : end);
}
