import type { ErrorDetail } from '../lib/errors.ts';
import { validateContactInput, type ContactDraft } from './contacts.ts';
import { normalizeEmail, type NormalizedEmail } from './emails.ts';
import { ORDER_STATUSES, STORE_SOURCES, type CartInput, type CustomerInput, type OrderInput, type OrderItemInput, type OrderStatus, type ProductInput, type StoreSource } from './store.ts';

// Checks of the connector inputs (services/store-data.ts stores them). Connectors map untrusted
// payloads onto these shapes, so every field is checked again here, with the path of the field at
// fault (`orders[3].items[0].quantity`). Profile fields of an order's customer that do not check
// out are dropped with a warning: the order itself is still worth keeping.

/** A customer reduced to what identifies them and what may be written to their contact. */
export interface CheckedCustomer {
  source: StoreSource;
  externalId: string | null;
  email: NormalizedEmail | null;
  /** Profile fields that checked out (firstName, lastName, phone, locale, attributes). */
  profile: ContactDraft;
}

/** An order or cart line that checked out. */
export interface CheckedItem {
  productExternalId: string | null;
  sku: string | null;
  name: string;
  quantity: number;
  price: number;
  categories: string[];
}

/** An order that checked out, its currency upper-cased and its customer and lines checked. */
export type CheckedOrder = Omit<OrderInput, 'customer' | 'items' | 'currency'> & { customer: CheckedCustomer; items: CheckedItem[]; currency: string };
/** A cart that checked out. */
export type CheckedCart = Omit<CartInput, 'customer' | 'items'> & { customer: CheckedCustomer; items: CheckedItem[]; currency: string | null };
/** A product that checked out. */
export type CheckedProduct = ProductInput & { categories: string[] };

/** The outcome of checking one input: its normalised value with warnings, or every error. */
export type StoreCheck<T> = { ok: true; value: T; warnings: ErrorDetail[] } | { ok: false; errors: ErrorDetail[] };

// Times before this are typos (a year 0026) or seconds passed as milliseconds; after it, nonsense.
const MIN_TIME = Date.UTC(1995, 0, 1);
const MAX_TIME = Date.UTC(2100, 0, 1);
const MAX_ITEMS = 1000;
const CONTROL = /[\u0000-\u001F\u007F]/;

/** Collects errors and warnings under one path prefix. */
class Findings {
  readonly errors: ErrorDetail[] = [];
  readonly warnings: ErrorDetail[] = [];
  fail(field: string, message: string): void {
    this.errors.push({ field, message });
  }
  warn(field: string, message: string): void {
    this.warnings.push({ field, message });
  }
  result<T>(value: T): StoreCheck<T> {
    return this.errors.length > 0 ? { ok: false, errors: this.errors } : { ok: true, value, warnings: this.warnings };
  }
}

function text(f: Findings, path: string, v: unknown, opts: { required: boolean; max: number }): string | null {
  if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
    if (opts.required) f.fail(path, 'is required');
    return null;
  }
  if (typeof v !== 'string' && typeof v !== 'number') return f.fail(path, 'must be text'), null;
  const s = String(v).trim();
  if (s.length > opts.max) return f.fail(path, `is longer than ${opts.max} characters`), null;
  if (CONTROL.test(s)) return f.fail(path, 'contains control characters'), null;
  return s;
}

function money(f: Findings, path: string, v: unknown, required: boolean): number | null {
  if (v === undefined || v === null) {
    if (required) f.fail(path, 'is required');
    return null;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return f.fail(path, `must be a number, not ${JSON.stringify(v)}`), null;
  if (v < 0) return f.fail(path, 'must not be negative'), null;
  return v;
}

/** What has been refunded of an order: an amount from 0 to its total (a store rounds; a cent over is its total). */
function refundedOf(f: Findings, path: string, o: OrderInput): number {
  const r = money(f, path, o.refunded, false) ?? 0;
  if (typeof o.total === 'number' && r > o.total + 0.005) return f.fail(path, `${r} is more than the order's total (${o.total})`), 0;
  return typeof o.total === 'number' ? Math.min(r, o.total) : r;
}

/** A time in epoch milliseconds between 1995 and 2100; anything else is a malformed date. */
function time(f: Findings, path: string, v: unknown, required: boolean): number | null {
  if (v === undefined || v === null) {
    if (required) f.fail(path, 'is required');
    return null;
  }
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < MIN_TIME || v >= MAX_TIME) {
    return f.fail(path, `${JSON.stringify(v)} is not a time (epoch milliseconds between 1995 and 2100)`), null;
  }
  return v;
}

function source(f: Findings, path: string, v: unknown): StoreSource {
  if (!STORE_SOURCES.includes(v as StoreSource)) f.fail(path, `must be one of ${STORE_SOURCES.join(', ')}`);
  return v as StoreSource;
}

