import type { Db } from '../../src/db/database.ts';
import { toJsonColumn } from '../../src/db/dialect.ts';

// Rows written straight into the tables segments read, so the compiler is tested against data
// whose expected members are worked out by hand (independent of the store-data services).

export const DAY = 86_400_000;

let seq = 0;
const next = () => ++seq;

/** Inserts a contact; returns its id. */
export async function addContact(db: Db, c: { email?: string; firstName?: string | null; attributes?: Record<string, unknown>; createdAt?: number; updatedAt?: number }): Promise<number> {
  const email = c.email ?? `c${next()}@example.com`;
  const at = c.createdAt ?? 0;
  const row = await db.k
    .insertInto('contacts')
    .values({ email, emailKey: email.toLowerCase(), emailDomain: email.split('@')[1]!, firstName: c.firstName ?? null, attributes: toJsonColumn(c.attributes ?? {}), createdAt: at, updatedAt: c.updatedAt ?? at })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Inserts a product; returns its id. */
export async function addProduct(db: Db, p: { sku?: string; categories?: string[] }): Promise<number> {
  const row = await db.k
    .insertInto('products')
    .values({ source: 'api', externalId: `p${next()}`, sku: p.sku ?? null, name: 'Product', categories: toJsonColumn(p.categories ?? []), createdAt: 0, updatedAt: 0 })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Inserts an order (with items); returns its id. */
export async function addOrder(db: Db, o: { contactId: number; status?: string; total: number; orderedAt: number; updatedAt?: number; items?: { productId?: number; sku?: string }[] }): Promise<number> {
  const row = await db.k
    .insertInto('orders')
    .values({ source: 'api', externalId: `o${next()}`, contactId: o.contactId, status: o.status ?? 'completed', currency: 'IRT', total: o.total, couponCodes: '[]', orderedAt: o.orderedAt, createdAt: o.orderedAt, updatedAt: o.updatedAt ?? o.orderedAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  for (const it of o.items ?? []) {
    await db.k.insertInto('orderItems').values({ orderId: row.id, productId: it.productId ?? null, sku: it.sku ?? null, name: 'Item', quantity: 1, price: o.total }).execute();
  }
  return row.id;
}

/** Inserts or replaces a contact's order metrics (what the store-data service keeps). */
export async function setMetrics(db: Db, m: { contactId: number; ordersCount: number; totalSpent: number; firstOrderAt: number | null; lastOrderAt: number | null; updatedAt?: number }): Promise<void> {
  const values = { ordersCount: m.ordersCount, totalSpent: m.totalSpent, averageOrderValue: m.ordersCount ? m.totalSpent / m.ordersCount : 0, firstOrderAt: m.firstOrderAt, lastOrderAt: m.lastOrderAt, updatedAt: m.updatedAt ?? 0 };
  await db.k
    .insertInto('contactMetrics')
    .values({ contactId: m.contactId, ...values })
    .onConflict((oc) => oc.column('contactId').doUpdateSet(values))
    .execute();
}

/** Inserts a cart. */
export async function addCart(db: Db, c: { contactId?: number | null; status: 'open' | 'abandoned' | 'converted'; value: number; updatedAt: number; abandonedAt?: number | null }): Promise<void> {
  await db.k
    .insertInto('carts')
    .values({ source: 'api', externalId: `k${next()}`, contactId: c.contactId ?? null, status: c.status, items: '[]', value: c.value, sourceUpdatedAt: c.updatedAt, abandonedAt: c.abandonedAt ?? null, createdAt: c.updatedAt, updatedAt: c.updatedAt })
    .execute();
}

/** Inserts an event. */
export async function addEvent(db: Db, e: { contactId: number; type: string; occurredAt: number; properties?: Record<string, unknown>; messageRef?: string | null; machine?: string | null }): Promise<void> {
  await db.k
    .insertInto('events')
    .values({ type: e.type, contactId: e.contactId, messageRef: e.messageRef ?? null, properties: toJsonColumn(e.properties ?? {}), occurredAt: e.occurredAt, machine: e.machine ?? null })
    .execute();
}

/** Inserts a message; returns its ref. */
export async function addMessage(db: Db, m: { contactId: number; campaignId?: number | null; status: string; sentAt: number | null; updatedAt?: number }): Promise<string> {
  const ref = `m${next()}`;
  await db.k
    .insertInto('messages')
    .values({ idempotencyKey: ref, ref, stream: 'marketing', source: 'campaign', contactId: m.contactId, toEmail: 'x@example.com', data: '{}', campaignId: m.campaignId ?? null, streamId: 's', status: m.status, dueAt: 0, expiresAt: 0, createdAt: 0, updatedAt: m.updatedAt ?? m.sentAt ?? 0, sentAt: m.sentAt })
    .execute();
  return ref;
}

/** Creates a topic (if needed) and sets a contact's subscription status. */
export async function subscribe(db: Db, contactId: number, topic: string, status: 'pending' | 'subscribed' | 'unsubscribed', at = 0): Promise<void> {
  let t = await db.k.selectFrom('topics').select('id').where('key', '=', topic).executeTakeFirst();
  t ??= await db.k.insertInto('topics').values({ key: topic, name: topic, createdAt: 0, updatedAt: 0 }).returning('id').executeTakeFirstOrThrow();
  await db.k.insertInto('subscriptions').values({ contactId, topicId: t.id, status, updatedAt: at }).execute();
}
