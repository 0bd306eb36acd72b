import type { OrderStatus } from '../domain/store.ts';
import { AppError } from '../lib/errors.ts';

// The cells of the orders and products CSV formats: which columns exist, and how one cell's text
// becomes a value. A cell that cannot be read is an error naming the column and what was found.

/** The columns of an orders file: one order line a row; rows with one order_id form one order. */
export const ORDER_COLUMNS = ['order_id', 'number', 'email', 'customer_id', 'first_name', 'last_name', 'status', 'currency', 'total', 'refunded', 'discount', 'coupon_codes', 'ordered_at', 'paid_at', 'completed_at', 'updated_at', 'product_id', 'sku', 'name', 'quantity', 'price'] as const;
/** Columns an orders file must have. */
export const ORDER_REQUIRED = ['order_id', 'status', 'currency', 'total', 'ordered_at'] as const;

/** The columns of a products file: one product a row. */
export const PRODUCT_COLUMNS = ['product_id', 'sku', 'name', 'url', 'image_url', 'price', 'currency', 'categories', 'in_stock', 'updated_at'] as const;
/** Columns a products file must have. */
export const PRODUCT_REQUIRED = ['product_id', 'name'] as const;

/** A header resolved: column name → its position in each record. */
export type ColumnIndex = Map<string, number>;

/** Reads the header line; unknown, repeated or missing required columns are refused before anything is stored. */
export function resolveStoreHeader(header: readonly string[], known: readonly string[], required: readonly string[]): ColumnIndex {
  const problems: string[] = [];
  const index: ColumnIndex = new Map();
  header.forEach((raw, i) => {
    const name = raw.trim().toLowerCase();
    if (name === '') return;
    if (!known.includes(name)) problems.push(`column ${i + 1} ("${raw}") is not one of ${known.join(', ')}`);
    else if (index.has(name)) problems.push(`column "${name}" appears twice`);
    else index.set(name, i);
  });
  for (const r of required) if (!index.has(r)) problems.push(`the required column "${r}" is missing`);
  if (problems.length > 0) throw new AppError('validation_failed', `line 1 (header): ${problems.join('; ')}`, problems.map((message) => ({ field: 'line 1', message })));
  return index;
}

/** One record's cells by column name, with the problems found reading them. */
export class RowReader {
  readonly problems: string[] = [];
  constructor(
    private readonly columns: ColumnIndex,
    private readonly fields: readonly string[],
  ) {}

  /** The trimmed text of a column; undefined when the column is absent or the cell empty. */
  text(name: string): string | undefined {
    const i = this.columns.get(name);
    const v = i === undefined ? undefined : this.fields[i]?.trim();
    return v === '' ? undefined : v;
  }

  /** A decimal number (`12.50`). */
  number(name: string): number | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+(\.\d+)?$/.test(v)) return void this.problems.push(`${name}: "${v}" is not a number (write 12.50, no currency sign or thousands separator)`);
    return Number(v);
  }

  /** A whole number up to 7 digits. */
  integer(name: string): number | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    if (!/^\d{1,7}$/.test(v)) return void this.problems.push(`${name}: "${v}" is not a whole number`);
    return Number(v);
  }

  /** A date or time: ISO 8601 (`2026-11-01`, `2026-11-01T10:00:00Z`, `2026-11-01 10:00:00`); without a zone, UTC. */
  time(name: string): number | undefined {
    const v = this.text(name);
    if (v === undefined) return undefined;
    const m = /^(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(\.\d{1,9})?)?(Z|[+-]\d\d:?\d\d)?)?$/.exec(v);
    const t = m ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7]?.slice(0, 4) ?? ''}${normalZone(m[8])}`) : Number.NaN;
    // Date.parse rolls 2026-02-30 over to March; a date that does not round-trip is not a date.
    if (!m || !Number.isFinite(t) || new Date(t + zoneOffsetMs(m[8])).toISOString().slice(0, 10) !== `${m[1]}-${m[2]}-${m[3]}`) {
      return void this.problems.push(`${name}: "${v}" is not a date (ISO 8601: 2026-11-01 or 2026-11-01T10:00:00Z)`);
    }
    return t;
  }

  /** A list in one cell, separated by `|`. */
  list(name: string): string[] | undefined {
    const v = this.text(name);
    return v === undefined ? undefined : v.split('|').map((s) => s.trim()).filter(Boolean);
  }

  /** yes/no, true/false, 1/0, y/n. */
  boolean(name: string): boolean | undefined {
    const v = this.text(name)?.toLowerCase();
    if (v === undefined) return undefined;
    if (['yes', 'true', '1', 'y'].includes(v)) return true;
    if (['no', 'false', '0', 'n'].includes(v)) return false;
    return void this.problems.push(`${name}: "${v}" is not yes or no`);
  }

  /** An order status, accepting WooCommerce's spelling (`on-hold`). */
  status(name: string): OrderStatus | undefined {
    const v = this.text(name)?.toLowerCase().replace(/-/g, '_');
    return v as OrderStatus | undefined;
  }
}

function normalZone(z: string | undefined): string {
  if (!z) return 'Z';
  return z === 'Z' ? z : `${z.slice(0, 3)}:${z.slice(-2)}`;
}

function zoneOffsetMs(z: string | undefined): number {
  if (!z || z === 'Z') return 0;
  const sign = z.startsWith('-') ? -1 : 1;
  return sign * (Number(z.slice(1, 3)) * 60 + Number(z.slice(-2))) * 60_000;
}
