import { isUtf8 } from 'node:buffer';
import { parse, CsvError } from 'csv-parse';
import type { Db } from '../db/database.ts';
import type { ConsentEvidence, SubscriptionStatus, Topic } from '../domain/consent.ts';
import { validateContactInput, type ContactInput } from '../domain/contacts.ts';
import { AppError, type ErrorDetail } from '../lib/errors.ts';
import { storeContactBatch, type BatchRow } from './contact-batches.ts';
import type { ServiceContext } from './context.ts';
import { parseAttributeCell, parseTopicCell, resolveColumn, type ColumnTarget } from './csv-columns.ts';
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
  const batchSize = opts.batchSize ?? 1000;
  const creations = new CreationCounter();
  const flush = async () => {
    if (batch.length === 0) return;
    const now = ctx.clock.now();
    const outcome = await storeContactBatch(ctx.db, batch, topics, now);
    const created = creations.count(outcome.stored, now);
    report.stored += outcome.stored.length;
    report.created += created;
    report.updated += outcome.stored.length - created;
    report.consentChanges += outcome.consentChanges;
    for (const r of outcome.rejected) reject(r.index, describeErrors(r.errors));
    batch = [];
    hooks.onProgress?.({ bytes: report.bytes, rows: report.rows, stored: report.stored, rejected: report.rejected });
  };

  let stop: ImportStop | undefined;
  try {
    for await (const records of readCsvRecords(input, opts.delimiter ?? ',', (n) => (report.bytes = n))) {
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
    if (!(err instanceof ImportStop)) throw err;
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

/**
 * Counts each contact created by this import once. A stored row is "created" when its created_at
 * is the batch time, so a file that repeats a new address, or two batches within one millisecond
 * (a frozen test clock), would otherwise count the same contact as created twice.
 */
class CreationCounter {
  private at = Number.NaN;
  private readonly ids = new Set<number>();

  count(stored: readonly { id: number; created: boolean }[], now: number): number {
    if (now !== this.at) {
      this.at = now;
      this.ids.clear();
    }
    let n = 0;
    for (const s of stored) {
      if (s.created && !this.ids.has(s.id)) {
        this.ids.add(s.id);
        n++;
      }
    }
    return n;
  }
}

/** One CSV record as text, with the line it starts on (1-based, lines as an editor counts them). */
interface CsvRecord {
  fields: string[];
  line: number;
}

/** Why the file could not be read to its end. */
class ImportStop extends Error {
  constructor(message: string, readonly line?: number) {
    super(message);
  }
}

// A record longer than this is a quote left open, not data; stop before it eats the whole file.
const MAX_RECORD_CHARS = 1 << 20;

/**
 * Reads records in file order, a chunk's worth at a time. Bytes are checked as UTF-8 before the
 * parser sees them (csv-parse would turn broken bytes into U+FFFD and store mangled names), and
 * a problem is thrown only after every record before it has been yielded, so the import stores
 * exactly the rows before the problem. Line numbers are counted here: csv-parse's count is off
 * when a CRLF sits inside a record.
 */
async function* readCsvRecords(input: AsyncIterable<Buffer | string>, delimiter: string, onBytes: (n: number) => void): AsyncGenerator<CsvRecord[]> {
  const records: CsvRecord[] = [];
  let breaks = 0; // line breaks inside and between the records parsed so far
  let failure: unknown;
  const parser = parse({
    delimiter,
    bom: true,
    raw: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    record_delimiter: ['\r\n', '\n', '\r'],
    max_record_size: MAX_RECORD_CHARS,
    on_record: (value: unknown) => {
      // With `raw`, a record comes as its fields and its text, led by the blank lines skipped before it.
      const { record, raw } = value as { record: string[]; raw: string };
      records.push({ fields: record, line: breaks + leadingBreaks(raw) + 1 });
      breaks += countBreaks(raw);
      return null;
    },
  });
  parser.on('error', (err) => (failure ??= err));
  parser.resume();
  const feed = (bytes: Buffer) => new Promise<void>((resolve) => parser.write(bytes, () => resolve()));
  // csv-parse holds back a record's last bytes to look for a CRLF; at a broken byte, filler lets out
  // a record that ends just before it. The filler only joins the broken record, which is never read.
  const filler = Buffer.from(delimiter === 'x' ? 'yyyyyyyy' : 'xxxxxxxx');
  const utf8 = new Utf8Check();
  const chunks = readChunks(input);
  try {
    for (;;) {
      const next = await chunks.next();
      const { valid, error } = next.done ? utf8.end() : utf8.check(next.value);
      if (valid.length > 0) await feed(valid);
      if (error) await feed(filler);
      onBytes(utf8.bytes);
      if (records.length > 0) yield records.splice(0);
      if (failure) throw describeCsvFailure(failure, breaks);
      if (error) throw error;
      if (next.done) break;
    }
    await new Promise<void>((resolve) => {
      parser.once('finish', resolve);
      parser.once('error', () => resolve());
      parser.end();
    });
    if (records.length > 0) yield records.splice(0);
    if (failure) throw describeCsvFailure(failure, breaks);
  } finally {
    parser.destroy();
    await chunks.return(undefined);
  }
}

async function* readChunks(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of input) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  } catch (err) {
    throw new ImportStop(`the file could not be read: ${(err as Error).message}`);
  }
}

