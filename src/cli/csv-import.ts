import { accessSync, constants, createReadStream, createWriteStream, openSync, statSync, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { App } from '../app.ts';
import { AppError, invalid } from '../lib/errors.ts';
import { withApp, type CliIo } from './io.ts';

// What every CSV import command (contacts, orders, products) shares: its options checked before the
// database is opened, so a typo costs nothing and says what is wrong, and one way to run.

// A shell cannot easily pass a tab, so "tab" and "\\t" name it.
export function parseDelimiter(value: string): string {
  const d = value === 'tab' || value === '\\t' ? '\t' : value;
  if ([...d].length !== 1 || d === '"' || d === '\n' || d === '\r') throw invalid('--delimiter', `"${value}" is not one character (use e.g. ";" or tab)`);
  return d;
}

/** The size of a file the command is to read, or an error naming why it cannot be read. */
export function readableFileSize(file: string): number {
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('it is not a file');
    accessSync(file, constants.R_OK);
    return st.size;
  } catch (err) {
    throw invalid('file', `cannot read "${file}": ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

// Opened at once so that a wrong path fails before any work, not as an unhandled stream error.
export function openForWriting(option: string, file: string): WriteStream {
  try {
    return createWriteStream(file, { fd: openSync(file, 'w') });
  } catch (err) {
    throw invalid(option, `cannot write "${file}": ${(err as Error).message}`);
  }
}

/**
 * Runs one import: opens the --rejects file (if any), the app and the input (`-` is standard
 * input), and hands them to `run`. An AppError from `run` means the file was refused before any
 * row was stored: said on stderr, exit code 2. The rejects file is closed in every case.
 */
export async function runCsvImport(io: CliIo, file: string, rejectsFile: string | undefined, run: (app: App, input: Readable, rejects: WriteStream | undefined) => Promise<void>): Promise<void> {
  const rejects = rejectsFile ? openForWriting('--rejects', rejectsFile) : undefined;
  try {
    await withApp(io, async (app) => {
      const input = file === '-' ? ((io.stdin ?? process.stdin) as Readable) : createReadStream(file);
      try {
        await run(app, input, rejects);
      } catch (err) {
        if (!(err instanceof AppError)) throw err;
        input.destroy();
        io.stderr.write(`import refused: ${err.message}\nnothing was stored.\n`);
        io.exitCode = 2;
      }
    });
  } finally {
    if (rejects) await new Promise<void>((r) => rejects.end(r));
  }
}
