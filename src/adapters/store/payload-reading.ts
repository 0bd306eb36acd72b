import type { ErrorDetail } from '../../lib/errors.ts';
import type { CartInput, CustomerInput, OrderInput, ProductInput } from '../../domain/store.ts';

// Shared reading of store payloads (WooCommerce and Shopify webhooks): JSON whose ids may exceed
// 2^53, money as decimal strings, and times in each store's own format. Every reader records what
// was wrong under the payload's own field path, so a refused webhook names the field at fault.

/** A payload mapped to a connector input, or every problem found in it. */
export type Mapped<T> = { ok: true; value: T } | { ok: false; errors: ErrorDetail[] };

/** A JSON object as read from a payload. */
export type Json = Record<string, unknown>;

/** The value as an object, or null if it is anything else. */
export function objectOf(v: unknown): Json | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;
}

/**
 * Parses JSON text, turning integers of more than 15 digits into strings first: Shopify ids
 * (820982911946154508) do not fit a double and would silently become another id. Throws a
 * SyntaxError for text that is not JSON.
 */
export function parseJsonKeepingBigIds(text: string): unknown {
  let out = '';
  let last = 0;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // Skip the string, escapes included: digits inside strings are never touched.
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if ((c >= '0' && c <= '9') || c === '-') {
      const start = i;
      while (i < text.length && /[0-9eE.+-]/.test(text[i]!)) i++;
      const literal = text.slice(start, i);
      if (/^-?\d{16,}$/.test(literal)) {
        out += `${text.slice(last, start)}"${literal}"`;
        last = i;
      }
    } else {
      i++;
    }
  }
  return JSON.parse(last === 0 ? text : out + text.slice(last));
}

const WOO_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/;
const ISO_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

/** Collects the problems of one payload while its fields are read; each reader returns null when absent or wrong. */
export class PayloadReader {
  readonly errors: ErrorDetail[] = [];

  fail(field: string, message: string): null {
    this.errors.push({ field, message });
    return null;
  }

  /** Text, trimmed; numbers are accepted and written out; empty or absent is null. */
  text(v: unknown, field: string, max = 1000): string | null {
    if (v === undefined || v === null) return null;
    if (typeof v === 'number' && Number.isFinite(v)) return String(v);
    if (typeof v !== 'string') return this.fail(field, 'must be text');
    const t = v.trim();
    if (t.length > max) return this.fail(field, `is longer than ${max} characters`);
    return t === '' ? null : t;
  }

  /** A store id: a positive integer (number or digit string), as a string; 0 and absent are null. */
  id(v: unknown, field: string): string | null {
    if (v === undefined || v === null || v === 0 || v === '0') return null;
    if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return String(v);
    if (typeof v === 'string' && /^\d{1,30}$/.test(v)) return v.replace(/^0+(?=\d)/, '');
    return this.fail(field, 'must be a positive integer id');
  }

  /** A value a reader returned, with absence recorded as an error (unless the field already failed). */
  required<T>(value: T | null, field: string): T | null {
    if (value === null && !this.errors.some((e) => e.field === field)) this.fail(field, 'is missing');
    return value;
  }