function describeCsvFailure(err: unknown, breaks: number): ImportStop {
  if (err instanceof ImportStop) return err;
  if (!(err instanceof CsvError)) return new ImportStop(`the file is not valid CSV: ${(err as Error).message}`);
  const line = breaks + (typeof err.raw === 'string' ? leadingBreaks(err.raw) : 0) + 1;
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new ImportStop(`line ${line}: a quoted field is never closed (the file ends inside it); check the quotes on that line`, line);
    case 'CSV_MAX_RECORD_SIZE':
      return new ImportStop(`line ${line}: a record is longer than ${MAX_RECORD_CHARS} characters, so a quoted field on that line is probably never closed; check its quotes`, line);
    default:
      // csv-parse's own line number can be wrong; ours replaces it.
      return new ImportStop(`line ${line}: the file is not valid CSV: ${err.message.replace(/\s*(?:at|on) line \d+/g, '')}`, line);
  }
}

/**
 * Passes on the complete, valid UTF-8 part of each chunk (a character cut at a chunk's end waits
 * for the next) and counts its line breaks, so a broken byte can be reported by line.
 */
class Utf8Check {
  /** Bytes read so far. */
  bytes = 0;
  private carry: Buffer = Buffer.alloc(0);
  private breaks = 0;
  private afterCR = false;
  private lastLine: Buffer = Buffer.alloc(0);

  check(chunk: Buffer): { valid: Buffer; error?: ImportStop } {
    const start = this.bytes - this.carry.length;
    this.bytes += chunk.length;
    const buf = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const end = completeLength(buf);
    this.carry = Buffer.from(buf.subarray(end));
    const valid = buf.subarray(0, end);
    if (isUtf8(valid)) return { valid: this.pass(valid) };
    // The bytes before the first broken one, without the start of the broken character.
    const before = valid.subarray(0, completeLength(valid.subarray(0, firstBadByte(valid))));
    this.carry = Buffer.alloc(0);
    return { valid: this.pass(before), error: this.describe(before, start + before.length) };
  }

  /** Checks what is left at the end of the input: a character cut by the end of the file is broken. */
  end(): { valid: Buffer; error?: ImportStop } {
    const valid = Buffer.alloc(0);
    return this.carry.length === 0 ? { valid } : { valid, error: this.describe(this.lastLine, this.bytes - this.carry.length) };
  }

  private pass(bytes: Buffer): Buffer {
    this.breaks += countBreakBytes(bytes) - (this.afterCR && bytes[0] === 10 ? 1 : 0);
    if (bytes.length > 0) this.afterCR = bytes[bytes.length - 1] === 13;
    this.lastLine = bytes.subarray(Math.max(bytes.lastIndexOf(10), bytes.lastIndexOf(13)) + 1);
    return bytes;
  }

  // `before` ends where the broken character starts; the message quotes the text before it on its line.
  private describe(before: Buffer, byte: number): ImportStop {
    const line = this.breaks + 1;
    const text = before.subarray(Math.max(before.lastIndexOf(10), before.lastIndexOf(13)) + 1).toString();
    const after = text === '' ? '' : `, after "${text.length > 30 ? `…${text.slice(-30)}` : text}"`;
    return new ImportStop(`line ${line} is not valid UTF-8 (byte offset ${byte}${after}): the file was probably saved in another encoding such as Windows-1252; save it as UTF-8 and import again`, line);
  }
}

// The length of `buf` without a multi-byte character cut off at its end.
function completeLength(buf: Buffer): number {
  let i = buf.length - 1;
  while (i >= 0 && i > buf.length - 4 && (buf[i]! & 0xc0) === 0x80) i--;
  if (i < 0) return buf.length;
  const lead = buf[i]!;
  const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return i + size > buf.length ? i : buf.length;
}

// Whether a prefix decodes cleanly (a cut last character allowed) changes once, at the first bad byte.
function firstBadByte(buf: Buffer): number {
  const clean = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = buf.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (clean(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Line breaks as an editor counts them: CRLF, LF or a lone CR.
function countBreakBytes(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(10); i !== -1; i = b.indexOf(10, i + 1)) n++;
  for (let i = b.indexOf(13); i !== -1; i = b.indexOf(13, i + 1)) if (b[i + 1] !== 10) n++;
  return n;
}

function countBreaks(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || (c === 13 && s.charCodeAt(i + 1) !== 10)) n++;
  }
  return n;
}

function leadingBreaks(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 10 || (c === 13 && s.charCodeAt(i + 1) !== 10)) n++;
    else if (c !== 13) break;
  }
  return n;
}
