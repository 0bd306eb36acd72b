import { inTransaction, type Db } from '../db/database.ts';
import { markCartsAbandoned } from '../db/queries/carts.ts';
import { recomputeContactMetrics } from '../db/queries/contact-metrics.ts';
import { insertEventOnce } from '../db/queries/events.ts';
import { upsertProduct } from '../db/queries/products.ts';
import { checkCart, checkCustomer, checkOrder, checkProduct, type StoreCheck } from '../domain/store-checks.ts';
import { PURCHASE_STATUSES, type CartInput, type CustomerInput, type OrderInput, type ProductInput } from '../domain/store.ts';
import type { ErrorDetail } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';
import { storeCart, type StoredCart } from './store-carts.ts';
import { resolveStoreContact } from './store-contacts.ts';
import { storeOrder, type StoredOrder } from './store-orders.ts';
import { getStoreSettings } from './store-settings.ts';

// The one way store data gets in: connectors (WooCommerce and Shopify webhooks and backfills, the
// events API, CSV imports) map their payloads onto the inputs of domain/store.ts and call these.
// Each call checks every input, stores the good ones in one transaction (one row per source and
// external id, so replays and backfills land on the same row; a version older than the stored one
// changes nothing) and reports the bad ones by index, each error naming its field.

/** An input that was not stored, with every reason (field paths such as `orders[3].items[0].quantity`). */
export interface StoreRejection {
  index: number;
  errors: ErrorDetail[];
}

/** Something stored but worth a look: a currency other than the store's, a profile field dropped. */
export interface StoreWarning extends ErrorDetail {
  index: number;
}

/** What every record call returns: one entry per stored input (in input order), the rejected inputs, the warnings. */
export interface StoreBatchResult<S> {
  stored: S[];
  rejected: StoreRejection[];
  warnings: StoreWarning[];
}

/** What happened to one customer. */
export interface StoredCustomer {
  index: number;
  /** The customer's contact (a customer known only by an externalId gets one without an address). */
  contactId: number | null;
  created: boolean;
  /** Set when this customer joined two contacts: the id of the one merged away (and deleted). */
  mergedFrom: number | null;
}

/** What happened to one product. */
export interface StoredProduct {
  index: number;
  productId: number;
  /** false: the stored product has a newer `updatedAt`; nothing was changed. */
  applied: boolean;
}

/** What each record call returns (see StoreBatchResult). */
export type RecordCustomersResult = StoreBatchResult<StoredCustomer>;
export type RecordProductsResult = StoreBatchResult<StoredProduct>;
export type RecordOrdersResult = StoreBatchResult<StoredOrder>;
export type RecordCartsResult = StoreBatchResult<StoredCart>;
export type { StoredCart, StoredOrder };

/** Carts just judged abandoned. */
export interface MarkAbandonedCartsResult {
  abandoned: { cartId: number; contactId: number | null; source: string; externalId: string; value: number; currency: string | null }[];
}

const NO_CONTACT = (noun: string) => `names no customer (neither an email nor an externalId): the ${noun} is stored without a contact`;

/** Checks every input; returns the good ones with their index, and the rejections. */
function checkAll<I, T>(inputs: readonly I[], noun: string, check: (input: I, path: string) => StoreCheck<T>) {
  const good: { index: number; value: T }[] = [];
  const rejected: StoreRejection[] = [];
  const warnings: StoreWarning[] = [];
  if (!Array.isArray(inputs)) return { good, rejected: [{ index: -1, errors: [{ field: noun, message: 'must be a list' }] }], warnings };
  inputs.forEach((input, index) => {
    const r = check(input, `${noun}[${index}]`);
    if (!r.ok) return void rejected.push({ index, errors: r.errors });
    good.push({ index, value: r.value });
    for (const w of r.warnings) warnings.push({ index, ...w });
  });
  return { good, rejected, warnings };
}

/** Recomputes the order metrics of the contacts a batch touched (inside its transaction). */
export async function refreshContactMetrics(tx: Db, contactIds: Iterable<number>, currency: string, now: number): Promise<void> {
  await recomputeContactMetrics(tx, { contactIds: [...contactIds], statuses: PURCHASE_STATUSES, currency, now });
}

/**
 * Stores customers as contacts: found by address or by the store's customer id, created on first
 * sight, merged when the two name different contacts; their profile fields replace stored ones.
 */
export async function recordCustomers(ctx: ServiceContext, inputs: readonly CustomerInput[]): Promise<RecordCustomersResult> {
  const { good, rejected, warnings } = checkAll(inputs, 'customers', checkCustomer);
  const stored: StoredCustomer[] = [];
  const currency = (await getStoreSettings(ctx)).defaultCurrency;
  const now = ctx.clock.now();
  await inTransaction(ctx.db, async (tx) => {
    const merged = new Set<number>();
    for (const { index, value } of good) {
      const r = await resolveStoreContact(tx, value, 'overwrite', now);
      if (r.merged) merged.add(r.merged.into);
      stored.push({ index, contactId: r.contactId, created: r.created, mergedFrom: r.merged?.from ?? null });
    }
    await refreshContactMetrics(tx, merged, currency, now);
  });
  return { stored, rejected, warnings };
}

