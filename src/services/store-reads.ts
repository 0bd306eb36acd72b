import { selectCarts, type CartRecord, type CartStatus } from '../db/queries/carts.ts';
import { selectContactMetrics, type ContactMetricsRecord } from '../db/queries/contact-metrics.ts';
import { contactExists } from '../db/queries/contacts.ts';
import { selectOrders, type OrderRecord } from '../db/queries/orders.ts';
import { selectProducts, type ProductRecord } from '../db/queries/products.ts';
import { AppError } from '../lib/errors.ts';
import type { ServiceContext } from './context.ts';

/** Reads a page of orders, newest first: all, or one contact's. */
export function listOrders(ctx: ServiceContext, q: { contactId?: number; beforeId?: number; limit: number }): Promise<OrderRecord[]> {
  return selectOrders(ctx.db, q);
}

/** Reads one order with its lines, or fails with not_found. */
export async function getOrder(ctx: ServiceContext, id: number): Promise<OrderRecord> {
  const [order] = await selectOrders(ctx.db, { id, limit: 1 });
  if (!order) throw new AppError('not_found', `order ${id} does not exist`);
  return order;
}

/** Reads a page of products in id order, optionally of one source or SKU. */
export function listProducts(ctx: ServiceContext, q: { source?: string; sku?: string; afterId?: number; limit: number }): Promise<ProductRecord[]> {
  return selectProducts(ctx.db, q);
}

/** Reads a page of carts, newest first, optionally of one status or contact. */
export function listCarts(ctx: ServiceContext, q: { status?: CartStatus; contactId?: number; beforeId?: number; limit: number }): Promise<CartRecord[]> {
  return selectCarts(ctx.db, q);
}

/** A contact's order metrics; zeros for a contact who never bought (or whose metrics were never computed). */
export async function getContactMetrics(ctx: ServiceContext, contactId: number): Promise<Omit<ContactMetricsRecord, 'updatedAt'> & { updatedAt: number | null }> {
  if (!(await contactExists(ctx.db, contactId))) throw new AppError('not_found', `contact ${contactId} does not exist`);
  return (await selectContactMetrics(ctx.db, [contactId])).get(contactId) ?? emptyMetrics(contactId);
}

/** The metrics of a contact with no orders. */
export function emptyMetrics(contactId: number) {
  return { contactId, ordersCount: 0, totalSpent: 0, averageOrderValue: 0, firstOrderAt: null, lastOrderAt: null, expectedNextOrderAt: null, updatedAt: null };
}
