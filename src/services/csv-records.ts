import { isUtf8 } from 'node:buffer';
import { parse, CsvError, type Parser } from 'csv-parse';
import { PlainRecordSplitter, type PlainRest, type RecordSink } from './csv-plain-records.ts';

/** One CSV record as text, with the line it starts on (1-based, lines as an editor counts them). */
export interface CsvRecord {
  fields: string[];
  line: number;
}

/** Why a CSV file could not be read to its end, with the line it stopped at when that is known. */
export class CsvReadError extends Error {
  constructor(message: string, readonly line?: number) {
    super(message);
  }
}

// A record longer than this is a quote left open, not data; stop before it eats the whole file.
const MAX_RECORD_CHARS = 1 << 20;

/** How {@link readCsvRecords} splits fields and where it reports how far it has read. */
export interface CsvReadOptions {
  /** One character. */
  delimiter: string;
  /** Called after each chunk with the number of bytes read so far. */
  onBytes?(bytes: number): void;
  /** false: csv-parse reads all of the file, quotes or not (tests compare the two readers). Default true. */
  splitPlainText?: boolean;
}

/**
 * Yields a CSV byte stream's records in file order, a chunk's worth at a time, and throws a
 * CsvReadError (broken UTF-8, broken CSV, a failed read) only after every record before the
 * problem has been yielded, so a caller can keep exactly the rows before it.
 * Text without any `"` is split directly (most exported files never quote); from the first chunk
 * that holds a quote on, csv-parse reads the rest of the file.
 */
export async function* readCsvRecords(input: AsyncIterable<Buffer | string>, { delimiter, onBytes, splitPlainText = true }: CsvReadOptions): AsyncGenerator<CsvRecord[]> {
  // Line breaks inside and between the records so far, counted by both readers.
  const sink: RecordSink = { records: [], breaks: 0 };
  const plain = new PlainRecordSplitter(delimiter, sink, MAX_RECORD_CHARS);
  let parser: CsvParseFeed | undefined;
  let failure: CsvReadError | undefined;
  // Bytes are checked as UTF-8 before either reader sees them: csv-parse would turn broken bytes
  // into U+FFFD and store mangled names.
  const utf8 = new Utf8Check();
  const chunks = readChunks(input);
  try {
    for (;;) {
      const next = await chunks.next();
      const { valid, error } = next.done ? utf8.end() : utf8.check(next.value);
      if (!parser && (!splitPlainText || valid.indexOf(QUOTE) !== -1)) parser = await CsvParseFeed.takeOver(delimiter, sink, plain.rest());
      if (parser) {
        const skip = parser.skipLF && valid[0] === 10 ? 1 : 0;
        parser.skipLF = false;
        if (valid.length > skip) await parser.feed(skip ? valid.subarray(skip) : valid);
        if (error) await parser.feedFiller();
      } else {
        // A line cut by a broken byte stays unsplit: its record is never read.
        const tooLong = plain.write(valid.toString()) ?? (next.done && !error ? plain.end() : undefined);
        if (tooLong !== undefined) failure = recordTooLong(tooLong);
      }
      onBytes?.(utf8.bytes);
      if (sink.records.length > 0) yield sink.records.splice(0);
      if (parser?.failure) throw describeCsvFailure(parser.failure, sink.breaks);
      if (failure) throw failure;
      if (error) throw error;
      if (next.done) break;
    }
    if (parser) {
      await parser.end();
      if (sink.records.length > 0) yield sink.records.splice(0);
      if (parser.failure) throw describeCsvFailure(parser.failure, sink.breaks);
    }
  } finally {
    parser?.destroy();
    await chunks.return(undefined);
  }
}

const QUOTE = 0x22;

function recordTooLong(line: number): CsvReadError {
  return new CsvReadError(`line ${line}: a record is longer than ${MAX_RECORD_CHARS} characters without a line break; check that this is a CSV file with one record a line`, line);
}

/** csv-parse, fed bytes, adding the records it finishes to the shared sink. */
class CsvParseFeed {
  failure: unknown;
  /** The text before the take-over ended with a CR: a LF next is the second half of that CRLF. */
  skipLF = false;
  private readonly parser: Parser;
  // csv-parse holds back a record's last bytes to look for a CRLF; at a broken byte, filler lets out
  // a record that ends just before it. The filler only joins the broken record, which is never read.
  private readonly filler: Buffer;

