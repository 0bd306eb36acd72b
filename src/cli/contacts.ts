import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { invalid } from '../lib/errors.ts';
import { exportContactsCsv } from '../services/contact-exports.ts';
import { importContactsCsv } from '../services/contact-imports.ts';
import { withApp, type CliIo } from './io.ts';
import { ProgressBar } from './progress.ts';

function collectMapping(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.lastIndexOf('=');
  if (eq <= 0) throw invalid('--map', `"${value}" is not HEADER=field`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** `chapar contacts import FILE.csv` and `chapar contacts export`. */
export function registerContacts(program: Command, io: CliIo): void {
  const contacts = program.command('contacts').description('import and export contacts');
  contacts
    .command('import')
    .description('import contacts from a CSV file (UTF-8, header line first)')
    .argument('<file>', 'the CSV file, or - for standard input')
    .option('--map <header=field>', 'map a header to a field: email, first_name, last_name, locale, timezone, currency, phone, attr.<name>, topic.<key>, external_id.<source>, ignore (repeatable)', collectMapping, {})
    .option('--delimiter <char>', 'field delimiter', ',')
    .option('--consent-wording <text>', 'the consent text people agreed to (stored with every topic status the file sets)')
    .option('--consent-version <id>', 'the version id of that consent text')
    .option('--rejects <file>', 'write every rejected line (number and reason) to this CSV file')
    .option('--quiet', 'no progress display')
    .addHelpText(
      'after',
      `
Columns are recognised by name (email, first_name, last_name, locale, timezone, currency,
phone, attributes as JSON, external_id.<source>); any other column becomes a custom attribute.
A column topic.<key> (values: subscribed/unsubscribed/pending, or yes/no) sets the contact's
status on that topic and writes the consent log with source "import"; without such columns no
consent is recorded. Optional per-row evidence: consent_wording, consent_version, consent_ip.
Existing contacts (same address) are updated; empty cells leave stored values as they are.`,
    )
    .action(async (file: string, opts: { map: Record<string, string>; delimiter: string; consentWording?: string; consentVersion?: string; rejects?: string; quiet?: boolean }) => {
      await withApp(io, async (app) => {
        const input = file === '-' ? ((io.stdin ?? process.stdin) as Readable) : createReadStream(file);
        const total = file === '-' ? undefined : statSync(file).size;
        const bar = opts.quiet ? undefined : new ProgressBar(io.stderr, total, 'rows');
        const rejects = opts.rejects ? createWriteStream(opts.rejects) : undefined;
        rejects?.write('line,reason\n');
        let shown = 0;
        const report = await importContactsCsv(
          app.ctx,
          input,
          { mapping: opts.map, delimiter: opts.delimiter, consentWording: opts.consentWording, consentVersion: opts.consentVersion },
          {
            onRejected(line, reason) {
              rejects?.write(`${line},"${reason.replace(/"/g, '""')}"\n`);
              if (!rejects && shown++ < 20) io.stderr.write(`${bar && io.stderr.isTTY ? '\r\x1b[K' : ''}line ${line}: ${reason}\n`);
            },
            onProgress: (p) => bar?.update(p.bytes, p.rows),
          },
        );
        bar?.update(report.bytes, report.rows, true);
        bar?.finish();
        if (rejects) await new Promise<void>((r) => rejects.end(r));
        const more = !rejects && report.rejected > 20 ? ` (first 20 shown; use --rejects FILE for all)` : '';
        io.stdout.write(
          `${report.rows} rows read: ${report.stored} stored (${report.created} created, ${report.updated} updated), ${report.rejected} rejected${more}, ${report.consentChanges} consent changes\n`,
        );
        if (report.error) {
          io.stderr.write(`import stopped: ${report.error.message}\n${report.stored} rows were stored before it stopped.\n`);
          io.exitCode = 1;
        } else if (report.rejected > 0) io.exitCode = 3;
      });
    });
  contacts
    .command('export')
    .description('export every contact with topic statuses as CSV (streams; any number of contacts)')
    .option('--out <file>', 'write to this file instead of standard output')
    .action(async (opts: { out?: string }) => {
      await withApp(io, async (app) => {
        await pipeline(exportContactsCsv(app.ctx), opts.out ? createWriteStream(opts.out) : io.stdout, { end: !!opts.out });
      });
    });
}
