import type { Db } from '../db/database.ts';
import { convertContactCarts } from '../db/queries/carts.ts';
import { insertEventOnce } from '../db/queries/events.ts';
import { replaceOrderItems, selectOrderState, upsertOrder } from '../db/queries/orders.ts';
import type { CheckedOrder } from '../domain/store-checks.ts';
import { roundMoney } from '../domain/store.ts';
import { resolveStoreContact } from './store-contacts.ts';
import { resolveItemProducts } from './store-items.ts';

/** What happened to one order. */
export interface StoredOrder {
  index: number;
  /** Chapar's id of the order (also when the update was too old to apply). */
  orderId: number;
  contactId: number | null;
  /** true: first sight of this order. */
  created: boolean;
  /** false: the stored order has a newer `updatedAt`; nothing was changed. */
  applied: boolean;
  /** Products created as stubs for lines naming products not seen yet. */
  stubProducts: number;
  /** Set when this order's customer joined two contacts: the one merged away. */
  mergedContactId: number | null;
}

// Orders that mean the customer bought: their carts are no longer waiting to be recovered.
const CONVERTING = new Set(['processing', 'completed', 'on_hold']);
// A cart touched up to this long after the order was placed is the one that became it (checkouts
// are updated as they complete); one touched later is a new cart.
const CART_SLACK_MS = 3600_000;

/**
 * Stores one checked order inside the caller's transaction: skips it when the stored version is
 * newer, else writes it with its lines, appends its events and converts the customer's carts.
 * Adds every contact whose metrics may have changed to `affected`.
 */
export async function storeOrder(tx: Db, o: CheckedOrder, now: number, affected: Set<number>): Promise<Omit<StoredOrder, 'index'>> {
  const state = await selectOrderState(tx, o.source, o.externalId);
  const stale = () => ({ orderId: state!.id, contactId: state!.contactId, created: false, applied: false, stubProducts: 0, mergedContactId: null });
  if (state && isOlder(o.updatedAt, state.sourceUpdatedAt)) return stale();
  const contact = await resolveStoreContact(tx, o.customer, 'fill', now);
  const { items, stubs } = await resolveItemProducts(tx, o.source, o.currency, o.items, now);
  const id = await upsertOrder(
    tx,
    { source: o.source, externalId: o.externalId, number: o.number ?? null, contactId: contact.contactId, status: o.status, sourceStatus: o.sourceStatus ?? null, currency: o.currency, total: o.total, refunded: o.refunded ?? 0, discount: o.discount ?? 0, couponCodes: o.couponCodes ?? [], orderedAt: o.orderedAt, paidAt: o.paidAt ?? null, completedAt: o.completedAt ?? null, sourceUpdatedAt: o.updatedAt ?? null },
    now,
  );
  // A concurrent writer stored a newer version between the read and the write.
  if (id === undefined) return { ...stale(), orderId: (await selectOrderState(tx, o.source, o.externalId))!.id };
  await replaceOrderItems(tx, id, items.map((it) => ({ productId: it.productId, sku: it.sku, name: it.name, quantity: it.quantity, price: it.price })));
  await appendOrderEvents(tx, id, o, contact.contactId, state?.refunded ?? 0);
  if (contact.contactId !== null) {
    affected.add(contact.contactId);
    if (CONVERTING.has(o.status)) await convertContactCarts(tx, { contactId: contact.contactId, source: o.source, orderId: id, before: o.orderedAt + CART_SLACK_MS, now });
  }
  if (state?.contactId != null && state.contactId !== contact.contactId) affected.add(state.contactId);
  return { orderId: id, contactId: contact.contactId, created: state === undefined, applied: true, stubProducts: stubs, mergedContactId: contact.merged?.from ?? null };
}

/** True when an incoming version is older than the stored one (either time unknown: not older). */
export function isOlder(incoming: number | null | undefined, stored: number | null | undefined): boolean {
  return incoming != null && stored != null && incoming < stored;
}

// Event ids hold a `/`, which ids sent to the events API may not: the two never collide.
async function appendOrderEvents(tx: Db, orderId: number, o: CheckedOrder, contactId: number | null, refundedBefore: number): Promise<void> {
  const refunded = o.refunded ?? 0;
  const properties = { orderId, externalId: o.externalId, number: o.number ?? null, status: o.status, total: o.total, refunded, currency: o.currency, itemCount: o.items.reduce((n, it) => n + it.quantity, 0) };
  const base = { contactId, messageRef: null, properties, ip: null, userAgent: null, source: o.source };
  // A draft is a checkout in progress, not yet an order anyone placed.
  if (o.status !== 'draft') await insertEventOnce(tx, { ...base, type: 'order_placed', occurredAt: o.orderedAt, sourceEventId: `order_placed/${o.externalId}` });
  if (o.status === 'completed') await insertEventOnce(tx, { ...base, type: 'order_fulfilled', occurredAt: o.completedAt ?? o.updatedAt ?? o.orderedAt, sourceEventId: `order_fulfilled/${o.externalId}` });
  // Each time more of the order is refunded: `amount` is this refund, `refunded` all so far. Keyed
  // by the new total, so a replayed update adds nothing.
  const amount = roundMoney(refunded - refundedBefore);
  if (amount > 0) {
    await insertEventOnce(tx, { ...base, properties: { ...properties, amount }, type: 'order_refunded', occurredAt: o.updatedAt ?? o.orderedAt, sourceEventId: `order_refunded/${o.externalId}/${refunded}` });
  }
}
