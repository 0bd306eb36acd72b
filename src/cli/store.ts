import type { WriteStream } from 'node:fs';
import type { Command } from 'commander';
import { stringify } from 'csv-stringify/sync';
import { STORE_SOURCES, type StoreSource } from '../domain/store.ts';
import { invalid } from '../lib/errors.ts';
import type { ServiceContext } from '../services/context.ts';
import { ORDER_COLUMNS, PRODUCT_COLUMNS } from '../services/store-csv-rows.ts';
import { importOrdersCsv, importProductsCsv, type StoreImportHooks, type StoreImportOptions, type StoreImportReport } from '../services/store-imports.ts';
import { parseDelimiter, readableFileSize, runCsvImport } from './csv-import.ts';
import type { CliIo } from './io.ts';

type Importer = (ctx: ServiceContext, input: AsyncIterable<Buffer | string>, opts: StoreImportOptions, hooks: StoreImportHooks) => Promise<StoreImportReport>;

interface ImportFlags {
  delimiter: string;
  source: string;
  rejects?: string;
}

// Rejected lines and warnings go to the --rejects file (kind, line, reason), or the first 20 to stderr.
function hooksFor(io: CliIo, rejects: WriteStream | undefined): StoreImportHooks {
  rejects?.write('kind,line,reason\n');
  let shown = 0;
  const say = (kind: string, line: number, reason: string) => {
    if (rejects) rejects.write(stringify([[kind, line, reason]]));
    else if (shown++ < 20) io.stderr.write(`line ${line}${kind === 'warning' ? ' (warning)' : ''}: ${reason}\n`);
  };
  return { onRejected: (line, reason) => say('rejected', line, reason), onWarning: (line, reason) => say('warning', line, reason) };
}

/** Runs one import command: exit 0 all stored, 3 some lines rejected, 1 stopped part way, 2 nothing done. */
async function runImportCommand(io: CliIo, file: string, flags: ImportFlags, noun: string, importer: Importer): Promise<void> {
  const delimiter = parseDelimiter(flags.delimiter);
  if (!STORE_SOURCES.includes(flags.source as StoreSource)) throw invalid('--source', `"${flags.source}" is not one of ${STORE_SOURCES.join(', ')}`);
  if (file !== '-') readableFileSize(file);
  await runCsvImport(io, file, flags.rejects, async (app, input, rejects) => {
    const report = await importer(app.ctx, input, { delimiter, source: flags.source as StoreSource }, hooksFor(io, rejects));
    const more = !rejects && report.rejected + report.warnings > 20 ? ' (first 20 shown; use --rejects FILE for all)' : '';
    io.stdout.write(`${report.rows} rows read: ${report.stored} ${noun} stored, ${report.rejected} rows rejected, ${report.warnings} warnings${more}\n`);
    if (report.error) {
      io.stderr.write(`import stopped: ${report.error.message}\nthe ${noun} before it were stored.\n`);
      io.exitCode = 1;
    } else if (report.rejected > 0) io.exitCode = 3;
  });
}

function importCommand(parent: Command, io: CliIo, noun: string, columns: readonly string[], help: string, importer: Importer): void {
  parent
    .command('import')
    .description(`import ${noun} from a CSV file (UTF-8, header line first)`)
    .argument('<file>', 'the CSV file, or - for standard input')
    .option('--delimiter <char>', 'field delimiter: one character, or tab', ',')
    .option('--source <source>', `whose ids the file holds: ${STORE_SOURCES.join(', ')} (rows land on that source's ${noun})`, 'csv')
    .option('--rejects <file>', 'write every rejected line and warning (kind, line, reason) to this CSV file')
    .addHelpText('after', `\nColumns: ${columns.join(', ')}.\n${help}\n\nExit codes: 0 every row stored; 3 some rows rejected (the others are stored); 1 the import\nstopped part way (the rows before it are stored); 2 nothing was done (bad options or header).`)
    .action((file: string, flags: ImportFlags) => runImportCommand(io, file, flags, noun, importer));
}

/** `chapar orders import FILE.csv` and `chapar products import FILE.csv`. */
export function registerStore(program: Command, io: CliIo): void {
  const orders = program.command('orders').description('store orders');
  importCommand(
    orders,
    io,
    'orders',
    ORDER_COLUMNS,
    `One order line a row; the rows of one order (same order_id) follow each other and repeat its
order fields. Required: order_id, status, currency, total, ordered_at; a contact is found or
created by email (or customer_id). Times: 2026-11-01 or 2026-11-01T10:00:00Z (no zone: UTC).
coupon_codes: separated by |. An order with a bad line is rejected whole.`,
    importOrdersCsv,
  );
  const products = program.command('products').description('store products');
  importCommand(products, io, 'products', PRODUCT_COLUMNS, 'Required: product_id, name. categories: separated by |. in_stock: yes or no.', importProductsCsv);
}
