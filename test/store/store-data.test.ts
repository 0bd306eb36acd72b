import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectContactMetrics } from '../../src/db/queries/contact-metrics.ts';
import { fromJsonColumn } from '../../src/db/dialect.ts';
import { selectOrders } from '../../src/db/queries/orders.ts';
import type { OrderInput } from '../../src/domain/store.ts';
import { markAbandonedCarts, recordCarts, recordCustomers, recordOrders, recordProducts } from '../../src/services/store-data.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-10-01T12:00:00Z');

function order(externalId: string, over: Partial<OrderInput> = {}): OrderInput {
  return {
    source: 'woocommerce',
    externalId,
    customer: { source: 'woocommerce', email: 'buyer@example.com', externalId: '77', firstName: 'Sara' },
    status: 'processing',
    currency: 'USD',
    total: 50,
    orderedAt: T0,
    updatedAt: T0,
    items: [{ productExternalId: 'p1', sku: 'SKU-1', name: 'Mug', quantity: 2, price: 25 }],
    ...over,
  };
}

describe.each(DIALECTS)('store data on %s', (dialect) => {
  let t: TestApp;
  const ctx = () => t.app.ctx;
  const count = async (table: string, where = sql`1 = 1`) => Number((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM ${sql.table(table)} WHERE ${where}`.execute(t.db.k)).rows[0]!.n);
  const contactIdOf = async (email: string) => (await t.db.k.selectFrom('contacts').select('id').where('emailKey', '=', email.toLowerCase()).executeTakeFirst())?.id;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('stores an order once however often it is replayed, with a stub product and one order_placed event', async () => {
    const first = await recordOrders(ctx(), [order('1001')]);
    expect(first.rejected).toEqual([]);
    expect(first.warnings).toEqual([]);
    expect(first.stored).toEqual([expect.objectContaining({ index: 0, created: true, applied: true, stubProducts: 1 })]);
    const again = await recordOrders(ctx(), [order('1001'), order('1001')]);
    expect(again.stored.map((s) => [s.created, s.applied, s.orderId])).toEqual([[false, true, first.stored[0]!.orderId], [false, true, first.stored[0]!.orderId]]);
    expect(await count('orders')).toBe(1);
    expect(await count('order_items')).toBe(1);
    expect(await count('products', sql`external_id = 'p1' AND is_stub = 1`)).toBe(1);
    expect(await count('events', sql`type = 'order_placed'`)).toBe(1);
    const contactId = await contactIdOf('buyer@example.com');
    expect(first.stored[0]!.contactId).toBe(contactId);
    expect(await count('contact_external_ids', sql`source = 'woocommerce' AND external_id = '77'`)).toBe(1);
    const [stored] = await selectOrders(t.db, { id: first.stored[0]!.orderId, limit: 1 });
    expect(stored!.items).toEqual([{ productId: expect.any(Number), sku: 'SKU-1', name: 'Mug', quantity: 2, price: 25 }]);
  });

  it('ignores an update older than the stored one and applies a newer one (order_fulfilled once)', async () => {
    const newer = await recordOrders(ctx(), [order('1001', { status: 'completed', completedAt: T0 + 2 * DAY, updatedAt: T0 + 2 * DAY })]);
    expect(newer.stored[0]!.applied).toBe(true);
    const late = await recordOrders(ctx(), [order('1001', { status: 'pending', updatedAt: T0 + DAY })]);
    expect(late.stored[0]).toEqual(expect.objectContaining({ applied: false, created: false }));
    const [o] = await selectOrders(t.db, { id: newer.stored[0]!.orderId, limit: 1 });
    expect(o!.status).toBe('completed');
    await recordOrders(ctx(), [order('1001', { status: 'completed', completedAt: T0 + 2 * DAY, updatedAt: T0 + 2 * DAY })]);
    expect(await count('events', sql`type = 'order_fulfilled'`)).toBe(1);
  });

  it('a product record fills its stub; an older product update is ignored', async () => {
    const r = await recordProducts(ctx(), [{ source: 'woocommerce', externalId: 'p1', sku: 'SKU-1', name: 'Blue mug', price: 25, currency: 'USD', categories: ['Kitchen'], inStock: true, url: 'https://shop.example/mug', updatedAt: T0 + 5 * DAY }]);
    expect(r.stored).toEqual([{ index: 0, productId: expect.any(Number), applied: true }]);
    expect(await count('products', sql`external_id = 'p1' AND is_stub = 0 AND name = 'Blue mug'`)).toBe(1);
    const old = await recordProducts(ctx(), [{ source: 'woocommerce', externalId: 'p1', name: 'Old mug', updatedAt: T0 }]);
    expect(old.stored[0]!.applied).toBe(false);
    expect(await count('products', sql`name = 'Blue mug'`)).toBe(1);
  });

  it('keeps metrics per contact: count, total, average, first/last order and expected next order (purchases only)', async () => {
    const customer = { source: 'shopify' as const, email: 'metrics@example.com' };
    const base = { source: 'shopify' as const, customer, currency: 'USD', items: [] };
    await recordOrders(ctx(), [
      { ...base, externalId: 'm1', status: 'completed', total: 30, orderedAt: T0 },
      { ...base, externalId: 'm2', status: 'processing', total: 60, orderedAt: T0 + 10 * DAY },
      { ...base, externalId: 'm3', status: 'cancelled', total: 999, orderedAt: T0 + 12 * DAY },
      { ...base, externalId: 'm4', status: 'completed', total: 90, orderedAt: T0 + 30 * DAY },
    ]);
    const id = (await contactIdOf('metrics@example.com'))!;
    const m = (await selectContactMetrics(t.db, [id])).get(id)!;
    // 3 purchases: 30 + 60 + 90 = 180, average 60; gaps 10 and 20 days → average 15 days.
    expect(m).toEqual(expect.objectContaining({ ordersCount: 3, totalSpent: 180, averageOrderValue: 60, firstOrderAt: T0, lastOrderAt: T0 + 30 * DAY, expectedNextOrderAt: T0 + 45 * DAY }));
    // Refunding the last one takes it out.
    await recordOrders(ctx(), [{ ...base, externalId: 'm4', status: 'refunded', total: 90, orderedAt: T0 + 30 * DAY }]);
    const after = (await selectContactMetrics(t.db, [id])).get(id)!;
    expect(after).toEqual(expect.objectContaining({ ordersCount: 2, totalSpent: 90, averageOrderValue: 45, lastOrderAt: T0 + 10 * DAY, expectedNextOrderAt: T0 + 20 * DAY }));
  });

  it('counts purchases net of partial refunds, with an order_refunded event for each new refund and none on replay', async () => {
    const customer = { source: 'shopify' as const, email: 'refunds@example.com' };
    const base = { source: 'shopify' as const, customer, currency: 'USD', items: [], status: 'completed' as const, updatedAt: T0 };
    await recordOrders(ctx(), [{ ...base, externalId: 'r1', total: 100, orderedAt: T0 }, { ...base, externalId: 'r2', total: 50, orderedAt: T0 + DAY }]);
    const id = (await contactIdOf('refunds@example.com'))!;
    expect((await selectContactMetrics(t.db, [id])).get(id)).toEqual(expect.objectContaining({ ordersCount: 2, totalSpent: 150, averageOrderValue: 75 }));
    // 30 of the first order comes back, then 20 more: still a purchase (status unchanged), worth 50 now.
    await recordOrders(ctx(), [{ ...base, externalId: 'r1', total: 100, refunded: 30, orderedAt: T0, updatedAt: T0 + 2 * DAY }]);
    await recordOrders(ctx(), [{ ...base, externalId: 'r1', total: 100, refunded: 50, orderedAt: T0, updatedAt: T0 + 3 * DAY }]);
    await recordOrders(ctx(), [{ ...base, externalId: 'r1', total: 100, refunded: 50, orderedAt: T0, updatedAt: T0 + 3 * DAY }]);
    expect((await selectContactMetrics(t.db, [id])).get(id)).toEqual(expect.objectContaining({ ordersCount: 2, totalSpent: 100, averageOrderValue: 50 }));
    const refunds = await t.db.k.selectFrom('events').select(['properties', 'occurredAt']).where('type', '=', 'order_refunded').where('contactId', '=', id).orderBy('id').execute();
    expect(refunds.map((e) => [fromJsonColumn(e.properties), e.occurredAt])).toEqual([
      [expect.objectContaining({ externalId: 'r1', amount: 30, refunded: 30, total: 100 }), T0 + 2 * DAY],
      [expect.objectContaining({ externalId: 'r1', amount: 20, refunded: 50, total: 100 }), T0 + 3 * DAY],
    ]);
    const [o] = await selectOrders(t.db, { contactId: id, limit: 5 }).then((os) => os.filter((x) => x.externalId === 'r1'));
    expect([o!.total, o!.refunded]).toEqual([100, 50]);
    // A refund larger than the order, or a negative one, is refused, naming the field.
    const bad = await recordOrders(ctx(), [{ ...base, externalId: 'r3', total: 10, refunded: 12, orderedAt: T0 }, { ...base, externalId: 'r4', total: 10, refunded: -1, orderedAt: T0 }]);
    expect(bad.rejected).toEqual([
      { index: 0, errors: [{ field: 'orders[0].refunded', message: "12 is more than the order's total (10)" }] },
      { index: 1, errors: [{ field: 'orders[1].refunded', message: 'must not be negative' }] },
    ]);
    expect(await count('orders', sql`external_id IN ('r3', 'r4')`)).toBe(0);
  });

  it('a single purchase has no expected next order', async () => {
    await recordOrders(ctx(), [order('s1', { customer: { source: 'woocommerce', email: 'single@example.com' }, total: 12.5 })]);
    const id = (await contactIdOf('single@example.com'))!;
    expect((await selectContactMetrics(t.db, [id])).get(id)).toEqual(expect.objectContaining({ ordersCount: 1, totalSpent: 12.5, averageOrderValue: 12.5, expectedNextOrderAt: null }));
  });

  it('stores an order in another currency as is, flags it and leaves it out of money metrics', async () => {
    const r = await recordOrders(ctx(), [order('eur1', { customer: { source: 'woocommerce', email: 'euro@example.com' }, currency: 'eur', total: 40 })]);
    expect(r.stored[0]!.applied).toBe(true);
    expect(r.warnings).toEqual([expect.objectContaining({ index: 0, field: 'orders[0].currency', message: expect.stringContaining('EUR is not the store\'s currency (USD)') })]);
    const [o] = await selectOrders(t.db, { id: r.stored[0]!.orderId, limit: 1 });
    expect([o!.currency, o!.total]).toEqual(['EUR', 40]);
    const id = (await contactIdOf('euro@example.com'))!;
    expect((await selectContactMetrics(t.db, [id])).get(id)).toEqual(expect.objectContaining({ ordersCount: 1, totalSpent: 0 }));
  });

  it('rejects bad orders with the path of each bad field and stores the good ones', async () => {
    const r = await recordOrders(ctx(), [
      order('bad1', { orderedAt: Number.NaN }),
      order('good1', { customer: { source: 'woocommerce', email: 'good1@example.com' } }),
      order('bad2', { items: [{ name: 'X', quantity: 1.5, price: 1 }, { name: '', quantity: 1, price: -1 }] }),
      order('bad3', { orderedAt: 1_700_000_000 /* seconds, not ms */, status: 'shipped' as never, customer: { source: 'woocommerce', email: 'not an address' } }),
    ]);
    expect(r.stored.map((s) => s.index)).toEqual([1]);
    expect(r.rejected).toEqual([
      { index: 0, errors: [{ field: 'orders[0].orderedAt', message: expect.stringContaining('is not a time') }] },
      { index: 2, errors: [
        { field: 'orders[2].items[0].quantity', message: expect.any(String) },
        { field: 'orders[2].items[1].name', message: 'is required' },
        { field: 'orders[2].items[1].price', message: 'must not be negative' },
      ] },
      { index: 3, errors: expect.arrayContaining([
        { field: 'orders[3].status', message: expect.stringContaining('"shipped" is not one of') },
        { field: 'orders[3].customer.email', message: expect.stringContaining('is not a valid email address') },
        { field: 'orders[3].orderedAt', message: expect.stringContaining('is not a time') },
      ]) },
    ]);
    expect(await count('orders', sql`external_id IN ('bad1', 'bad2', 'bad3')`)).toBe(0);
  });

  it('merges a contact known by address with one known by the store id, keeping the older one and its history', async () => {
    await t.request({ method: 'POST', url: '/api/v1/topics', body: { key: 'newsletter', name: 'News' } });
    // The older contact: signed up by address, subscribed.
    const older = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'maria@example.com', topics: { newsletter: 'subscribed' } } });
    expect(older.status).toBe(201);
    t.clock.advance(1000);
    // The newer one: a store customer under another address, with an order.
    await recordOrders(ctx(), [order('mg1', { customer: { source: 'woocommerce', externalId: 'c-9', email: 'maria.old@example.com', phone: '+49301234567' }, total: 20 })]);
    const newerId = (await contactIdOf('maria.old@example.com'))!;
    // The store now says customer c-9 is maria@example.com.
    const r = await recordCustomers(ctx(), [{ source: 'woocommerce', externalId: 'c-9', email: 'maria@example.com', lastName: 'Rossi' }]);
    expect(r.stored).toEqual([{ index: 0, contactId: older.json.id, created: false, mergedFrom: newerId }]);
    expect(await contactIdOf('maria.old@example.com')).toBeUndefined();
    const c = await t.request({ method: 'GET', url: `/api/v1/contacts/${older.json.id}` });
    expect(c.json).toEqual(expect.objectContaining({ email: 'maria@example.com', phone: '+49301234567', lastName: 'Rossi', externalIds: { woocommerce: 'c-9' }, topics: { newsletter: 'subscribed' } }));
    expect(await count('orders', sql`contact_id = ${older.json.id}`)).toBe(1);
    expect(await count('events', sql`contact_id = ${older.json.id} AND type = 'order_placed'`)).toBe(1);
    expect(await count('events', sql`type = 'contact_merged'`)).toBe(1);
    const m = (await selectContactMetrics(t.db, [older.json.id])).get(older.json.id)!;
    expect(m.ordersCount).toBe(1);
    // The consent log still holds the signup, now on the contact that stayed.
    expect(await count('consent_log', sql`contact_id = ${older.json.id}`)).toBeGreaterThan(0);
  });

  it('a guest order without an address is stored without a contact, with a warning', async () => {
    const r = await recordOrders(ctx(), [order('guest-1', { customer: { source: 'woocommerce' }, items: [] })]);
    expect(r.stored[0]).toEqual(expect.objectContaining({ applied: true, contactId: null }));
    expect(r.warnings).toEqual([{ index: 0, field: 'orders[0].customer', message: expect.stringContaining('stored without a contact') }]);
  });

  it('never treats WooCommerce\'s guest customer id 0 as an identity', async () => {
    const guest = (n: number) => order(`g0-${n}`, { customer: { source: 'woocommerce', externalId: '0', email: `guest${n}@example.com` }, items: [] });
    const r = await recordOrders(ctx(), [guest(1), guest(2)]);
    expect(r.stored.map((s) => s.mergedContactId)).toEqual([null, null]);
    expect(await contactIdOf('guest1@example.com')).not.toBe(await contactIdOf('guest2@example.com'));
    expect(await count('contact_external_ids', sql`external_id = '0'`)).toBe(0);
  });

  it('in a merge, the newer topic status wins and both consent histories end on the contact that stays', async () => {
    const a = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'keep@example.com', topics: { newsletter: 'subscribed' } } });
    t.clock.advance(1000);
    const b = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'drop@example.com', externalIds: { shopify: 'sh-7' }, topics: { newsletter: 'subscribed' } } });
    t.clock.advance(1000);
    expect((await t.request({ method: 'PATCH', url: `/api/v1/contacts/${b.json.id}`, body: { topics: { newsletter: 'unsubscribed' } } })).status).toBe(200);
    const logA = await count('consent_log', sql`contact_id = ${a.json.id}`);
    const logB = await count('consent_log', sql`contact_id = ${b.json.id}`);
    const r = await recordCarts(ctx(), [{ source: 'shopify', externalId: 'ck-m', customer: { source: 'shopify', externalId: 'sh-7', email: 'keep@example.com' }, items: [], value: 0, updatedAt: t.clock.now() }]);
    expect(r.stored[0]!.contactId).toBe(a.json.id);
    const c = await t.request({ method: 'GET', url: `/api/v1/contacts/${a.json.id}` });
    expect(c.json).toEqual(expect.objectContaining({ email: 'keep@example.com', externalIds: { shopify: 'sh-7' }, topics: { newsletter: 'unsubscribed' } }));
    expect(await count('consent_log', sql`contact_id = ${a.json.id}`)).toBe(logA + logB);
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${b.json.id}` })).status).toBe(404);
  });

  it('a customer known only by a store id is a contact without an address; one with neither is rejected', async () => {
    const r = await recordCustomers(ctx(), [{ source: 'shopify', externalId: 'ghost', firstName: 'Gita' }, { source: 'shopify' }]);
    expect(r.stored).toEqual([{ index: 0, contactId: expect.any(Number), created: true, mergedFrom: null }]);
    expect(r.warnings).toEqual([]);
    expect(r.rejected).toEqual([{ index: 1, errors: [{ field: 'customers[1]', message: 'needs an email or an externalId' }] }]);
    const c = await t.request({ method: 'GET', url: `/api/v1/contacts/${r.stored[0]!.contactId}` });
    expect(c.json).toEqual(expect.objectContaining({ email: null, firstName: 'Gita', externalIds: { shopify: 'ghost' } }));
    // Seen again by the same id: the same contact.
    expect((await recordCustomers(ctx(), [{ source: 'shopify', externalId: 'ghost' }])).stored[0]).toEqual(expect.objectContaining({ contactId: r.stored[0]!.contactId, created: false }));
    // Exported and erased like any contact; with no address, nothing goes on the suppression list.
    const exported = await t.request({ method: 'GET', url: `/api/v1/contacts/${r.stored[0]!.contactId}/gdpr-export` });
    expect(exported.json).toEqual(expect.objectContaining({ contact: expect.objectContaining({ email: null }), suppressions: [] }));
    const csv = await t.request({ method: 'GET', url: '/api/v1/contacts/export' });
    expect(csv.status).toBe(200);
    const suppressions = await count('suppressions');
    expect((await t.request({ method: 'POST', url: `/api/v1/contacts/${r.stored[0]!.contactId}/erase` })).status).toBe(200);
    expect(await count('contacts', sql`id = ${r.stored[0]!.contactId}`)).toBe(0);
    expect(await count('suppressions')).toBe(suppressions);
  });

  it('orders of a customer known only by id count from the first; the address arrives later and fills the contact', async () => {
    const first = await recordOrders(ctx(), [order('anon-1', { customer: { source: 'woocommerce', externalId: 'anon-5' }, total: 30, items: [] })]);
    expect(first.warnings).toEqual([]);
    const id = first.stored[0]!.contactId!;
    expect(id).toEqual(expect.any(Number));
    expect((await t.db.k.selectFrom('contacts').select('email').where('id', '=', id).executeTakeFirstOrThrow()).email).toBeNull();
    await recordOrders(ctx(), [order('anon-2', { customer: { source: 'woocommerce', externalId: 'anon-5' }, total: 40, items: [], orderedAt: T0 + DAY, updatedAt: T0 + DAY })]);
    expect((await selectContactMetrics(t.db, [id])).get(id)).toEqual(expect.objectContaining({ ordersCount: 2, totalSpent: 70 }));
    // A later order (a snapshot, "fill" mode) carries the address: it fills the empty one.
    const third = await recordOrders(ctx(), [order('anon-3', { customer: { source: 'woocommerce', externalId: 'anon-5', email: 'Anon.Five@example.com' }, total: 10, items: [], orderedAt: T0 + 2 * DAY, updatedAt: T0 + 2 * DAY })]);
    expect(third.stored[0]!.contactId).toBe(id);
    expect(await contactIdOf('anon.five@example.com')).toBe(id);
    expect((await selectContactMetrics(t.db, [id])).get(id)).toEqual(expect.objectContaining({ ordersCount: 3, totalSpent: 80 }));
  });

  it('when an id-only customer and an address meet, the contact with the address stays and takes the orders', async () => {
    const byId = await recordOrders(ctx(), [order('idonly-1', { customer: { source: 'shopify', externalId: 'sh-44' }, source: 'shopify', total: 15, items: [] })]);
    const idOnly = byId.stored[0]!.contactId!;
    t.clock.advance(1000);
    const withAddress = await t.request({ method: 'POST', url: '/api/v1/contacts', body: { email: 'leyla@example.com' } });
    // A preview for an address-less contact says why it cannot be made.
    await t.request({ method: 'POST', url: '/api/v1/templates', body: { key: 'hello-idonly', name: 'Hello', kind: 'transactional', defaultLocale: 'en', variants: { en: { subject: 'Hi', fromName: 'Shop', fromEmail: 'shop@shop.example', body: '<mjml><mj-body><mj-section><mj-column><mj-text>Hi</mj-text></mj-column></mj-section></mj-body></mjml>' } } } });
    const render = await t.request({ method: 'POST', url: '/api/v1/templates/hello-idonly/preview', body: { contactId: idOnly } });
    expect(render.status).toBe(400);
    expect(render.json.error.details).toEqual([{ field: 'contactId', message: 'has no email address' }]);
    // A test send to another address may use its data.
    const test = await t.request({ method: 'POST', url: '/api/v1/templates/hello-idonly/test-send', body: { to: 'qa@shop.example', contactId: idOnly } });
    expect(test.json.result.status).toBe('sent');
    const r = await recordCustomers(ctx(), [{ source: 'shopify', externalId: 'sh-44', email: 'leyla@example.com' }]);
    expect(r.stored[0]).toEqual(expect.objectContaining({ contactId: withAddress.json.id, mergedFrom: idOnly }));
    expect(await count('contacts', sql`id = ${idOnly}`)).toBe(0);
    expect(await count('orders', sql`contact_id = ${withAddress.json.id}`)).toBe(1);
    expect((await selectContactMetrics(t.db, [withAddress.json.id])).get(withAddress.json.id)).toEqual(expect.objectContaining({ ordersCount: 1, totalSpent: 15 }));
  });

  it('carts: stored by source id, ignored when older, abandoned when idle, converted by an order', async () => {
    const now = t.clock.now();
    const cart = { source: 'shopify' as const, externalId: 'ck1', customer: { source: 'shopify' as const, email: 'cart@example.com' }, items: [{ productExternalId: 'sp1', name: 'Tea', quantity: 1, price: 8 }], value: 8, currency: 'USD', recoveryUrl: 'https://shop.example/recover/ck1', updatedAt: now - 2 * 3600_000 };
    const r = await recordCarts(ctx(), [cart]);
    expect(r.stored[0]).toEqual(expect.objectContaining({ status: 'open', applied: true }));
    expect((await recordCarts(ctx(), [{ ...cart, value: 1, updatedAt: now - 3 * 3600_000 }])).stored[0]!.applied).toBe(false);
    const abandoned = await markAbandonedCarts(ctx(), { idleMs: 3600_000 });
    expect(abandoned.abandoned).toEqual([expect.objectContaining({ cartId: r.stored[0]!.cartId, contactId: r.stored[0]!.contactId, value: 8 })]);
    expect((await markAbandonedCarts(ctx(), { idleMs: 3600_000 })).abandoned).toEqual([]);
    expect(await count('events', sql`type = 'cart_abandoned'`)).toBe(1);
    const o = await recordOrders(ctx(), [order('so1', { source: 'shopify', customer: { source: 'shopify', email: 'cart@example.com' }, orderedAt: now - 3600_000, items: [] })]);
    const carts = await t.db.k.selectFrom('carts').selectAll().where('externalId', '=', 'ck1').execute();
    expect(carts.map((c) => [c.status, c.convertedOrderId])).toEqual([['converted', o.stored[0]!.orderId]]);
  });

  it('a checkout that names its order is converted and linked to it', async () => {
    const now = t.clock.now();
    const o = await recordOrders(ctx(), [order('so2', { source: 'shopify', customer: { source: 'shopify', email: 'ck2@example.com' }, status: 'pending', orderedAt: now, items: [] })]);
    const r = await recordCarts(ctx(), [{ source: 'shopify', externalId: 'ck2', customer: { source: 'shopify', email: 'ck2@example.com' }, items: [], value: 0, updatedAt: now, completedAt: now, orderExternalId: 'so2' }]);
    expect(r.stored[0]).toEqual(expect.objectContaining({ status: 'converted', convertedOrderId: o.stored[0]!.orderId }));
  });
  it('an abandoned cart updated again is open again; a replay of the same version keeps it abandoned', async () => {
    const now = t.clock.now();
    const cart = { source: 'woocommerce' as const, externalId: 'wc-cart', customer: { source: 'woocommerce' as const, email: 'again@example.com' }, items: [], value: 3, updatedAt: now - 5 * 3600_000 };
    await recordCarts(ctx(), [cart]);
    expect((await markAbandonedCarts(ctx(), { idleMs: 3600_000 })).abandoned.map((c) => c.externalId)).toEqual(['wc-cart']);
    expect((await recordCarts(ctx(), [cart])).stored[0]!.status).toBe('abandoned');
    expect((await recordCarts(ctx(), [{ ...cart, updatedAt: now }])).stored[0]!.status).toBe('open');
  });

  it('a customer record takes the store\'s new address for a known customer id', async () => {
    await recordCustomers(ctx(), [{ source: 'shopify', externalId: 's-1', email: 'before@example.com', firstName: 'Lea' }]);
    const id = await contactIdOf('before@example.com');
    const r = await recordCustomers(ctx(), [{ source: 'shopify', externalId: 's-1', email: 'after@example.com' }]);
    expect(r.stored[0]).toEqual({ index: 0, contactId: id, created: false, mergedFrom: null });
    expect(await contactIdOf('after@example.com')).toBe(id);
    // An old order naming the old address does not move it back, and makes no new contact.
    await recordOrders(ctx(), [order('old-1', { source: 'shopify', customer: { source: 'shopify', externalId: 's-1', email: 'before@example.com' }, items: [] })]);
    expect(await contactIdOf('before@example.com')).toBeUndefined();
    expect(await count('orders', sql`external_id = 'old-1' AND contact_id = ${id!}`)).toBe(1);
  });

  it('rejects bad products and customers with the field at fault', async () => {
    const p = await recordProducts(ctx(), [
      { source: 'etsy' as never, externalId: '', name: 'X', price: Number.POSITIVE_INFINITY, url: 'ftp://x', inStock: 'yes' as never, updatedAt: -5 },
    ]);
    expect(p.rejected[0]!.errors.map((e) => e.field)).toEqual(['products[0].source', 'products[0].externalId', 'products[0].price', 'products[0].inStock', 'products[0].updatedAt', 'products[0].url']);
    const c = await recordCustomers(ctx(), [{ source: 'woocommerce', email: 'ok@example.com', locale: 'not a locale!!', phone: 'call me' }]);
    expect(c.rejected[0]!.errors.map((e) => e.field)).toEqual(['customers[0].locale', 'customers[0].phone']);
    // On an order the same fields are dropped with a warning, and the order is kept.
    const o = await recordOrders(ctx(), [order('warn-1', { customer: { source: 'woocommerce', email: 'warn@example.com', phone: 'call me' }, items: [] })]);
    expect(o.stored[0]!.applied).toBe(true);
    expect(o.warnings).toEqual([expect.objectContaining({ index: 0, field: 'orders[0].customer.phone' })]);
  });
});
