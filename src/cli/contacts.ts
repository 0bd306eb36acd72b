import type { WriteStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { invalid } from '../lib/errors.ts';
import { exportContactsCsv } from '../services/contact-exports.ts';
import { importContactsCsv, type ImportHooks, type ImportReport } from '../services/contact-imports.ts';
import { openForWriting, parseDelimiter, readableFileSize, runCsvImport } from './csv-import.ts';
import { withApp, type CliIo } from './io.ts';
import { ProgressBar } from './progress.ts';

function collectMapping(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.lastIndexOf('=');
  if (eq <= 0) throw invalid('--map', `"${value}" is not HEADER=field`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function parseThreads(value: string): number {
  if (value !== '1' && value !== '2') throw invalid('--threads', `"${value}" is not 1 or 2`);
  return Number(value);
}

/** Files above this size are parsed in a second thread by default. */
const WORKER_MIN_BYTES = 1_000_000;

// Standard output may be any object with write() (tests pass one); only a real stream has 'drain'
// and 'error'. A reader that stops early (`chapar contacts export | head`) is not a failure.
async function writeAll(source: Readable, out: CliIo['stdout']): Promise<void> {
  const stream = typeof (out as Partial<Writable>).once === 'function' ? (out as Writable) : undefined;
  let failure: unknown;
  // Left attached: an EPIPE can arrive after the last write, and unheard it would crash the process.
  stream?.on('error', (err) => (failure ??= err));
  try {
    for await (const chunk of source) {
      if (failure) break;
      if (!out.write(chunk as string) && stream) await once(stream, 'drain');
    }
  } catch (err) {
    failure ??= err;
  }
  if (failure && (failure as NodeJS.ErrnoException).code !== 'EPIPE') throw failure;
}

// Rejected lines go to the --rejects file, or the first 20 to stderr.
function importHooks(io: CliIo, bar: ProgressBar | undefined, rejects: WriteStream | undefined): ImportHooks {
  if (rejects) rejects.write('line,reason\n');
  let shown = 0;
  return {
    onRejected(line, reason) {
      if (rejects) rejects.write(stringify([[line, reason]]));
      else if (shown++ < 20) io.stderr.write(`${bar && io.stderr.isTTY ? '\r\x1b[K' : ''}line ${line}: ${reason}\n`);
    },
    onProgress: (p) => bar?.update(p.bytes, p.rows),
  };
}

// The summary goes to stdout; a stop goes to stderr. Exit code 1 for a stop, 3 for rejected rows.
function printImportReport(io: CliIo, report: ImportReport, bar: ProgressBar | undefined, rejectsToFile: boolean): void {
  bar?.update(report.bytes, report.rows, true);
  bar?.finish();
  const more = !rejectsToFile && report.rejected > 20 ? ` (first 20 shown; use --rejects FILE for all)` : '';
  io.stdout.write(
    `${report.rows} rows read: ${report.stored} stored (${report.created} created, ${report.updated} updated), ${report.rejected} rejected${more}, ${report.consentChanges} consent changes\n`,
  );
  if (report.error) {
    io.stderr.write(`import stopped: ${report.error.message}\n${report.stored} rows were stored before it stopped.\n`);
    io.exitCode = 1;
  } else if (report.rejected > 0) io.exitCode = 3;
}

/** `chapar contacts import FILE.csv` and `chapar contacts export`. */
export function registerContacts(program: Command, io: CliIo): void {
  const contacts = program.command('contacts').description('import and export contacts');
  contacts
    .command('import')
    .description('import contacts from a CSV file (UTF-8, header line first)')
    .argument('<file>', 'the CSV file, or - for standard input')
    .option('--map <header=field>', 'map a header to a field: email, first_name, last_name, locale, timezone, currency, phone, attr.<name>, topic.<key>, external_id.<source>, ignore (repeatable)', collectMapping, {})
    .option('--delimiter <char>', 'field delimiter: one character, or tab', ',')
    .option('--consent-wording <text>', 'the consent text people agreed to (stored with every topic status the file sets)')
    .option('--consent-version <id>', 'the version id of that consent text')
    .option('--rejects <file>', 'write every rejected line (number and reason) to this CSV file')
    .option('--quiet', 'no progress display')
    .option('--threads <n>', 'threads: 2 parses and checks rows in a second thread while the first writes them; 1 does both in one (default: 2 for files over 1 MB and standard input, else 1)', parseThreads)
    .addHelpText(
      'after',
      `
Columns are recognised by name (email, first_name, last_name, locale, timezone, currency,
phone, attributes as JSON, external_id.<source>); any other column becomes a custom attribute.
A column topic.<key> (values: subscribed/unsubscribed/pending, or yes/no) sets the contact's
status on that topic and writes the consent log with source "import"; without such columns no
consent is recorded. Optional per-row evidence: consent_wording, consent_version, consent_ip.
Existing contacts (same address) are updated; empty cells leave stored values as they are.
Columns without a name are ignored. Line endings may be LF or CRLF; a UTF-8 BOM is skipped.

Exit codes: 0 every row stored; 3 some rows rejected (the others are stored); 1 the import
stopped part way (broken encoding, a quote never closed; the rows before it are stored);
2 nothing was done (bad options, or a header problem such as no email column).`,
    )
    .action(async (file: string, opts: { map: Record<string, string>; delimiter: string; consentWording?: string; consentVersion?: string; rejects?: string; quiet?: boolean; threads?: number }) => {
      const delimiter = parseDelimiter(opts.delimiter);
      // Checked before the database is opened, so a typo costs nothing and says what is wrong.
      const total = file === '-' ? undefined : readableFileSize(file);
      // A second thread pays for its start (~0.3 s) only on a big file; standard input may be one.
      const parseInWorker = (opts.threads ?? (total === undefined || total > WORKER_MIN_BYTES ? 2 : 1)) === 2;
      await runCsvImport(io, file, opts.rejects, async (app, input, rejects) => {
        const bar = opts.quiet ? undefined : new ProgressBar(io.stderr, total, 'rows');
        const options = { mapping: opts.map, delimiter, consentWording: opts.consentWording, consentVersion: opts.consentVersion, parseInWorker };
        printImportReport(io, await importContactsCsv(app.ctx, input, options, importHooks(io, bar, rejects)), bar, !!rejects);
      });
    });
  contacts
    .command('export')
    .description('export every contact with topic statuses as CSV (streams; any number of contacts)')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (opts: { out?: string }) => {
      const out = opts.out ? openForWriting('--out', opts.out) : undefined;
      await withApp(io, async (app) => {
        if (out) await pipeline(exportContactsCsv(app.ctx), out);
        else await writeAll(exportContactsCsv(app.ctx), io.stdout);
      });
    });
}