  /** Starts csv-parse where the plain splitter stopped, with its unsplit text. */
  static async takeOver(delimiter: string, sink: RecordSink, rest: PlainRest): Promise<CsvParseFeed> {
    const feed = new CsvParseFeed(delimiter, sink, rest.atStart);
    feed.skipLF = rest.skipLF;
    if (rest.text !== '') await feed.feed(Buffer.from(rest.text));
    return feed;
  }

  private constructor(delimiter: string, sink: RecordSink, atStart: boolean) {
    this.filler = Buffer.from(delimiter === 'a' ? 'bbbbbbbb' : 'aaaaaaaa');
    this.parser = parse({
      delimiter,
      // A BOM counts only at the very start of the file.
      bom: atStart,
      relax_column_count: true,
      relax_quotes: true,
      // Empty lines come through (as one empty field) so that they are counted, then skipped here.
      skip_empty_lines: false,
      record_delimiter: ['\r\n', '\n', '\r'],
      max_record_size: MAX_RECORD_CHARS,
    });
    // Records are counted from their fields, not from csv-parse's `raw` text and record info, which
    // cost a fifth of an import (bench:import): a record ends one line, and adds the line breaks
    // inside its (quoted) fields. csv-parse's own count is off when a CRLF sits inside a record.
    this.parser.on('data', (record: string[]) => {
      if (record.length === 1 && record[0] === '') {
        sink.breaks++;
        return;
      }
      const line = sink.breaks + 1;
      for (const f of record) if (f.indexOf('\n') !== -1 || f.indexOf('\r') !== -1) sink.breaks += countBreaks(f);
      sink.breaks++;
      sink.records.push({ fields: record, line });
    });
    this.parser.on('error', (err) => (this.failure ??= err));
  }

  feed(bytes: Buffer): Promise<void> {
    return new Promise<void>((resolve) => this.parser.write(bytes, () => resolve()));
  }

  feedFiller(): Promise<void> {
    return this.feed(this.filler);
  }

  end(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.parser.once('finish', resolve);
      this.parser.once('error', () => resolve());
      this.parser.end();
    });
  }

  destroy(): void {
    this.parser.destroy();
  }
}

async function* readChunks(input: AsyncIterable<Buffer | string>): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of input) yield typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
  } catch (err) {
    throw new CsvReadError(`the file could not be read: ${(err as Error).message}`);
  }
}

function describeCsvFailure(err: unknown, breaks: number): CsvReadError {
  if (err instanceof CsvReadError) return err;
  if (!(err instanceof CsvError)) return new CsvReadError(`the file is not valid CSV: ${(err as Error).message}`);
  const line = breaks + (typeof err.raw === 'string' ? leadingBreaks(err.raw) : 0) + 1;
  switch (err.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return new CsvReadError(`line ${line}: a quoted field is never closed (the file ends inside it); check the quotes on that line`, line);
    case 'CSV_MAX_RECORD_SIZE':
      return new CsvReadError(`line ${line}: a record is longer than ${MAX_RECORD_CHARS} characters, so a quoted field on that line is probably never closed; check its quotes`, line);
    default:
      // csv-parse's own line number can be wrong; ours replaces it.
      return new CsvReadError(`line ${line}: the file is not valid CSV: ${err.message.replace(/\s*(?:at|on) line \d+/g, '')}`, line);
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

  check(chunk: Buffer): { valid: Buffer; error?: CsvReadError } {
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
  end(): { valid: Buffer; error?: CsvReadError } {
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
  private describe(before: Buffer, byte: number): CsvReadError {
    const line = this.breaks + 1;
    const text = before.subarray(Math.max(before.lastIndexOf(10), before.lastIndexOf(13)) + 1).toString();
    const after = text === '' ? '' : `, after "${text.length > 30 ? `…${text.slice(-30)}` : text}"`;
    return new CsvReadError(`line ${line} is not valid UTF-8 (byte offset ${byte}${after}): the file was probably saved in another encoding such as Windows-1252; save it as UTF-8 and import again`, line);
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

// indexOf scans natively; a character loop here was a measurable share of an import (bench:import).
function countBreaks(s: string): number {
  let n = 0;
  for (let i = s.indexOf('\n'); i !== -1; i = s.indexOf('\n', i + 1)) n++;
  for (let i = s.indexOf('\r'); i !== -1; i = s.indexOf('\r', i + 1)) if (s.charCodeAt(i + 1) !== 10) n++;
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
