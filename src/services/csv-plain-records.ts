import type { CsvRecord } from './csv-records.ts';

/** Where split records go, with the line breaks counted so far (csv-parse's side counts on from there). */
export interface RecordSink {
  records: CsvRecord[];
  breaks: number;
}

/** What a splitter had not split yet when csv-parse takes over. */
export interface PlainRest {
  /** The unfinished last line. */
  text: string;
  /** The text so far ended with a CR: a LF next is the second half of that CRLF. */
  skipLF: boolean;
  /** Nothing but empty text has been seen, so a BOM may still come. */
  atStart: boolean;
}

/**
 * Splits CSV text that holds no quote character into records, the way csv-parse would with our
 * options but without its per-character state machine (a fifth of an import, bench:import): lines
 * end at CRLF, LF or a lone CR, fields are split on the delimiter, an empty line is counted and
 * skipped, a BOM at the very start is dropped. Text goes in as it is read; the unfinished last
 * line waits for the next text, or for csv-parse when a quote appears (see {@link rest}).
 */
export class PlainRecordSplitter {
  private carry = '';
  private skipLF = false;
  private atStart = true;

  constructor(
    private readonly delimiter: string,
    private readonly sink: RecordSink,
    private readonly maxRecordChars: number,
  ) {}

  /**
   * Splits the complete lines of `text` (the file's next characters, with no `"`) into records.
   * Returns the line of a record longer than the limit, where splitting stopped; else undefined.
   */
  write(text: string): number | undefined {
    if (text === '') return undefined;
    if (this.atStart) {
      this.atStart = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    if (this.skipLF) {
      this.skipLF = false;
      if (text.charCodeAt(0) === 10) text = text.slice(1);
    }
    const s = this.carry === '' ? text : this.carry + text;
    const lastCR = s.lastIndexOf('\r');
    const last = Math.max(s.lastIndexOf('\n'), lastCR);
    if (last === -1) {
      this.carry = s;
      return s.length > this.maxRecordChars ? this.sink.breaks + 1 : undefined;
    }
    this.carry = s.slice(last + 1);
    this.skipLF = last === s.length - 1 && lastCR === last;
    // Up to and with the last break: a line ending in CR then ends as it would before a LF.
    const lines = s.slice(0, last + 1).split('\n');
    if (lastCR !== last) lines.pop();
    for (const line of lines) {
      const tooLong = lastCR === -1 ? this.emit(line) : this.emitWithCR(line);
      if (tooLong !== undefined) return tooLong;
    }
    return this.carry.length > this.maxRecordChars ? this.sink.breaks + 1 : undefined;
  }

  /** Splits the last line, which has no line break after it: the end of the file. */
  end(): number | undefined {
    const last = this.carry;
    this.carry = '';
    return last === '' ? undefined : this.emit(last);
  }

  /** What is not split yet; the splitter is done after this. */
  rest(): PlainRest {
    return { text: this.carry, skipLF: this.skipLF, atStart: this.atStart };
  }

  // A line split on LF may still hold CRs: one at its end ends the line (before a LF, or as the
  // text's last break), any other is a break of its own.
  private emitWithCR(line: string): number | undefined {
    if (line.indexOf('\r') === -1) return this.emit(line);
    const parts = line.split('\r');
    const n = line.charCodeAt(line.length - 1) === 13 ? parts.length - 1 : parts.length;
    for (let i = 0; i < n; i++) {
      const tooLong = this.emit(parts[i]!);
      if (tooLong !== undefined) return tooLong;
    }
    return undefined;
  }

  private emit(line: string): number | undefined {
    const sink = this.sink;
    if (line === '') {
      sink.breaks++;
      return undefined;
    }
    if (line.length > this.maxRecordChars) return sink.breaks + 1;
    sink.records.push({ fields: line.split(this.delimiter), line: ++sink.breaks });
    return undefined;
  }
}
