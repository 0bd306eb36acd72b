import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { parse, CsvError } from 'csv-parse';
import type { ConsentEvidence, SubscriptionStatus } from '../domain/consent.ts';
import { validateContactInput, type ContactInput } from '../domain/contacts.ts';
import { AppError } from '../lib/errors.ts';
import { storeContactBatch, type BatchRow } from './contact-batches.ts';
import type { ServiceContext } from './context.ts';
import { parseAttributeCell, parseTopicCell, resolveColumn, type ColumnTarget } from './csv-columns.ts';
import { resolveTopics } from './topics.ts';

export interface ImportOptions {
  /** Header → target, for headers that are not recognised by name (e.g. `{"E-Mail Adresse": "email"}`). */
  mapping?: Record<string, string>;
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
  /** Set when the file could not be read to its end; everything counted above was stored. */
  error?: { message: string; line?: number };
}

export interface ImportHooks {
  onRejected?(line: number, reason: string): void;
  onProgress?(p: ImportProgress): void;
}

/**
 * Imports contacts from a CSV byte stream, one batch transaction at a time, so a file of any size
 * streams through in constant memory. Rejected lines are reported with their number and reason
 * while good lines are stored; a fatal problem (broken encoding, unclosed quote) stops the import
 * with a clear error, keeping the batches already stored.
 */
export async function importContactsCsv(ctx: ServiceContext, input: Readable, opts: ImportOptions = {}, hooks: ImportHooks = {}): Promise<ImportReport> {
  const report: ImportReport = { bytes: 0, rows: 0, stored: 0, rejected: 0, created: 0, updated: 0, consentChanges: 0 };
  const decoder = new Utf8Check((n) => (report.bytes = n));
  const parser = parse({ delimiter: opts.delimiter ?? ',', relax_column_count: true, skip_empty_lines: true, info: true, trim: false });
  input.on('error', (err) => decoder.destroy(err));
  input.pipe(decoder).on('error', (err) => parser.destroy(err)).pipe(parser);

  const reject = (line: number, reason: string) => {
    report.rejected++;
    hooks.onRejected?.(line, reason);
  };
  let columns: ColumnTarget[] | undefined;
  let topics: Awaited<ReturnType<typeof resolveTopics>> | undefined;
  let batch: BatchRow[] = [];
  const batchSize = opts.batchSize ?? 1000;
  const flush = async () => {
    if (batch.length === 0) return;
    const outcome = await storeContactBatch(ctx.db, batch, topics!, ctx.clock.now());
    report.stored += outcome.stored.length;
    report.created += outcome.stored.filter((s) => s.created).length;
    report.updated += outcome.stored.filter((s) => !s.created).length;
    report.consentChanges += outcome.consentChanges;
    for (const r of outcome.rejected) reject(r.index, r.errors.map((e) => `${e.field}: ${e.message}`).join('; '));
    batch = [];
    hooks.onProgress?.({ bytes: report.bytes, rows: report.rows, stored: report.stored, rejected: report.rejected });
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!columns) {
        columns = resolveHeader(record, opts.mapping ?? {});
        topics = await resolveTopics(ctx.db, columns.flatMap((c) => (c.kind === 'topic' ? [c.key] : [])), 'topic.');
        continue;
      }
      report.rows++;
      const line = info.lines;
      if (record.length !== columns.length) {
        reject(line, `has ${record.length} fields but the header has ${columns.length}`);
        continue;
      }
      const row = toBatchRow(record, columns, line, opts);
      if (typeof row === 'string') reject(line, row);
      else batch.push(row);
      if (batch.length >= batchSize) await flush();
    }
    if (!columns) throw new AppError('import_failed', 'the file is empty: expected a header line with an email column');
    await flush();
  } catch (err) {
    await flush().catch(() => undefined);
    report.error = describeFailure(err);
    if (!(err instanceof AppError) && !(err instanceof CsvError) && !(err instanceof EncodingError)) throw err;
  }
  return report;
}

function resolveHeader(header: string[], mapping: Record<string, string>): ColumnTarget[] {
  const problems: string[] = [];
  const columns = header.map((h, i) => {
    const t = resolveColumn(h.trim(), mapping);
    if (typeof t === 'string') problems.push(`column ${i + 1} ("${h}"): ${t}`);
    return typeof t === 'string' ? ({ kind: 'ignore' } as const) : t;
  });
  const emails = columns.filter((c) => c.kind === 'email').length;
  if (emails === 0) problems.push(`no email column: the header is ${header.map((h) => `"${h}"`).join(', ')}; name one "email" or map it (e.g. --map "E-Mail Adresse=email")`);
  if (emails > 1) problems.push('more than one column maps to email');
  if (problems.length > 0) throw new AppError('import_failed', `line 1 (header): ${problems.join('; ')}`, problems.map((m) => ({ field: 'line 1', message: m })));
  return columns;
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
  if (!check.ok) return check.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  return { index: line, draft: check.value as BatchRow['draft'], topics, evidence };
}

class EncodingError extends Error {}

/**
 * Passes bytes through as text, failing at the first invalid UTF-8 sequence with its byte offset.
 * (csv-parse would otherwise turn broken bytes into U+FFFD and store mangled names silently.)
 */
class Utf8Check extends Transform {
  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private offset = 0;

  constructor(private readonly onBytes: (n: number) => void) {
    super({ readableObjectMode: false, decodeStrings: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      const text = this.decoder.decode(chunk, { stream: true });
      this.offset += chunk.length;
      this.onBytes(this.offset);
      done(null, text);
    } catch {
      done(new EncodingError(`the file is not valid UTF-8 (near byte ${this.offset + firstBadByte(chunk)}); save it as UTF-8 and import again`));
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      done(null, this.decoder.decode());
    } catch {
      done(new EncodingError('the file ends in the middle of a UTF-8 character; save it as UTF-8 and import again'));
    }
  }
}

// Whether a prefix decodes cleanly only changes once, at the first bad byte: binary search it.
function firstBadByte(chunk: Buffer): number {
  const clean = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(chunk.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = chunk.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (clean(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function describeFailure(err: unknown): { message: string; line?: number } {
  if (err instanceof CsvError) {
    const line = (err as CsvError & { lines?: number }).lines;
    if (err.code === 'CSV_QUOTE_NOT_CLOSED') return { message: `a quoted field is never closed (the file ends inside quotes, last line ${line})`, line };
    return { message: `the file is not valid CSV at line ${line}: ${err.message}`, line };
  }
  return { message: (err as Error).message };
}