function currency(f: Findings, path: string, v: unknown, required: boolean): string | null {
  if (v === undefined || v === null || v === '') {
    if (required) f.fail(path, 'is required');
    return null;
  }
  const check = typeof v === 'string' ? validateContactInput({ currency: v }, { requireEmail: false }) : null;
  if (!check?.ok || !check.value.currency) return f.fail(path, `${JSON.stringify(v)} is not an ISO 4217 currency code such as USD (or IRT for toman)`), null;
  return check.value.currency;
}

function categories(f: Findings, path: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.length > 100) return f.fail(path, 'must be a list of at most 100 names'), [];
  return v.flatMap((c, i) => text(f, `${path}[${i}]`, c, { required: true, max: 200 }) ?? []);
}

/** Checks a customer; `strictProfile` turns bad profile fields into errors instead of warnings. */
function checkCustomerInto(f: Findings, path: string, c: CustomerInput | undefined, orderSource: StoreSource | null, strictProfile: boolean): CheckedCustomer {
  const out: CheckedCustomer = { source: orderSource ?? 'api', externalId: null, email: null, profile: {} };
  if (!c || typeof c !== 'object') return f.fail(path, 'is required'), out;
  out.source = orderSource ?? source(f, `${path}.source`, c.source);
  out.externalId = text(f, `${path}.externalId`, c.externalId, { required: false, max: 128 });
  // WooCommerce names every guest customer 0: taken as an id, it would merge all guests into one contact.
  if (out.externalId === '0') out.externalId = null;
  if (c.email !== undefined && c.email !== null && c.email !== '') {
    const e = typeof c.email === 'string' ? normalizeEmail(c.email) : { ok: false as const, reason: 'is not text' };
    if (e.ok) out.email = e.value;
    else f.fail(`${path}.email`, `${JSON.stringify(c.email).slice(0, 80)} is not a valid email address: it ${e.reason}`);
  }
  // An order or cart of a guest without an address is still kept (without a contact; the caller warns).
  if (strictProfile && !out.email && !out.externalId && !f.errors.some((e) => e.field.startsWith(path))) f.fail(path, 'needs an email or an externalId');
  const { firstName, lastName, phone, locale, attributes } = c;
  const draft = Object.fromEntries(Object.entries({ firstName, lastName, phone, locale, attributes }).filter(([, v]) => v !== undefined && v !== null));
  const check = validateContactInput(draft, { requireEmail: false });
  if (check.ok) out.profile = check.value;
  else {
    for (const e of check.errors) (strictProfile ? f.fail : f.warn).call(f, `${path}.${e.field.replace(/\//g, '.')}`, `${e.message}${strictProfile ? '' : ' (not stored)'}`);
    const bad = new Set(check.errors.map((e) => e.field.split('/')[0]));
    const again = validateContactInput(Object.fromEntries(Object.entries(draft).filter(([k]) => !bad.has(k))), { requireEmail: false });
    out.profile = again.ok ? again.value : {};
  }
  return out;
}

function checkItems(f: Findings, path: string, items: readonly OrderItemInput[] | undefined): CheckedItem[] {
  if (!Array.isArray(items)) return f.fail(path, 'must be a list'), [];
  if (items.length > MAX_ITEMS) return f.fail(path, `has ${items.length} items; at most ${MAX_ITEMS}`), [];
  return items.map((it, i) => {
    const p = `${path}[${i}]`;
    if (!it || typeof it !== 'object') return f.fail(p, 'must be an object'), null;
    const quantity = it.quantity;
    if (typeof quantity !== 'number' || !Number.isSafeInteger(quantity) || quantity < 0 || quantity > 1_000_000) f.fail(`${p}.quantity`, `${JSON.stringify(quantity)} is not a whole number from 0 to 1000000`);
    return {
      productExternalId: text(f, `${p}.productExternalId`, it.productExternalId, { required: false, max: 128 }),
      sku: text(f, `${p}.sku`, it.sku, { required: false, max: 128 }),
      name: text(f, `${p}.name`, it.name, { required: true, max: 500 }) ?? '',
      quantity,
      price: money(f, `${p}.price`, it.price, true) ?? 0,
      categories: categories(f, `${p}.categories`, it.categories),
    };
  }).filter((x): x is CheckedItem => x !== null);
}

/** Checks a customer on its own (recordCustomers): every bad field is an error. */
export function checkCustomer(c: CustomerInput, path: string): StoreCheck<CheckedCustomer> {
  const f = new Findings();
  const value = checkCustomerInto(f, path, c, null, true);
  return f.result(value);
}

