import type { OrderStatus } from '../../domain/store.ts';
import { mapWooCommerceStatus } from './woocommerce-webhooks.ts';

// How WooCommerce's database writes statuses, money and dates (formats.md 1.1-1.3), for the
// database backfill. Pure: no I/O.

/** What becomes of one WooCommerce order status: kept under a normalised status, or left out. */
export type WooStatusOutcome = { kind: 'order'; status: OrderStatus } | { kind: 'skip'; reason: string };

/**
 * Maps a status as the database stores it (`wc-processing`, `trash`) with the webhooks' mapping,
 * so a backfilled order lands as a delivered one would (a trashed order is cancelled, a plugin's
 * status is processing once paid). Admin `auto-draft`s are left out: they are not orders yet, and
 * WooCommerce sends no webhook for them either.
 */
export function mapWooStatus(raw: string | null | undefined, paid: boolean): WooStatusOutcome {
  const word = (raw ?? '').replace(/^wc-/, '');
  if (word === 'auto-draft' || word === 'new' || word === '') return { kind: 'skip', reason: `not yet an order (status "${word}")` };
  return { kind: 'order', status: mapWooCommerceStatus(word, paid) };
}

/** Reads a WooCommerce money value (REST strings "42.00", DECIMAL(26,8) "42.00000000", postmeta text); undefined when it is not a number. */
export function parseWooMoney(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const t = value.trim();
  if (!/^-?\d+(\.\d+)?$/.test(t)) return undefined;
  return Number(t);
}

/**
 * Reads a UTC date as WooCommerce writes it without an offset: REST `*_gmt` (`2026-11-01T09:30:00`)
 * or a MySQL DATETIME (`2026-11-01 09:30:00`). The MySQL zero date and empty values are null.
 */
export function parseWooGmtDate(value: unknown): number | null {
  if (typeof value !== 'string' || value === '' || value.startsWith('0000-00-00')) return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?$/.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, sec] = [+m[1]!, +m[2]!, +m[3]!, +m[4]!, +m[5]!, +m[6]!];
  const ms = Date.UTC(y, mo - 1, d, h, mi, sec);
  // Date.UTC rolls 30 February into March and hour 25 into the next day; such a value is broken, not a date.
  const back = new Date(ms);
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d && back.getUTCHours() === h && back.getUTCMinutes() === mi && back.getUTCSeconds() === sec ? ms : null;
}

/** Reads a unix-seconds timestamp as postmeta keeps `_date_paid` / `_date_completed`; null when absent or not one. */
export function parseUnixSeconds(value: unknown): number | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const s = String(value).trim();
  if (!/^\d{1,12}$/.test(s) || s === '0') return null;
  return Number(s) * 1000;
}

/** An empty string or null as WooCommerce leaves unset fields becomes null; anything else is trimmed text. */
export function textOrNull(value: unknown): string | null {
  if (typeof value !== 'string' && typeof value !== 'number') return null;
  const t = String(value).trim();
  return t === '' ? null : t;
}

/** A WordPress id (user, product): a positive integer as a string, else null (0 means a guest or no product). */
export function wooIdOrNull(value: unknown): string | null {
  const s = textOrNull(value);
  return s !== null && /^\d+$/.test(s) && s !== '0' && !/^0+$/.test(s) ? s.replace(/^0+/, '') : null;
}
