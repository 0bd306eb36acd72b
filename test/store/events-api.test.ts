import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCarts, recordOrders } from '../../src/services/store-data.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

describe.each(DIALECTS)('store events and reads API on %s', (dialect) => {
  let t: TestApp;
  const post = (events: unknown, scope: 'read' | 'write' | 'admin' | 'none' = 'write') => t.request({ method: 'POST', url: '/api/v1/events', body: { events }, scope });
  const count = async (where = sql`1 = 1`) => Number((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM events WHERE ${where}`.execute(t.db.k)).rows[0]!.n);

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('needs a key with write scope', async () => {
    const ev = [{ id: 'e0', type: 'product_viewed', occurredAt: '2026-11-27T09:00:00Z' }];
    expect((await post(ev, 'none')).status).toBe(401);
    expect((await post(ev, 'read')).status).toBe(403);
    expect((await post(ev, 'write')).status).toBe(200);
  });

  it('stores good events, lists bad ones by index, creates contacts on first sight, and is idempotent by id', async () => {
    const events = [
      { id: 'v-1', type: 'product_viewed', occurredAt: '2026-11-27T09:00:00Z', email: 'Viewer@Example.com', properties: { productId: 'p1' } },
      { id: 'v-2', type: 'checkout_started', occurredAt: '2026-11-26T09:00:00+03:30', email: 'viewer@example.com' },
      { id: 'bad/id', type: 'product_viewed', occurredAt: '2026-11-27T09:00:00Z' },
      { id: 'v-3', type: 'Bad Type', occurredAt: 'yesterday', email: 'not-an-address' },
      { id: 'v-4', type: 'email_opened', occurredAt: '2026-11-27T09:00:00Z' },
      { id: 'v-5', type: 'wishlist.added', occurredAt: '2026-11-27', extra: 1 },
      { id: 'v-6', type: 'wishlist.added', occurredAt: '2026-11-25T10:00:00.123Z', externalId: 'cust-1', properties: { sku: 'A' } },
      'not an object',
    ];
    const r = await post(events);
    expect(r.status).toBe(200);
    expect(r.json.accepted).toBe(3);
    expect(r.json.duplicates).toBe(0);
    expect(r.json.rejected).toEqual([
      { index: 2, errors: [{ field: 'events[2].id', message: expect.stringContaining('letters, digits') }] },
      { index: 3, errors: [
        { field: 'events[3].type', message: expect.stringContaining('custom type') },
        { field: 'events[3].occurredAt', message: expect.stringContaining('"yesterday" is not an ISO 8601 time') },
        { field: 'events[3].email', message: expect.stringContaining('not a valid email address') },
      ] },
      { index: 4, errors: [{ field: 'events[4].type', message: expect.stringContaining('written by Chapar itself') }] },
      { index: 5, errors: [{ field: 'events[5].extra', message: 'is not a known field' }, { field: 'events[5].occurredAt', message: expect.any(String) }] },
      { index: 7, errors: [{ field: 'events[7]', message: 'must be an object' }] },
    ]);
    const contact = await t.db.k.selectFrom('contacts').select(['id', 'email']).where('emailKey', '=', 'viewer@example.com').executeTakeFirstOrThrow();
    expect(r.json.events.filter((e: { contactId: number | null }) => e.contactId === contact.id).length).toBe(2);
    // An external id nobody has and no address: a contact from now on, known by that id only.
    const byId = r.json.events.find((e: { index: number }) => e.index === 6).contactId;
    expect(byId).toEqual(expect.any(Number));
    expect((await t.request({ method: 'GET', url: `/api/v1/contacts/${byId}` })).json).toEqual(expect.objectContaining({ email: null, externalIds: { api: 'cust-1' } }));
    expect(await count(sql`source = 'api' AND source_event_id = 'v-2' AND occurred_at = ${Date.parse('2026-11-26T05:30:00Z')}`)).toBe(1);

    const replay = await post(events.slice(0, 2));
    expect(replay.json).toEqual(expect.objectContaining({ accepted: 0, duplicates: 2, rejected: [] }));
    expect(await count(sql`source = 'api' AND source_event_id IN ('v-1', 'v-2')`)).toBe(2);
  });

  it('an event with both an address and a known external id merges the two contacts', async () => {
    await post([{ id: 'x-1', type: 'product_viewed', occurredAt: '2026-11-27T08:00:00Z', email: 'first@example.com' }]);
    t.clock.advance(1000);
    // Linked to another contact by the store's id through an order.
    await recordOrders(t.app.ctx, [{ source: 'woocommerce', externalId: 'o-x', customer: { source: 'woocommerce', externalId: 'w-5', email: 'second@example.com' }, status: 'completed', currency: 'USD', total: 10, orderedAt: Date.parse('2026-11-01T00:00:00Z'), items: [] }]);
    const r = await post([{ id: 'x-2', type: 'custom_thing', occurredAt: '2026-11-27T09:00:00Z', email: 'first@example.com', externalId: 'w-5', externalIdSource: 'woocommerce' }]);
    expect(r.json.accepted).toBe(1);
    const survivor = await t.db.k.selectFrom('contacts').select('id').where('emailKey', '=', 'first@example.com').executeTakeFirstOrThrow();
    expect(await t.db.k.selectFrom('contacts').select('id').where('emailKey', '=', 'second@example.com').executeTakeFirst()).toBeUndefined();
    const m = await t.request({ method: 'GET', url: `/api/v1/contacts/${survivor.id}/metrics`, scope: 'read' });
    expect(m.json).toEqual(expect.objectContaining({ ordersCount: 1, totalSpent: 10, firstOrderAt: '2026-11-01T00:00:00.000Z', expectedNextOrderAt: null }));
  });

  it('refuses a batch of more than 1,000 events or a body without a list', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => ({ id: `m-${i}`, type: 'product_viewed', occurredAt: '2026-11-27T09:00:00Z' }));
    const r = await post(many);
    expect(r.status).toBe(400);
    expect(r.json.error.details[0].field).toBe('events');
    expect((await t.request({ method: 'POST', url: '/api/v1/events', body: { event: [] }, scope: 'write' })).status).toBe(400);
    expect((await post([])).status).toBe(400);
  });

  it('reads orders, one order, products and carts', async () => {
    const o = await recordOrders(t.app.ctx, [{ source: 'shopify', externalId: 'r-1', customer: { source: 'shopify', email: 'reader@example.com' }, status: 'processing', currency: 'USD', total: 20, orderedAt: Date.parse('2026-11-20T00:00:00Z'), items: [{ productExternalId: 'rp', name: 'Pen', quantity: 2, price: 10 }] }]);
    const { orderId, contactId } = o.stored[0]!;
    const list = await t.request({ method: 'GET', url: `/api/v1/orders?contactId=${contactId}`, scope: 'read' });
    expect(list.json.items).toEqual([expect.objectContaining({ id: orderId, externalId: 'r-1', orderedAt: '2026-11-20T00:00:00.000Z', items: [expect.objectContaining({ name: 'Pen', quantity: 2, price: 10 })] })]);
    expect((await t.request({ method: 'GET', url: `/api/v1/orders/${orderId}`, scope: 'read' })).json.total).toBe(20);
    expect((await t.request({ method: 'GET', url: '/api/v1/orders/999999', scope: 'read' })).status).toBe(404);
    const products = await t.request({ method: 'GET', url: '/api/v1/products?source=shopify', scope: 'read' });
    expect(products.json.items).toEqual([expect.objectContaining({ externalId: 'rp', isStub: true, name: 'Pen' })]);
    await recordCarts(t.app.ctx, [{ source: 'shopify', externalId: 'rc', customer: { source: 'shopify', email: 'reader2@example.com' }, items: [], value: 5, updatedAt: t.clock.now() }]);
    const carts = await t.request({ method: 'GET', url: '/api/v1/carts?status=open', scope: 'read' });
    expect(carts.json.items.map((c: { externalId: string }) => c.externalId)).toEqual(['rc']);
    expect((await t.request({ method: 'GET', url: '/api/v1/carts?status=lost', scope: 'read' })).status).toBe(400);
  });
});