/** Stores products by (source, external id); a stub made for an order becomes a full product. */
export async function recordProducts(ctx: ServiceContext, inputs: readonly ProductInput[]): Promise<RecordProductsResult> {
  const { good, rejected, warnings } = checkAll(inputs, 'products', checkProduct);
  const stored: StoredProduct[] = [];
  const currency = (await getStoreSettings(ctx)).defaultCurrency;
  const now = ctx.clock.now();
  await inTransaction(ctx.db, async (tx) => {
    for (const { index, value: p } of good) {
      const r = await upsertProduct(tx, { source: p.source, externalId: p.externalId, sku: p.sku ?? null, name: p.name, url: p.url ?? null, imageUrl: p.imageUrl ?? null, price: p.price ?? null, currency: p.currency ?? null, categories: p.categories, inStock: p.inStock ?? null, sourceUpdatedAt: p.updatedAt ?? null }, now);
      if (p.currency && p.currency !== currency) warnings.push({ index, field: `products[${index}].currency`, message: `${p.currency} is not the store's currency (${currency}); stored as is, not converted` });
      stored.push({ index, productId: r.id, applied: r.applied });
    }
  });
  return { stored, rejected, warnings };
}

/**
 * Stores orders with their lines (unknown products get stubs), their customer's contact, the
 * `order_placed` and `order_fulfilled` events (once each, however often the order is replayed),
 * an `order_refunded` event each time more of it is refunded,
 * converts the customer's carts, and recomputes the metrics of every contact whose orders changed.
 * An order in another currency than the store's is stored as is, with a warning.
 */
export async function recordOrders(ctx: ServiceContext, inputs: readonly OrderInput[]): Promise<RecordOrdersResult> {
  const { good, rejected, warnings } = checkAll(inputs, 'orders', checkOrder);
  const stored: StoredOrder[] = [];
  const currency = (await getStoreSettings(ctx)).defaultCurrency;
  const now = ctx.clock.now();
  await inTransaction(ctx.db, async (tx) => {
    const affected = new Set<number>();
    for (const { index, value } of good) {
      const r = await storeOrder(tx, value, now, affected);
      if (value.currency !== currency) {
        warnings.push({ index, field: `orders[${index}].currency`, message: `${value.currency} is not the store's currency (${currency}): stored as is, not converted, and left out of the contact's total spent and average order value` });
      }
      if (r.applied && r.contactId === null) warnings.push({ index, field: `orders[${index}].customer`, message: NO_CONTACT('order') });
      stored.push({ ...r, index });
    }
    await refreshContactMetrics(tx, affected, currency, now);
  });
  return { stored, rejected, warnings };
}

/** Stores carts and checkouts; one that became an order (completedAt, or its order's id) is marked converted. */
export async function recordCarts(ctx: ServiceContext, inputs: readonly CartInput[]): Promise<RecordCartsResult> {
  const { good, rejected, warnings } = checkAll(inputs, 'carts', checkCart);
  const stored: StoredCart[] = [];
  const currency = (await getStoreSettings(ctx)).defaultCurrency;
  const now = ctx.clock.now();
  await inTransaction(ctx.db, async (tx) => {
    const merged = new Set<number>();
    for (const { index, value } of good) {
      const r = await storeCart(tx, value, now, merged);
      if (value.currency && value.currency !== currency) warnings.push({ index, field: `carts[${index}].currency`, message: `${value.currency} is not the store's currency (${currency}); stored as is, not converted` });
      if (r.applied && r.contactId === null) warnings.push({ index, field: `carts[${index}].customer`, message: NO_CONTACT('cart') });
      stored.push({ ...r, index });
    }
    await refreshContactMetrics(tx, merged, currency, now);
  });
  return { stored, rejected, warnings };
}

/**
 * Marks open carts untouched for `idleMs` abandoned and appends a `cart_abandoned` event for each
 * (once per cart version: a cart reopened by a later update can be abandoned again).
 */
export async function markAbandonedCarts(ctx: ServiceContext, opts: { idleMs: number }): Promise<MarkAbandonedCartsResult> {
  if (!Number.isFinite(opts.idleMs) || opts.idleMs < 0) throw new RangeError('idleMs must be a non-negative number of milliseconds');
  const now = ctx.clock.now();
  return inTransaction(ctx.db, async (tx) => {
    const carts = await markCartsAbandoned(tx, { idleSince: now - opts.idleMs, now });
    for (const c of carts) {
      await insertEventOnce(tx, { type: 'cart_abandoned', contactId: c.contactId, messageRef: null, properties: { cartId: c.id, externalId: c.externalId, value: c.value, currency: c.currency }, ip: null, userAgent: null, occurredAt: now, source: c.source, sourceEventId: `cart_abandoned/${c.externalId}/${c.sourceUpdatedAt}` });
    }
    return { abandoned: carts.map((c) => ({ cartId: c.id, contactId: c.contactId, source: c.source, externalId: c.externalId, value: c.value, currency: c.currency })) };
  });
}