  /** Money as stores send it: a decimal string ("12.50") or a number; empty or absent is null. */
  money(v: unknown, field: string): number | null {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'number') return Number.isFinite(v) ? v : this.fail(field, 'must be a finite amount');
    if (typeof v === 'string' && /^-?\d{1,15}(\.\d{1,10})?$/.test(v.trim())) return Number(v.trim());
    return this.fail(field, `"${String(v).slice(0, 40)}" is not an amount such as 12.50`);
  }

  /** A whole number (quantities). */
  integer(v: unknown, field: string): number | null {
    const n = typeof v === 'string' && /^-?\d{1,9}$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
    return this.fail(field, 'must be a whole number');
  }

  /** A WooCommerce `*_gmt` time: `YYYY-MM-DDTHH:MM:SS`, UTC without an offset. */
  wooTime(v: unknown, field: string): number | null {
    if (v === undefined || v === null || v === '') return null;
    const m = typeof v === 'string' ? WOO_TIME.exec(v) : null;
    const t = m ? checkedTime(m, `${v}Z`) : null;
    return t ?? this.fail(field, `"${String(v).slice(0, 40)}" is not a time such as 2026-11-27T10:00:00 (UTC, no offset)`);
  }

  /** An ISO 8601 time with its offset, as Shopify sends them (2026-11-27T10:00:00-05:00). */
  isoTime(v: unknown, field: string): number | null {
    if (v === undefined || v === null || v === '') return null;
    const m = typeof v === 'string' ? ISO_TIME.exec(v) : null;
    const t = m ? checkedTime(m, v as string) : null;
    return t ?? this.fail(field, `"${String(v).slice(0, 40)}" is not an ISO 8601 time such as 2026-11-27T10:00:00-05:00`);
  }

  /** A currency code, upper case. */
  currency(v: unknown, field: string): string | null {
    if (v === undefined || v === null || v === '') return null;
    if (typeof v === 'string' && /^[A-Za-z]{3}$/.test(v)) return v.toUpperCase();
    return this.fail(field, 'must be a three-letter currency code such as EUR');
  }

  /** An array (absent is empty). */
  list(v: unknown, field: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (Array.isArray(v)) return v;
    this.fail(field, 'must be a list');
    return [];
  }

  /** The result: the value if nothing was wrong. */
  done<T>(value: T): Mapped<T> {
    return this.errors.length === 0 ? { ok: true, value } : { ok: false, errors: this.errors };
  }
}

/** The time of a matched date, or null when a field is out of range (month 13, 30 February). */
function checkedTime(m: RegExpExecArray, text: string): number | null {
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  const t = Date.parse(text);
  if (!Number.isFinite(t) || h! > 23 || mi! > 59 || s! > 59) return null;
  // Date.parse rolls 30 February over into March; the calendar date must survive unchanged.
  const day = new Date(Date.UTC(y!, mo! - 1, d!));
  return day.getUTCFullYear() === y && day.getUTCMonth() === mo! - 1 && day.getUTCDate() === d ? t : null;
}

/** The problems of a mapping, as one readable sentence. */
export function describeErrors(errors: readonly ErrorDetail[]): string {
  return errors.map((e) => `${e.field}: ${e.message}`).join('; ');
}

/** What one store webhook asks Chapar to record, or why it records nothing. */
export type StoreReading =
  | { kind: 'order'; order: OrderInput }
  | { kind: 'customer'; customer: CustomerInput }
  | { kind: 'product'; product: ProductInput }
  | { kind: 'cart'; cart: CartInput }
  /** A store's request to erase a customer (Shopify `customers/redact`). */
  | { kind: 'erasure'; customer: { source: CustomerInput['source']; externalId: string | null; email: string | null } }
  | { kind: 'ignored'; why: string }
  | { kind: 'invalid'; errors: ErrorDetail[] };

/** A mapping's result as a reading: the input under its kind, or the problems. */
export function readingOf<K extends 'order' | 'customer' | 'product' | 'cart', T>(kind: K, mapped: Mapped<T>): StoreReading {
  if (!mapped.ok) return { kind: 'invalid', errors: mapped.errors };
  return { kind, [kind]: mapped.value } as unknown as StoreReading;
}

/**
 * An order or checkout with no email and no customer account names nobody Chapar could write to
 * (a block-checkout draft before the email field, a point-of-sale sale): it is ignored with the
 * reason, not refused, because a store disables a webhook after a few refused deliveries.
 */
export function ignoreAnonymous(reading: StoreReading, what: string): StoreReading {
  const buyer = reading.kind === 'order' ? reading.order.customer : reading.kind === 'cart' ? reading.cart.customer : null;
  if (!buyer || buyer.email || buyer.externalId) return reading;
  const id = reading.kind === 'order' ? reading.order.externalId : reading.kind === 'cart' ? reading.cart.externalId : '';
  return { kind: 'ignored', why: `${what} ${id} has no email and no customer account: there is nobody to link it to` };
}
