import { describe, expect, it } from 'vitest';
import { readRowPieces, type RowPiece } from './contact-import-rows.ts';
import type { ColumnTarget } from './csv-columns.ts';
import { CsvReadError } from './csv-records.ts';
import { packedValue } from './packed-rows.ts';

const COLUMNS: ColumnTarget[] = [{ kind: 'email' }, { kind: 'profile', field: 'firstName' }, { kind: 'attribute', name: 'note' }];

async function pieces(chunks: (string | Buffer)[], batchSize: number): Promise<{ pieces: RowPiece[]; error?: unknown }> {
  const out: RowPiece[] = [];
  async function* input() {
    for (const c of chunks) yield typeof c === 'string' ? Buffer.from(c) : c;
  }
  try {
    for await (const p of readRowPieces(input(), { delimiter: ',', batchSize }, async () => COLUMNS)) out.push(p);
  } catch (error) {
    return { pieces: out, error };
  }
  return { pieces: out };
}

const rowsOf = (ps: RowPiece[]) => ps.map((p) => p.rows.index.length);

describe('readRowPieces', () => {
  it('ends a batch at batchSize rows, keeps rejected lines in file order, and ends with what is left', async () => {
    const lines = Array.from({ length: 7 }, (_, i) => (i === 2 ? 'bad-address,X,y\n' : `r${i}@rows.example,R ${i},n${i}\n`));
    const { pieces: ps } = await pieces([`email,first_name,note\n${lines.join('')}`], 3);
    expect(rowsOf(ps)).toEqual([3, 3, 0]);
    expect(ps.map((p) => p.endsBatch)).toEqual([true, true, true]);
    expect(ps[0]!.rejects).toEqual([{ line: 4, reason: 'email: "bad-address" is not a valid email address: it has no @' }]);
    expect(ps[0]!.rows.index).toEqual([2, 3, 5]);
    expect(ps.reduce((n, p) => n + p.read, 0)).toBe(7);
    expect(packedValue(ps[1]!.rows, 0, 3)).toBe('R 4');
  });

  it('ends a batch early after 4 MB of the file, so big rows never pile up in memory', async () => {
    const note = 'x'.repeat(2000);
    const rows = Array.from({ length: 4000 }, (_, i) => `big${i}@rows.example,B,${note}\n`);
    const chunks = ['email,first_name,note\n'];
    for (let i = 0; i < rows.length; i += 100) chunks.push(rows.slice(i, i + 100).join(''));
    const { pieces: ps } = await pieces(chunks, 5000);
    const sizes = rowsOf(ps);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(4000);
    // ~8 MB of rows: two or three batches, none of them all 4,000 rows.
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThan(2200);
    expect(ps.every((p) => p.endsBatch)).toBe(true);
  });

  it('sends rejected lines on before they pile up, without ending the batch', async () => {
    const bad = Array.from({ length: 5 }, (_, i) => `bad${i},X,y\n`).join('');
    const { pieces: ps } = await pieces([`email,first_name,note\nok@rows.example,O,k\n${bad}`], 4);
    expect(ps.map((p) => [p.rows.index.length, p.rejects.length, p.endsBatch])).toEqual([[1, 4, false], [0, 1, true]]);
  });

  it('hands over the rows before a broken byte in a last piece, then throws', async () => {
    const { pieces: ps, error } = await pieces(['email,first_name,note\na@rows.example,A,1\nb@rows.example,B,2\n', Buffer.from([0x63, 0x40, 0xff, 0x0a])], 10);
    expect(rowsOf(ps)).toEqual([2]);
    expect(error).toBeInstanceOf(CsvReadError);
    expect((error as CsvReadError).line).toBe(4);
  });
});