/** Checks a product. */
export function checkProduct(p: ProductInput, path: string): StoreCheck<CheckedProduct> {
  const f = new Findings();
  if (!p || typeof p !== 'object') return { ok: false, errors: [{ field: path, message: 'must be an object' }] };
  const value: CheckedProduct = {
    source: source(f, `${path}.source`, p.source),
    externalId: text(f, `${path}.externalId`, p.externalId, { required: true, max: 128 }) ?? '',
    sku: text(f, `${path}.sku`, p.sku, { required: false, max: 128 }),
    name: text(f, `${path}.name`, p.name, { required: true, max: 500 }) ?? '',
    url: text(f, `${path}.url`, p.url, { required: false, max: 2000 }),
    imageUrl: text(f, `${path}.imageUrl`, p.imageUrl, { required: false, max: 2000 }),
    price: money(f, `${path}.price`, p.price, false),
    currency: currency(f, `${path}.currency`, p.currency, false),
    categories: categories(f, `${path}.categories`, p.categories),
    inStock: p.inStock === undefined || p.inStock === null ? null : typeof p.inStock === 'boolean' ? p.inStock : (f.fail(`${path}.inStock`, 'must be true, false or null'), null),
    updatedAt: time(f, `${path}.updatedAt`, p.updatedAt, false),
  };
  for (const k of ['url', 'imageUrl'] as const) if (value[k] && !/^https?:\/\/\S+$/.test(value[k]!)) f.fail(`${path}.${k}`, 'must be an http(s) URL');
  return f.result(value);
}

/** Checks an order with its customer and items. */
export function checkOrder(o: OrderInput, path: string): StoreCheck<CheckedOrder> {
  const f = new Findings();
  if (!o || typeof o !== 'object') return { ok: false, errors: [{ field: path, message: 'must be an object' }] };
  const src = source(f, `${path}.source`, o.source);
  if (!ORDER_STATUSES.includes(o.status)) f.fail(`${path}.status`, `${JSON.stringify(o.status)} is not one of ${ORDER_STATUSES.join(', ')}`);
  const coupons = o.couponCodes ?? [];
  if (!Array.isArray(coupons) || coupons.length > 100) f.fail(`${path}.couponCodes`, 'must be a list of at most 100 codes');
  const value: CheckedOrder = {
    source: src,
    externalId: text(f, `${path}.externalId`, o.externalId, { required: true, max: 128 }) ?? '',
    number: text(f, `${path}.number`, o.number, { required: false, max: 128 }),
    customer: checkCustomerInto(f, `${path}.customer`, o.customer, STORE_SOURCES.includes(src) ? src : null, false),
    status: o.status as OrderStatus,
    sourceStatus: text(f, `${path}.sourceStatus`, o.sourceStatus, { required: false, max: 64 }),
    currency: currency(f, `${path}.currency`, o.currency, true) ?? '',
    total: money(f, `${path}.total`, o.total, true) ?? 0,
    refunded: refundedOf(f, `${path}.refunded`, o),
    discount: money(f, `${path}.discount`, o.discount, false) ?? 0,
    couponCodes: Array.isArray(coupons) ? coupons.slice(0, 100).flatMap((c, i) => text(f, `${path}.couponCodes[${i}]`, c, { required: true, max: 128 }) ?? []) : [],
    orderedAt: time(f, `${path}.orderedAt`, o.orderedAt, true) ?? 0,
    paidAt: time(f, `${path}.paidAt`, o.paidAt, false),
    completedAt: time(f, `${path}.completedAt`, o.completedAt, false),
    updatedAt: time(f, `${path}.updatedAt`, o.updatedAt, false),
    items: checkItems(f, `${path}.items`, o.items),
  };
  return f.result(value);
}

/** Checks a cart or checkout with its customer and items. */
export function checkCart(c: CartInput, path: string): StoreCheck<CheckedCart> {
  const f = new Findings();
  if (!c || typeof c !== 'object') return { ok: false, errors: [{ field: path, message: 'must be an object' }] };
  const src = source(f, `${path}.source`, c.source);
  const recoveryUrl = text(f, `${path}.recoveryUrl`, c.recoveryUrl, { required: false, max: 2000 });
  if (recoveryUrl && !/^https?:\/\/\S+$/.test(recoveryUrl)) f.fail(`${path}.recoveryUrl`, 'must be an http(s) URL');
  const value: CheckedCart = {
    source: src,
    externalId: text(f, `${path}.externalId`, c.externalId, { required: true, max: 128 }) ?? '',
    customer: checkCustomerInto(f, `${path}.customer`, c.customer, STORE_SOURCES.includes(src) ? src : null, false),
    items: checkItems(f, `${path}.items`, c.items),
    value: money(f, `${path}.value`, c.value, true) ?? 0,
    currency: currency(f, `${path}.currency`, c.currency, false),
    recoveryUrl,
    updatedAt: time(f, `${path}.updatedAt`, c.updatedAt, true) ?? 0,
    completedAt: time(f, `${path}.completedAt`, c.completedAt, false),
    orderExternalId: text(f, `${path}.orderExternalId`, c.orderExternalId, { required: false, max: 128 }),
  };
  return f.result(value);
}
