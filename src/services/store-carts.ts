import type { Db } from '../db/database.ts';
import { selectCartBySource, upsertCart, type CartStatus } from '../db/queries/carts.ts';
import { selectOrderIds } from '../db/queries/orders.ts';
import type { CheckedCart } from '../domain/store-checks.ts';
import { resolveStoreContact } from './store-contacts.ts';
import { resolveItemProducts } from './store-items.ts';
import { isOlder } from './store-orders.ts';

/** What happened to one cart. */
export interface StoredCart {
  index: number;
  cartId: number;
  contactId: number | null;
  status: CartStatus;
  /** false: the stored cart has a newer `updatedAt`; nothing was changed. */
  applied: boolean;
  /** The order it became, when that order is known. */
  convertedOrderId: number | null;
}

/**
 * Stores one checked cart inside the caller's transaction, unless the stored version is newer.
 * A converted cart stays converted; one with `completedAt` or its order's id becomes converted
 * (linked to that order when Chapar has it); an abandoned cart updated again is open again.
 * Contacts merged on the way are added to `merged` (their metrics change).
 */
export async function storeCart(tx: Db, c: CheckedCart, now: number, merged: Set<number>): Promise<Omit<StoredCart, 'index'>> {
  const state = await selectCartBySource(tx, c.source, c.externalId);
  if (state && isOlder(c.updatedAt, state.sourceUpdatedAt)) {
    return { cartId: state.id, contactId: state.contactId, status: state.status, applied: false, convertedOrderId: state.convertedOrderId };
  }
  const contact = await resolveStoreContact(tx, c.customer, 'fill', now);
  if (contact.merged) merged.add(contact.merged.into);
  const { items } = await resolveItemProducts(tx, c.source, c.currency, c.items, now);
  const orderId = c.orderExternalId ? (await selectOrderIds(tx, c.source, [c.orderExternalId])).get(c.orderExternalId) ?? null : null;
  let status: CartStatus = 'open';
  let abandonedAt: number | null = null;
  if (state?.status === 'converted' || c.completedAt || c.orderExternalId) status = 'converted';
  else if (state?.status === 'abandoned' && c.updatedAt === state.sourceUpdatedAt) [status, abandonedAt] = ['abandoned', state.abandonedAt];
  const convertedOrderId = orderId ?? state?.convertedOrderId ?? null;
  const cartId = await upsertCart(
    tx,
    {
      source: c.source,
      externalId: c.externalId,
      contactId: contact.contactId ?? state?.contactId ?? null,
      status,
      items: items.map((it) => ({ productId: it.productId, productExternalId: it.productExternalId, sku: it.sku, name: it.name, quantity: it.quantity, price: it.price })),
      value: c.value,
      currency: c.currency,
      recoveryUrl: c.recoveryUrl ?? null,
      convertedOrderId: status === 'converted' ? convertedOrderId : null,
      sourceUpdatedAt: c.updatedAt,
      abandonedAt,
    },
    now,
  );
  return { cartId, contactId: contact.contactId ?? state?.contactId ?? null, status, applied: true, convertedOrderId: status === 'converted' ? convertedOrderId : null };
}
