import type { ConsentEvidence, SubscriptionStatus } from '../domain/consent.ts';
import { validateContactInput, type ContactInput } from '../domain/contacts.ts';
import type { ErrorDetail } from '../lib/errors.ts';
import type { BatchRow } from './contact-batches.ts';
import { parseAttributeCell, parseTopicCell, type ColumnTarget } from './csv-columns.ts';
import { CsvReadError, readCsvRecords } from './csv-records.ts';
import { PackedRowsBuilder, type PackedRows } from './packed-rows.ts';

// The pure half of a CSV import: records in, validated rows and rejected lines out. It touches no
// database, so it runs in the importing thread or in a worker thread (contact-import-thread.ts).

/** How a CSV file's lines become rows. Plain data: it is sent to a worker thread as it is. */
export interface RowReadOptions {
  /** One character. */
  delimiter: string;
  /** Rows per database batch: a piece ends where a batch fills. */
  batchSize: number;
  /** Consent evidence for topic columns when the row has no consent_* columns of its own. */
  consentWording?: string;
  consentVersion?: string;
}

/** The rows and rejected lines read since the previous piece, in file order. */
export interface RowPiece {
  /** Valid rows, packed. */
  rows: PackedRows;
  rejects: { line: number; reason: string }[];
  /** The rows since the last batch ended make a batch now: store them (one transaction). */
  endsBatch: boolean;
  /** Data lines read in this piece (rows, rejected or not; empty lines not counted). */
  read: number;
  /** Bytes of the file read so far. */
  bytes: number;
}

/** Decides what the header's columns feed; may throw (nothing is read after it). */
export type ResolveColumns = (header: string[]) => Promise<ColumnTarget[]>;

// A batch also ends after this much of the file, so that one of huge rows stays small in memory.
const MAX_BATCH_BYTES = 4 << 20;

/**
 * Reads a CSV byte stream as pieces of validated rows. A piece ends where a batch ends (at
 * `batchSize` rows, or sooner after 4 MB of the file), when rejected lines pile up, and at the
 * end; its consumer stores each batch as it ends, so either thread holds at most one batch.
 * A CsvReadError (broken encoding, a quote never closed) is thrown after a last piece with
 * every row before the problem.
 */
export async function* readRowPieces(input: AsyncIterable<Buffer | string>, opts: RowReadOptions, resolveColumns: ResolveColumns): AsyncGenerator<RowPiece> {
  let columns: ColumnTarget[] | undefined;
  const rows = new PackedRowsBuilder();
  // Shared by every row without consent columns of its own (copied between threads once a piece).
  const evidence: ConsentEvidence = { source: 'import', wording: opts.consentWording ?? null, wordingVersion: opts.consentVersion ?? null };
  let piece = { rejects: [] as RowPiece['rejects'], read: 0 };
  let bytes = 0;
  // The batch being filled, which may span pieces: its rows and where in the file it began.
  let inBatch = 0;
  let batchStart = 0;
  const take = (endsBatch: boolean): RowPiece => {
    const p = { rows: rows.take(), ...piece, endsBatch, bytes };
    piece = { rejects: [], read: 0 };
    if (endsBatch) {
      inBatch = 0;
      batchStart = bytes;
    }
    return p;
  };
  try {
    for await (const records of readCsvRecords(input, { delimiter: opts.delimiter, onBytes: (n) => (bytes = n) })) {
      for (const { fields, line } of records) {
        if (!columns) {
          columns = await resolveColumns(fields);
          continue;
        }
        // A row of empty cells (spreadsheets write them as ",,,") carries nothing to import.
        if (isBlank(fields)) continue;
        piece.read++;
        // Spreadsheets pad some rows with trailing delimiters; empty extra cells lose nothing.
        while (fields.length > columns.length && fields[fields.length - 1] === '') fields.pop();
        const row = fields.length === columns.length ? toBatchRow(fields, columns, line, evidence) : `has ${fields.length} fields but the header has ${columns.length}`;
        if (typeof row === 'string') {
          piece.rejects.push({ line, reason: row });
          if (piece.rejects.length >= opts.batchSize) yield take(false);
          continue;
        }
        rows.add(row);
        if (++inBatch >= opts.batchSize || bytes - batchStart > MAX_BATCH_BYTES) yield take(true);
      }
    }
  } catch (err) {
    if (!(err instanceof CsvReadError)) throw err;
    yield take(true);
    throw err;
  }
  yield take(true);
}

function isBlank(fields: readonly string[]): boolean {
  for (const f of fields) if (f !== '' && f.trim() !== '') return false;
  return true;
}

/** Builds one batch row from a record, or returns the reason it is rejected. */
function toBatchRow(record: string[], columns: ColumnTarget[], line: number, defaultEvidence: ConsentEvidence): BatchRow | string {
  const input: ContactInput = {};
  let attributes: Record<string, unknown> | undefined;
  let externalIds: Record<string, string> | undefined;
  let topics: Record<string, SubscriptionStatus> | undefined;
  let evidence: ConsentEvidence | undefined;
  for (let i = 0; i < columns.length; i++) {
    const cell = record[i]!;
    if (cell === '') continue;
    const c = columns[i]!;
    // PostgreSQL cannot store U+0000 in text or JSON; one such cell would fail its whole batch.
    if (c.kind !== 'ignore' && (cell.includes('\u0000') || (c.kind === 'attributes_json' && /\\u0000/i.test(cell)))) {
      return `column ${i + 1}: contains a NUL character (U+0000), which cannot be stored`;
    }
    switch (c.kind) {
      case 'email': input.email = cell; break;
      case 'profile': input[c.field] = cell; break;
      case 'attribute': (attributes ??= {})[c.name] = parseAttributeCell(cell); break;
      case 'external_id': (externalIds ??= {})[c.source] = cell; break;
      case 'consent': (evidence ??= { ...defaultEvidence })[c.field] = cell; break;
      case 'ignore': break;
      case 'attributes_json': {
        let parsed: unknown;
        try { parsed = JSON.parse(cell); } catch { return 'attributes: is not valid JSON'; }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'attributes: must be a JSON object';
        attributes = Object.assign(attributes ?? {}, parsed);
        break;
      }
      case 'topic': {
        const status = parseTopicCell(cell);
        if (!status) return `topic.${c.key}: "${cell}" is not a status (use subscribed, unsubscribed, pending, yes or no)`;
        (topics ??= {})[c.key] = status;
        break;
      }
    }
  }
  if (input.email === undefined) return 'email: is empty';
  if (attributes && Object.keys(attributes).length > 0) input.attributes = attributes;
  if (externalIds) input.externalIds = externalIds;
  const check = validateContactInput(input, { requireEmail: true });
  if (!check.ok) return describeErrors(check.errors);
  // Evidence is read only with topic statuses; a row without them carries none (less to copy between threads).
  return topics ? { index: line, draft: check.value as BatchRow['draft'], topics, evidence: evidence ?? defaultEvidence } : { index: line, draft: check.value as BatchRow['draft'] };
}

// Error paths come from the API's field names; a CSV user knows the column names.
const CSV_FIELD_NAMES: Record<string, string> = { firstName: 'first_name', lastName: 'last_name' };

/** One line's reasons, named as the CSV's columns are (first_name, external_id.shop). */
export function describeErrors(errors: readonly ErrorDetail[]): string {
  return errors.map((e) => `${CSV_FIELD_NAMES[e.field] ?? e.field.replace(/^externalIds\//, 'external_id.')}: ${e.message}`).join('; ');
}
