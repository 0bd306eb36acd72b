import type { Db } from '../db/database.ts';
import type { Topic } from '../domain/consent.ts';
import { AppError } from '../lib/errors.ts';
import { storePackedBatch } from './contact-batches.ts';
import { describeErrors, readRowPieces, type RowReadOptions } from './contact-import-rows.ts';
import { readRowPiecesInWorker } from './contact-import-thread.ts';
import type { ServiceContext } from './context.ts';
import { resolveColumn, type ColumnTarget } from './csv-columns.ts';
import { CsvReadError } from './csv-records.ts';
import { joinPackedRows, type PackedRows } from './packed-rows.ts';
import { resolveTopics } from './topics.ts';

export interface ImportOptions {
  /** Header → target, for headers that are not recognised by name (e.g. `{"E-Mail Adresse": "email"}`). */
  mapping?: Record<string, string>;
  /** One character; default `,`. */
  delimiter?: string;
  /** Consent evidence for topic columns when the row has no consent_* columns of its own. */
  consentWording?: string;
  consentVersion?: string;
  /** Rows per transaction (fewer when rows are big: a batch ends after ~4 MB of the file). */
  batchSize?: number;
  /**
   * Parse and validate in a worker thread while this one writes: faster for big files on a
   * machine with a spare core; starting the thread costs a few hundred milliseconds.
   */
  parseInWorker?: boolean;
}

export interface ImportProgress {
  bytes: number;
  rows: number;
  stored: number;
  rejected: number;
}

export interface ImportReport extends ImportProgress {
  created: number;
  updated: number;
  consentChanges: number;
  /** Set when the file could not be read to its end; every row before `line` was handled as counted above. */
  error?: { message: string; line?: number };
}

export interface ImportHooks {
  onRejected?(line: number, reason: string): void;
  onProgress?(p: ImportProgress): void;
}

/**
 * Imports contacts from a CSV byte stream, one batch transaction at a time, so a file of any size
 * streams through in constant memory. Rejected lines are reported with their number and reason
 * while good lines are stored. A problem in the header (no email column, an unknown topic, a
 * mapping for a header the file lacks, an empty file) is thrown as validation_failed before
 * anything is stored; a problem further on (broken encoding, a quote never closed) stops the
 * import with `report.error`, after every row before it has been stored.
 */
export async function importContactsCsv(ctx: ServiceContext, input: AsyncIterable<Buffer | string>, opts: ImportOptions = {}, hooks: ImportHooks = {}): Promise<ImportReport> {
  const report: ImportReport = { bytes: 0, rows: 0, stored: 0, rejected: 0, created: 0, updated: 0, consentChanges: 0 };
  const reject = (line: number, reason: string) => {
    report.rejected++;
    hooks.onRejected?.(line, reason);
  };
  let sawHeader = false;
  let topics = new Map<string, Topic>();
  // The pieces of the batch being filled.
  let batch: PackedRows[] = [];
  // Rows per transaction: big enough that commits are not the cost, small enough to bound memory.
  const batchSize = opts.batchSize ?? 5000;
  const flush = async () => {
    if (batch.length === 0) return;
    const now = ctx.clock.now();
    const rows = joinPackedRows(batch);
    batch = [];
    const outcome = await storePackedBatch(ctx.db, rows, topics, now);
    // Two lines with one new address both report the new contact; it was created once.
    report.stored += outcome.stored.length;
    report.created += outcome.created;
    report.updated += outcome.stored.length - outcome.created;
    report.consentChanges += outcome.consentChanges;
    for (const r of outcome.rejected) reject(r.index, describeErrors(r.errors));
    hooks.onProgress?.({ bytes: report.bytes, rows: report.rows, stored: report.stored, rejected: report.rejected });
  };
  const resolveColumns = async (header: string[]) => {
    const columns = resolveHeader(header, opts.mapping ?? {});
    topics = await resolveHeaderTopics(ctx.db, columns);
    sawHeader = true;
    return columns;
  };
  const readOpts: RowReadOptions = { delimiter: opts.delimiter ?? ',', batchSize, consentWording: opts.consentWording, consentVersion: opts.consentVersion };

  let stop: CsvReadError | undefined;
  try {
    const pieces = opts.parseInWorker ? readRowPiecesInWorker(input, readOpts, resolveColumns) : readRowPieces(input, readOpts, resolveColumns);
    for await (const piece of pieces) {
      report.bytes = piece.bytes;
      report.rows += piece.read;
      for (const r of piece.rejects) reject(r.line, r.reason);
      // Batches end where the reader says, so they are the same whichever thread parses.
      if (piece.rows.index.length > 0) batch.push(piece.rows);
      if (piece.endsBatch) await flush();
    }
  } catch (err) {
    if (!(err instanceof CsvReadError)) throw err;
    stop = err;
  }
  if (!sawHeader && !stop) throw new AppError('validation_failed', 'the file is empty: expected a header line with an email column', [{ field: 'line 1', message: 'is missing' }]);
  await flush();
  if (stop) report.error = { message: stop.message, line: stop.line };
  return report;
}

function resolveHeader(header: string[], mapping: Record<string, string>): ColumnTarget[] {
  const problems: string[] = [];
  const columns = header.map((h, i) => {
    // A column without a name (a trailing delimiter in the header) cannot say what it holds.
    if (h.trim() === '') return { kind: 'ignore' } as const;
    const t = resolveColumn(h.trim(), mapping);
    if (typeof t === 'string') problems.push(`column ${i + 1} ("${h}"): ${t}`);
    return typeof t === 'string' ? ({ kind: 'ignore' } as const) : t;
  });
  const names = new Set(header.map((h) => h.trim()));
  for (const from of Object.keys(mapping)) {
    if (!names.has(from)) problems.push(`the mapping "${from}=${mapping[from]}" names no column of this file`);
  }
  const emails = columns.filter((c) => c.kind === 'email').length;
  if (emails === 0) problems.push(`no email column: the header is ${header.map((h) => `"${h}"`).join(', ')}; name one "email" or map it (e.g. --map "E-Mail Adresse=email")`);
  if (emails > 1) problems.push('more than one column maps to email');
  if (problems.length > 0) throw headerError(problems);
  return columns;
}

async function resolveHeaderTopics(db: Db, columns: readonly ColumnTarget[]): Promise<Map<string, Topic>> {
  try {
    return await resolveTopics(db, columns.flatMap((c) => (c.kind === 'topic' ? [c.key] : [])), 'topic.');
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    throw headerError([`${err.message}; create ${err.details.length > 1 ? 'them' : 'it'} first or remove the column${err.details.length > 1 ? 's' : ''} ${err.details.map((d) => `"${d.field}"`).join(', ')}`]);
  }
}

function headerError(problems: string[]): AppError {
  return new AppError('validation_failed', `line 1 (header): ${problems.join('; ')}`, problems.map((m) => ({ field: 'line 1', message: m })));
}
