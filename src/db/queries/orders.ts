import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';

/** What an order upsert writes (the order's own columns; items separately). */
export interface OrderWrite {
  source: string;
  externalId: string;
  number: string | null;
  contactId: number | null;
  status: string;
  sourceStatus: string | null;
  currency: string;
  total: number;
  /** Refunded so far; the net amount is total − refunded. */
  refunded: number;
  discount: number;
  couponCodes: string[];
  orderedAt: number;
  paidAt: number | null;
  completedAt: number | null;
  sourceUpdatedAt: number | null;
}

/** One line of an order as stored. */
export interface OrderItemRecord {
  productId: number | null;
  sku: string | null;
  name: string;
  quantity: number;
  price: number;
}

/** An order as stored, with its lines. */
export interface OrderRecord extends OrderWrite {
  id: number;
  createdAt: number;
  updatedAt: number;
  items: OrderItemRecord[];
}

/** What decides how an incoming version of an order is applied. */
export interface OrderState {
  id: number;
  status: string;
  refunded: number;
  contactId: number | null;
  sourceUpdatedAt: number | null;
}

/** Reads the state of one order by (source, external id). */
export async function selectOrderState(db: Db, source: string, externalId: string): Promise<OrderState | undefined> {
  return db.k.selectFrom('orders').select(['id', 'status', 'refunded', 'contactId', 'sourceUpdatedAt']).where('source', '=', source).where('externalId', '=', externalId).executeTakeFirst();
}

/**
 * Inserts or updates one order by (source, external id), unless the stored row has a newer source
 * time. Returns the id when the row was written, undefined when it was older. Changes `orders`.
 */
export async function upsertOrder(db: Db, o: OrderWrite, now: number): Promise<number | undefined> {
  const values = { ...o, couponCodes: toJsonColumn(o.couponCodes), createdAt: now, updatedAt: now };
  const { source, externalId, createdAt, ...set } = values;
  const row = await db.k
    .insertInto('orders')
    .values(values)
    .onConflict((oc) => {
      const update = oc.columns(['source', 'externalId']).doUpdateSet(set);
      const t = o.sourceUpdatedAt;
      return t === null ? update : update.where((eb) => eb.or([eb('orders.sourceUpdatedAt', 'is', null), eb('orders.sourceUpdatedAt', '<=', t)]));
    })
    .returning('id')
    .executeTakeFirst();
  return row?.id;
}

/** Replaces the lines of one order. Changes `order_items`. */
export async function replaceOrderItems(db: Db, orderId: number, items: readonly OrderItemRecord[]): Promise<void> {
  await db.k.deleteFrom('orderItems').where('orderId', '=', orderId).execute();
  // 7 columns a line; SQLite takes 32,766 parameters.
  for (let i = 0; i < items.length; i += 1000) {
    await db.k.insertInto('orderItems').values(items.slice(i, i + 1000).map((it) => ({ ...it, orderId }))).execute();
  }
}

/** Reads the ids of one source's orders with these external ids: external id → id. */
export async function selectOrderIds(db: Db, source: string, externalIds: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (let i = 0; i < externalIds.length; i += 500) {
    const rows = await db.k.selectFrom('orders').select(['id', 'externalId']).where('source', '=', source).where('externalId', 'in', externalIds.slice(i, i + 500)).execute();
    for (const r of rows) out.set(r.externalId, r.id);
  }
  return out;
}

/** Reads orders with their lines: one order by id, or a page of one contact's (newest first, `beforeId` cursor). */
export async function selectOrders(db: Db, f: { id?: number; contactId?: number; beforeId?: number; limit: number }): Promise<OrderRecord[]> {
  let q = db.k.selectFrom('orders').selectAll().orderBy('id', 'desc').limit(f.limit);
  if (f.id !== undefined) q = q.where('id', '=', f.id);
  if (f.contactId !== undefined) q = q.where('contactId', '=', f.contactId);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  const rows = await q.execute();
  if (rows.length === 0) return [];
  const items = await db.k.selectFrom('orderItems').select(['orderId', 'productId', 'sku', 'name', 'quantity', 'price']).where('orderId', 'in', rows.map((r) => r.id)).orderBy('id').execute();
  const byOrder = new Map<number, OrderItemRecord[]>();
  for (const { orderId, ...it } of items) byOrder.set(orderId, [...(byOrder.get(orderId) ?? []), it]);
  return rows.map((r) => ({ ...r, discount: r.discount, couponCodes: fromJsonColumn<string[]>(r.couponCodes), items: byOrder.get(r.id) ?? [] }));
}
