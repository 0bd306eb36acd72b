import { describe, expect, it } from 'vitest';
import type { BatchRow } from './contact-batches.ts';
import { FIELD_COUNT, joinPackedRows, packRows, pushPackedValues, unpackDraft, type PackedRows } from './packed-rows.ts';

const row = (index: number, email: string, more: Partial<BatchRow['draft']> = {}, extras: Partial<BatchRow> = {}): BatchRow => ({
  index,
  draft: { email, emailKey: email.toLowerCase(), emailDomain: email.slice(email.indexOf('@') + 1).toLowerCase(), ...more },
  ...extras,
});

function values(p: PackedRows): (string | null)[][] {
  return p.index.map((_, i) => {
    const out: (string | null)[] = [];
    pushPackedValues(out, p, i);
    return out;
  });
}

const ROWS: BatchRow[] = [
  row(2, 'Ali@Example.com', { firstName: 'علی', locale: 'fa-IR', attributes: { city: 'تهران', orders: 3 } }),
  row(3, 'sara@example.com', { firstName: 'Sara', lastName: null, locale: 'fa-IR' }, { topics: { newsletter: 'subscribed' }, evidence: { source: 'import' } }),
  row(5, 'jo@bücher.de', { phone: '+4917123', attributes: {} }),
  row(9, 'max@example.com', { externalIds: { shop: '7' }, attributes: { city: 'تهران', orders: 3 } }),
];

describe('packed rows', () => {
  it('keep every value, store repeated ones once, and give drafts back', () => {
    const p = packRows(ROWS);
    expect(p.cells.length).toBe(ROWS.length * FIELD_COUNT);
    expect(values(p)).toEqual([
      ['Ali@Example.com', 'ali@example.com', 'example.com', 'علی', null, 'fa-IR', null, null, null, '{"city":"تهران","orders":3}'],
      ['sara@example.com', 'sara@example.com', 'example.com', 'Sara', null, 'fa-IR', null, null, null, null],
      ['jo@bücher.de', 'jo@bücher.de', 'bücher.de', null, null, null, null, null, '+4917123', '{}'],
      ['max@example.com', 'max@example.com', 'example.com', null, null, null, null, null, null, '{"city":"تهران","orders":3}'],
    ]);
    // The domain, the locale and the attribute set are stored once each.
    expect(p.strings.filter((s) => s === 'example.com' || s === 'fa-IR' || s.startsWith('{"city"'))).toHaveLength(3);
    expect(p.extraRows).toEqual([1, 3]);
    expect(unpackDraft(p, 3, p.extras[1])).toEqual({ email: 'max@example.com', emailKey: 'max@example.com', emailDomain: 'example.com', attributes: { city: 'تهران', orders: 3 }, externalIds: { shop: '7' } });
  });

  it('join in order as if packed at once', () => {
    const joined = joinPackedRows([packRows(ROWS.slice(0, 1)), packRows(ROWS.slice(1, 3)), packRows(ROWS.slice(3))]);
    const whole = packRows(ROWS);
    expect(values(joined)).toEqual(values(whole));
    expect(joined.index).toEqual([2, 3, 5, 9]);
    expect(joined.extraRows).toEqual(whole.extraRows);
    expect(joined.extras).toEqual(whole.extras);
  });
});
