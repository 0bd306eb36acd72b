import type { Db } from '../db/database.ts';
import type { ConsentEvidence, SubscriptionStatus, Topic } from '../domain/consent.ts';
import { validateContactInput, type ContactInput } from '../domain/contacts.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { storeContactBatch, type BatchRow } from './contact-batches.ts';
import type { ServiceContext } from './context.ts';
import { parseAttributeCell, parseTopicCell, resolveColumn, type ColumnTarget } from './csv-columns.ts';
import { CsvReadError, readCsvRecords } from './csv-records.ts';
import { resolveTopics } from './topics.ts';

export interface ImportOptions {
  /** Header → target, for headers that are not recognised by name (e.g. `{"E-Mail Adresse": "email"}`). */
  mapping?: Record<string, string>;
  /** One character; default `,`. */
  delimiter?: string;
  /** Consent evidence for topic columns when the row has no consent_* columns of its own. */
  consentWording?: string;
  consentVersion?: string;
  /** Rows per transaction. */
  batchSize?: number;
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
  let columns: ColumnTarget[] | undefined;
  let topics = new Map<string, Topic>();
  let batch: BatchRow[] = [];
  // Rows per transaction: big enough that commits are not the cost, small enough to bound memory.
  const batchSize = opts.batchSize ?? 5000;
  const flush = async () => {
    if (batch.length === 0) return;
    const now = ctx.clock.now();
    const outcome = await storeContactBatch(ctx.db, batch, topics, now);
    // Two lines with one new address both report the new contact; it was created once.
    const created = new Set(outcome.stored.filter((st) => st.created).map((st) => st.id)).size;
    report.stored += outcome.stored.length;
    report.created += created;
    report.updated += outcome.stored.length - created;
    report.consentChanges += outcome.consentChanges;
    for (const r of outcome.rejected) reject(r.index, describeErrors(r.errors));
    batch = [];
    hooks.onProgress?.({ bytes: report.bytes, rows: report.rows, stored: report.stored, rejected: report.rejected });
  };

  let stop: CsvReadError | undefined;
  try {
    for await (const records of readCsvRecords(input, { delimiter: opts.delimiter ?? ',', onBytes: (n) => (report.bytes = n) })) {
      for (const { fields, line } of records) {
        if (!columns) {
          columns = resolveHeader(fields, opts.mapping ?? {});
          topics = await resolveHeaderTopics(ctx.db, columns);
          continue;
        }
        // A row of empty cells (spreadsheets write them as ",,,") carries nothing to import.
        if (fields.every((f) => f.trim() === '')) continue;
        report.rows++;
        // Spreadsheets pad some rows with trailing delimiters; empty extra cells lose nothing.
        while (fields.length > columns.length && fields[fields.length - 1] === '') fields.pop();
        if (fields.length !== columns.length) {
          reject(line, `has ${fields.length} fields but the header has ${columns.length}`);
          continue;
        }
        const row = toBatchRow(fields, columns, line, opts);
        if (typeof row === 'string') reject(line, row);
        else batch.push(row);
        if (batch.length >= batchSize) await flush();
      }
    }
  } catch (err) {
    if (!(err instanceof CsvReadError)) throw err;
    stop = err;
  }
  if (!columns && !stop) throw new AppError('validation_failed', 'the file is empty: expected a header line with an email column', [{ field: 'line 1', message: 'is missing' }]);
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

/** Builds one batch row from a record, or returns the reason it is rejected. */
function toBatchRow(record: string[], columns: ColumnTarget[], line: number, opts: ImportOptions): BatchRow | string {
  const input: ContactInput = {};
  const attributes: Record<string, unknown> = {};
  const externalIds: Record<string, string> = {};
  let topics: Record<string, SubscriptionStatus> | undefined;
  const evidence: ConsentEvidence = { source: 'import', wording: opts.consentWording ?? null, wordingVersion: opts.consentVersion ?? null };
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
      case 'attribute': attributes[c.name] = parseAttributeCell(cell); break;
      case 'external_id': externalIds[c.source] = cell; break;
      case 'consent': evidence[c.field] = cell; break;
      case 'ignore': break;
      case 'attributes_json': {
        let parsed: unknown;
        try { parsed = JSON.parse(cell); } catch { return 'attributes: is not valid JSON'; }
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return 'attributes: must be a JSON object';
        Object.assign(attributes, parsed);
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
  if (Object.keys(attributes).length > 0) input.attributes = attributes;
  if (Object.keys(externalIds).length > 0) input.externalIds = externalIds;
  const check = validateContactInput(input, { requireEmail: true });
  if (!check.ok) return describeErrors(check.errors);
  return { index: line, draft: check.value as BatchRow['draft'], topics, evidence };
}

// Error paths come from the API's field names; a CSV user knows the column names.
const CSV_FIELD_NAMES: Record<string, string> = { firstName: 'first_name', lastName: 'last_name' };

function describeErrors(errors: readonly ErrorDetail[]): string {
  return errors.map((e) => `${CSV_FIELD_NAMES[e.field] ?? e.field.replace(/^externalIds\//, 'external_id.')}: ${e.message}`).join('; ');
}
