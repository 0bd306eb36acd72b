import type { Db } from '../database.ts';
import { fromJsonColumn, toJsonColumn } from '../dialect.ts';

/** The three states of a cart: open, abandoned after the idle delay, converted into an order. */
export type CartStatus = 'open' | 'abandoned' | 'converted';

/** What a cart upsert writes. */
export interface CartWrite {
  source: string;
  externalId: string;
  contactId: number | null;
  status: CartStatus;
  items: unknown[];
  value: number;
  currency: string | null;
  recoveryUrl: string | null;
  convertedOrderId: number | null;
  sourceUpdatedAt: number;
  abandonedAt: number | null;
}

/** A cart as stored. */
export interface CartRecord extends CartWrite {
  id: number;
  createdAt: number;
  updatedAt: number;
}

/** Reads one cart by (source, external id). */
export async function selectCartBySource(db: Db, source: string, externalId: string): Promise<CartRecord | undefined> {
  const row = await db.k.selectFrom('carts').selectAll().where('source', '=', source).where('externalId', '=', externalId).executeTakeFirst();
  return row ? { ...row, status: row.status as CartStatus, items: fromJsonColumn<unknown[]>(row.items) } : undefined;
}

/** Inserts or replaces one cart by (source, external id); the caller has checked it is not older. Returns its id. Changes `carts`. */
export async function upsertCart(db: Db, c: CartWrite, now: number): Promise<number> {
  const values = { ...c, items: toJsonColumn(c.items), createdAt: now, updatedAt: now };
  const { source, externalId, createdAt, ...set } = values;
  const row = await db.k
    .insertInto('carts')
    .values(values)
    .onConflict((oc) => oc.columns(['source', 'externalId']).doUpdateSet(set))
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Marks a contact's open or abandoned carts at one source, last touched before `before`, as
 * converted into `orderId`. Returns how many. Changes `carts`.
 */
export async function convertContactCarts(db: Db, f: { contactId: number; source: string; orderId: number; before: number; now: number }): Promise<number> {
  const r = await db.k
    .updateTable('carts')
    .set({ status: 'converted', convertedOrderId: f.orderId, updatedAt: f.now })
    .where('contactId', '=', f.contactId)
    .where('source', '=', f.source)
    .where('status', 'in', ['open', 'abandoned'])
    .where('sourceUpdatedAt', '<=', f.before)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Marks open carts last touched at or before `idleSince` abandoned; returns those carts. Changes `carts`. */
export async function markCartsAbandoned(db: Db, f: { idleSince: number; now: number }): Promise<{ id: number; source: string; externalId: string; contactId: number | null; sourceUpdatedAt: number; value: number; currency: string | null }[]> {
  return db.k
    .updateTable('carts')
    .set({ status: 'abandoned', abandonedAt: f.now, updatedAt: f.now })
    .where('status', '=', 'open')
    .where('sourceUpdatedAt', '<=', f.idleSince)
    .returning(['id', 'source', 'externalId', 'contactId', 'sourceUpdatedAt', 'value', 'currency'])
    .execute();
}

/** Reads a page of carts, newest first (`beforeId` cursor), optionally of one status or contact. */
export async function selectCarts(db: Db, f: { status?: CartStatus; contactId?: number; beforeId?: number; limit: number }): Promise<CartRecord[]> {
  let q = db.k.selectFrom('carts').selectAll().orderBy('id', 'desc').limit(f.limit);
  if (f.status !== undefined) q = q.where('status', '=', f.status);
  if (f.contactId !== undefined) q = q.where('contactId', '=', f.contactId);
  if (f.beforeId !== undefined) q = q.where('id', '<', f.beforeId);
  return (await q.execute()).map((row) => ({ ...row, status: row.status as CartStatus, items: fromJsonColumn<unknown[]>(row.items) }));
}
