import { describe, expect, it } from 'vitest';
import { readCsvRecords, type CsvRecord } from './csv-records.ts';

interface ReadResult {
  records: CsvRecord[];
  error?: { message: string; line?: number };
}

async function read(chunks: (string | Buffer)[], opts: { delimiter?: string; splitPlainText?: boolean } = {}): Promise<ReadResult> {
  const records: CsvRecord[] = [];
  try {
    for await (const batch of readCsvRecords(toStream(chunks), { delimiter: opts.delimiter ?? ',', splitPlainText: opts.splitPlainText })) records.push(...batch);
  } catch (err) {
    return { records, error: { message: (err as Error).message, line: (err as { line?: number }).line } };
  }
  return { records };
}

async function* toStream(chunks: (string | Buffer)[]): AsyncGenerator<Buffer> {
  for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
}

const rec = (line: number, ...fields: string[]): CsvRecord => ({ fields, line });

/** Cuts bytes at the given offsets. */
function cut(bytes: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const a of [...at, bytes.length]) {
    out.push(bytes.subarray(from, a));
    from = a;
  }
  return out;
}

describe('readCsvRecords: quote-free text split directly', () => {
  it('joins a line cut by a chunk boundary and counts lines', async () => {
    expect(await read(['email,na', 'me\nx@y.example,Z', 'ed\n\nlast,one'])).toEqual({
      records: [rec(1, 'email', 'name'), rec(2, 'x@y.example', 'Zed'), rec(4, 'last', 'one')],
    });
  });

  it('treats a CRLF cut between chunks as one line break, and a lone CR as a break', async () => {
    expect(await read(['a,b\r', '\nc,d\r\n', 'e,f\rg,h\r', '\r\n', 'i,j\r'])).toEqual({
      records: [rec(1, 'a', 'b'), rec(2, 'c', 'd'), rec(3, 'e', 'f'), rec(4, 'g', 'h'), rec(6, 'i', 'j')],
    });
  });

  it('keeps empty fields and a trailing delimiter as empty fields', async () => {
    expect(await read(['a,,b\n,,\nc,d,\n', 'e;f\n'])).toEqual({
      records: [rec(1, 'a', '', 'b'), rec(2, '', '', ''), rec(3, 'c', 'd', ''), rec(4, 'e;f')],
    });
    expect(await read(['a;b;\n'], { delimiter: ';' })).toEqual({ records: [rec(1, 'a', 'b', '')] });
  });

  it('drops a BOM only at the start of the file, even when a chunk boundary cuts it', async () => {
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    expect(await read([bom.subarray(0, 1), Buffer.concat([bom.subarray(1), Buffer.from('email\nx\n')])])).toEqual({ records: [rec(1, 'email'), rec(2, 'x')] });
    expect((await read(['email\n\uFEFFx\n'])).records[1]).toEqual(rec(2, '\uFEFFx'));
  });

  it('hands over to csv-parse when a quote appears later in the file, mid-line, with the line count carried on', async () => {
    const r = await read(['email,notes\r\na@x.example,plain\r\nb@x.exa', 'mple,"two\r\nlines"\r\nc@x.example,"x,y"\r\n', 'd@x.example,after\r\n']);
    expect(r).toEqual({
      records: [rec(1, 'email', 'notes'), rec(2, 'a@x.example', 'plain'), rec(3, 'b@x.example', 'two\r\nlines'), rec(5, 'c@x.example', 'x,y'), rec(6, 'd@x.example', 'after')],
    });
    // The take-over right after a CR whose LF starts the quoted chunk.
    expect(await read(['a,b\r', '\n"c",d\n'])).toEqual({ records: [rec(1, 'a', 'b'), rec(2, 'c', 'd')] });
    // A quote in the very first chunk: csv-parse reads it all, BOM included.
    expect(await read(['\uFEFF"email"\nx\n'])).toEqual({ records: [rec(1, 'email'), rec(2, 'x')] });
  });

  it('stops at broken UTF-8 after the lines before it, and at an over-long line', async () => {
    const r = await read([Buffer.from('email,name\nok@x.example,Ok\nbad@x.example,Jos'), Buffer.from([0xe9, 0x0a]), Buffer.from('after@x.example,A\n')]);
    expect(r.records).toEqual([rec(1, 'email', 'name'), rec(2, 'ok@x.example', 'Ok')]);
    expect(r.error).toMatchObject({ line: 3, message: expect.stringMatching(/^line 3 is not valid UTF-8 \(byte offset 44\)/) });

    const long = await read(['email\nfirst@x.example\n', 'y'.repeat(600_000), 'y'.repeat(600_000), '\nnext\n']);
    expect(long.records).toEqual([rec(1, 'email'), rec(2, 'first@x.example')]);
    expect(long.error).toMatchObject({ line: 3, message: expect.stringContaining('line 3: a record is longer than 1048576 characters') });
  });

  // csv-parse is the reference: the same bytes, cut anywhere, must give the same records, line
  // numbers and errors whether the plain splitter or csv-parse reads them.
  it('agrees with csv-parse on random files cut at random bytes', async () => {
    const rand = mulberry32(7);
    const pieces = ['a', 'bc', 'é', 'ش', '😀', ',', ',', ';', ' ', '\n', '\n', '\r\n', '\r', 'x@y.example'];
    for (let round = 0; round < 400; round++) {
      let text = rand() < 0.2 ? '\uFEFF' : '';
      const n = Math.floor(rand() * 60);
      for (let i = 0; i < n; i++) text += pieces[Math.floor(rand() * pieces.length)];
      // Some files get a quoted field later on, some a broken byte.
      if (round % 4 === 1) text += `,"q${'\r\n'.repeat(round % 3)}q",z\n` + 'tail,1\n';
      let bytes = Buffer.from(text);
      if (round % 5 === 2) bytes = Buffer.concat([bytes, Buffer.from([0xff]), Buffer.from('\nmore\n')]);
      const at = [...new Set(Array.from({ length: Math.floor(rand() * 6) }, () => Math.floor(rand() * bytes.length)))].sort((x, y) => x - y);
      const chunks = cut(bytes, at);
      const delimiter = round % 7 === 3 ? ';' : ',';
      const reference = await read(chunks, { delimiter, splitPlainText: false });
      expect(await read(chunks, { delimiter }), JSON.stringify({ text, at })).toEqual(reference);
    }
  });
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
