import type { ConsentEvidence, SubscriptionStatus } from '../domain/consent.ts';
import type { BatchRow } from './contact-batches.ts';

// Batch rows in a compact form: a table of distinct strings and, per row, the positions of its
// values in it. An import moves a million rows from the parsing thread to the writing one and
// holds a batch of them while it is written; as objects they cost ~1 KB a row to copy and keep
// alive, enough to push the writer's heap (and the process's peak RSS) up by 100 MB.

/** A row's values, in order; `attributes` is JSON text. */
export const PACKED_FIELDS = ['email', 'emailKey', 'emailDomain', 'firstName', 'lastName', 'locale', 'timezone', 'currency', 'phone', 'attributes'] as const;
export const FIELD_COUNT = PACKED_FIELDS.length;
const EMAIL_KEY = 1;
const DOMAIN = 2;
const ATTRIBUTES = 9;

/** What a row has besides its fields, kept as objects: few rows have it. */
export interface RowExtras {
  externalIds?: Record<string, string>;
  topics?: Record<string, SubscriptionStatus>;
  evidence?: ConsentEvidence;
}

/** Rows as plain data (it crosses threads as it is). */
export interface PackedRows {
  /** Each row's index: its line in a file, its position in an API call. */
  index: number[];
  /** FIELD_COUNT positions in `strings` a row, in PACKED_FIELDS order; -1 for none (null and absent alike). */
  cells: Int32Array;
  strings: string[];
  /** The rows (positions in `index`) that have extras, ascending, and their extras. */
  extraRows: number[];
  extras: RowExtras[];
}

/** Builds PackedRows row by row. */
export class PackedRowsBuilder {
  private index: number[] = [];
  private cells: number[] = [];
  private strings: string[] = [];
  private shared = new Map<string, number>();
  private extraRows: number[] = [];
  private extras: RowExtras[] = [];

  get length(): number {
    return this.index.length;
  }

  add(row: BatchRow): void {
    const d = row.draft;
    const at = this.index.length;
    this.index.push(row.index);
    const email = this.put(d.email, false);
    this.cells.push(email, d.emailKey === d.email ? email : this.put(d.emailKey, false));
    this.cells.push(this.put(d.emailDomain, true), this.put(d.firstName, true), this.put(d.lastName, true), this.put(d.locale, true));
    this.cells.push(this.put(d.timezone, true), this.put(d.currency, true), this.put(d.phone, false));
    this.cells.push(d.attributes === undefined ? -1 : this.put(JSON.stringify(d.attributes), true));
    if (d.externalIds !== undefined || row.topics !== undefined) {
      this.extraRows.push(at);
      this.extras.push({ externalIds: d.externalIds, topics: row.topics, evidence: row.evidence });
    }
  }

  /** The rows added so far; the builder starts empty again. */
  take(): PackedRows {
    const out: PackedRows = { index: this.index, cells: Int32Array.from(this.cells), strings: this.strings, extraRows: this.extraRows, extras: this.extras };
    this.index = [];
    this.cells = [];
    this.strings = [];
    this.shared = new Map();
    this.extraRows = [];
    this.extras = [];
    return out;
  }

  // Values that repeat across rows (domains, names, locales, attribute sets) are stored once.
  private put(value: string | null | undefined, shared: boolean): number {
    if (value === undefined || value === null) return -1;
    if (shared) {
      const known = this.shared.get(value);
      if (known !== undefined) return known;
      this.shared.set(value, this.strings.length);
    }
    return this.strings.push(value) - 1;
  }
}

/** Packs rows (the API's bulk upsert hands them over as objects). */
export function packRows(rows: readonly BatchRow[]): PackedRows {
  const b = new PackedRowsBuilder();
  for (const r of rows) b.add(r);
  return b.take();
}

/** Joins packed rows in order (a batch that arrived in several pieces). */
export function joinPackedRows(parts: readonly PackedRows[]): PackedRows {
  if (parts.length === 1) return parts[0]!;
  const out: PackedRows = { index: [], cells: new Int32Array(parts.reduce((n, p) => n + p.cells.length, 0)), strings: [], extraRows: [], extras: [] };
  let at = 0;
  for (const p of parts) {
    const base = out.strings.length;
    const rowBase = out.index.length;
    for (let i = 0; i < p.cells.length; i++) out.cells[at + i] = p.cells[i]! < 0 ? -1 : p.cells[i]! + base;
    at += p.cells.length;
    for (const s of p.strings) out.strings.push(s);
    for (const i of p.index) out.index.push(i);
    for (const r of p.extraRows) out.extraRows.push(r + rowBase);
    for (const e of p.extras) out.extras.push(e);
  }
  return out;
}

/** One field of one row, or null. */
export function packedValue(p: PackedRows, row: number, field: number): string | null {
  const at = p.cells[row * FIELD_COUNT + field]!;
  return at < 0 ? null : p.strings[at]!;
}

/** The row's email key. */
export function packedKey(p: PackedRows, row: number): string {
  return p.strings[p.cells[row * FIELD_COUNT + EMAIL_KEY]!]!;
}

/** The row as a draft again (for the few rows whose address repeats within a batch). */
export function unpackDraft(p: PackedRows, row: number, extras: RowExtras | undefined): BatchRow['draft'] {
  const v = (f: number) => packedValue(p, row, f) ?? undefined;
  const attributes = v(ATTRIBUTES);
  const draft: BatchRow['draft'] = { email: v(0)!, emailKey: v(EMAIL_KEY)!, emailDomain: v(DOMAIN)! };
  for (let f = DOMAIN + 1; f < ATTRIBUTES; f++) {
    const value = v(f);
    if (value !== undefined) (draft as unknown as Record<string, unknown>)[PACKED_FIELDS[f]!] = value;
  }
  if (attributes !== undefined) draft.attributes = JSON.parse(attributes) as Record<string, unknown>;
  if (extras?.externalIds) draft.externalIds = extras.externalIds;
  return draft;
}

/** A draft's fields in PACKED_FIELDS order (attributes as JSON), appended to `out`. */
export function pushDraftValues(out: (string | null)[], d: BatchRow['draft']): void {
  out.push(d.email, d.emailKey, d.emailDomain, d.firstName ?? null, d.lastName ?? null, d.locale ?? null, d.timezone ?? null, d.currency ?? null, d.phone ?? null);
  out.push(d.attributes === undefined ? null : JSON.stringify(d.attributes));
}

/** A packed row's fields in PACKED_FIELDS order, appended to `out` (the strings are not copied). */
export function pushPackedValues(out: (string | null)[], p: PackedRows, row: number): void {
  const base = row * FIELD_COUNT;
  for (let f = 0; f < FIELD_COUNT; f++) {
    const at = p.cells[base + f]!;
    out.push(at < 0 ? null : p.strings[at]!);
  }
}
