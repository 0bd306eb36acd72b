import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';

const SECRET = 'wc_secret_123';
const raw = (name: string) => readFileSync(new URL(`../fixtures/store/${name}`, import.meta.url), 'utf8');
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');

/** A fixture with some top-level fields replaced, re-encoded the way PHP does (\/ and \uXXXX). */
function phpJson(name: string, patch: Record<string, unknown> = {}): string {
  const text = JSON.stringify({ ...JSON.parse(raw(name)), ...patch });
  return text.replace(/\//g, '\\/').replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

describe.each(DIALECTS)('WooCommerce webhooks on %s', (dialect) => {
  let t: TestApp;
  let delivery = 0;

  const post = (body: string, headers: Record<string, string>) => t.request({ method: 'POST', url: '/webhooks/woocommerce', body, scope: 'none', headers: { 'content-type': 'application/json', ...headers } });
  /** A delivery as WooCommerce makes it: signed, with topic and a fresh delivery id unless given. */
  const deliver = (topic: string, body: string, extra: Record<string, string> = {}) =>
    post(body, {
      'user-agent': 'WooCommerce/9.4.1 Hookshot (WordPress/6.7)',
      'x-wc-webhook-source': 'https://shop.example/',
      'x-wc-webhook-topic': topic,
      'x-wc-webhook-resource': topic.split('.')[0]!,
      'x-wc-webhook-event': topic.split('.')[1]!,
      'x-wc-webhook-signature': sign(body),
      'x-wc-webhook-id': '7',
      'x-wc-webhook-delivery-id': `d${String(++delivery).padStart(31, '0')}`,
      ...extra,
    });
  const count = async (table: 'orders' | 'products' | 'connectorDeliveries' | 'contacts' | 'orderItems') => Number((await t.db.k.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const order = (externalId: string) => t.db.k.selectFrom('orders').selectAll().where('source', '=', 'woocommerce').where('externalId', '=', externalId).executeTakeFirst();

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('answers the creation ping 200 and stores nothing, even before a secret is saved', async () => {
    const r = await t.request({ method: 'POST', url: '/webhooks/woocommerce', body: 'webhook_id=7', scope: 'none', headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'WooCommerce/9.4.1 Hookshot (WordPress/6.7)' } });
    expect([r.status, r.json]).toEqual([200, { ok: true, ping: true }]);
    expect(await count('connectorDeliveries')).toBe(0);
  });

  it('refuses signed deliveries while the connector is not set up (401)', async () => {
    const r = await deliver('order.created', phpJson('woocommerce-order.json'));
    expect(r.status).toBe(401);
    expect(r.json.error.message).toContain('PUT /api/v1/connectors/woocommerce');
    expect(await count('orders')).toBe(0);
  });

  it('saves the secret sealed and never shows it', async () => {
    const bad = await t.request({ method: 'PUT', url: '/api/v1/connectors/woocommerce', body: { siteUrl: 'https://shop.example' } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toEqual([{ field: 'secret', message: expect.stringContaining('required') }]);
    const r = await t.request({ method: 'PUT', url: '/api/v1/connectors/woocommerce', body: { secret: SECRET, siteUrl: 'https://shop.example' } });
    expect(r.status).toBe(200);
    expect(r.json.woocommerce).toEqual({ configured: true, siteUrl: 'https://shop.example', webhookUrl: expect.stringMatching(/\/webhooks\/woocommerce$/), topics: expect.arrayContaining(['order.created', 'customer.updated']) });
    expect(r.body).not.toContain(SECRET);
    const stored = await t.db.k.selectFrom('settings').select('value').where('key', '=', 'connectors').executeTakeFirstOrThrow();
    expect(JSON.stringify(stored.value)).not.toContain(SECRET);
    const write = await t.request({ method: 'PUT', url: '/api/v1/connectors/woocommerce', body: { secret: SECRET }, scope: 'write' });
    expect(write.status).toBe(403);
  });

  it('refuses a wrong or missing signature with 401 and stores nothing', async () => {
    const body = phpJson('woocommerce-order.json');
    const wrong = await deliver('order.created', body, { 'x-wc-webhook-signature': sign(body, 'another secret') });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.details).toEqual([{ field: 'X-WC-Webhook-Signature', message: 'signature does not verify' }]);
    const missing = await post(body, { 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-delivery-id': 'x1' });
    expect(missing.status).toBe(401);
    expect(missing.json.error.message).toContain('missing');
    // A forged "ping" with a JSON body is not a ping.
    const forged = await post('{"webhook_id":7}', {});
    expect(forged.status).toBe(401);
    expect([await count('orders'), await count('contacts'), await count('connectorDeliveries')]).toEqual([0, 0, 0]);
  });

  it('stores a signed order: contact, stub products for unknown lines, a flag for the foreign currency', async () => {
    const r = await deliver('order.created', phpJson('woocommerce-order.json'));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, topic: 'order.created', recorded: 'order', externalId: '727', applied: true, stubProducts: 2 });
    expect(r.json.warnings).toEqual([expect.stringContaining("EUR is not the store's currency (USD)")]);
    const o = await order('727');
    expect(o).toMatchObject({ status: 'processing', sourceStatus: 'processing', currency: 'EUR', total: 49.8, discount: 5, orderedAt: Date.parse('2026-11-20T09:15:00Z') });
    const stubs = await t.db.k.selectFrom('products').select(['externalId', 'name', 'isStub']).orderBy('externalId').execute();
    expect(stubs.map((p) => [p.externalId, p.name, Number(p.isStub)])).toEqual([['4711', 'Tea / infusion sampler', 1], ['93', 'Café mug – blue', 1]]);
    const contact = await t.db.k.selectFrom('contacts').select(['id', 'email', 'firstName']).executeTakeFirstOrThrow();
    expect(contact).toMatchObject({ email: 'renee@example.com', firstName: 'Renée' });
    expect(o!.contactId).toBe(contact.id);
  });

  it('refuses (403) a signed delivery from another site, such as a staging copy, and stores nothing', async () => {
    const before = await count('orders');
    const body = phpJson('woocommerce-order.json', { id: 7301 });
    const staging = await deliver('order.created', body, { 'x-wc-webhook-source': 'https://staging.shop.example/' });
    expect(staging.status).toBe(403);
    expect(staging.json.error.message).toContain('https://staging.shop.example/');
    expect(staging.json.error.details).toEqual([{ field: 'X-WC-Webhook-Source', message: 'another site' }]);
    expect(await count('orders')).toBe(before);
    // The same site written otherwise (www., http, no trailing slash), or a delivery without the header, is the shop.
    for (const [i, source] of ['https://www.shop.example/', 'http://shop.example', null].entries()) {
      const r = await deliver('order.created', phpJson('woocommerce-order.json', { id: 7302 + i }), source === null ? { 'x-wc-webhook-source': '' } : { 'x-wc-webhook-source': source });
      expect([source, r.status]).toEqual([source, 200]);
    }
    expect(await count('orders')).toBe(before + 3);
  });

  it('stores a replayed delivery once', async () => {
    const body = phpJson('woocommerce-order.json', { total: '55.00', date_modified_gmt: '2026-11-20T09:30:00' });
    const id = { 'x-wc-webhook-delivery-id': 'f0e1d2c3b4a5968778695a4b3c2d1e0f' };
    const first = await deliver('order.updated', body, id);
    expect(first.json).toMatchObject({ recorded: 'order', applied: true });
    const before = [await count('orders'), await count('orderItems'), await count('products'), await count('contacts'), await count('connectorDeliveries')];
    const again = await deliver('order.updated', body, id);
    expect([again.status, again.json]).toEqual([200, { ok: true, duplicate: true, topic: 'order.updated', deliveryId: 'f0e1d2c3b4a5968778695a4b3c2d1e0f' }]);
    expect([await count('orders'), await count('orderItems'), await count('products'), await count('contacts'), await count('connectorDeliveries')]).toEqual(before);
    expect((await order('727'))!.total).toBe(55);
  });

  it('maps status words through order.updated', async () => {
    const cases: [string, string][] = [['on-hold', 'on_hold'], ['completed', 'completed'], ['refunded', 'refunded'], ['cancelled', 'cancelled'], ['failed', 'failed'], ['pending', 'pending'], ['checkout-draft', 'draft'], ['trash', 'cancelled']];
    for (const [i, [word, status]] of cases.entries()) {
      const body = phpJson('woocommerce-order.json', { id: 900 + i, number: String(900 + i), status: word, currency: 'USD' });
      const r = await deliver('order.updated', body);
      expect([word, r.status, r.json.warnings]).toEqual([word, 200, []]);
      expect([word, (await order(String(900 + i)))?.status]).toEqual([word, status]);
    }
  });

  it('refuses a malformed date with 400 naming the field, stores nothing, and takes the fixed retry', async () => {
    const before = [await count('orders'), await count('connectorDeliveries')];
    const id = { 'x-wc-webhook-delivery-id': '0123456789abcdef0123456789abcdef' };
    const bad = await deliver('order.created', phpJson('woocommerce-order.json', { id: 1001, date_created_gmt: '2026-11-31T09:15:00' }), id);
    expect(bad.status).toBe(400);
    expect(bad.json.error.details).toEqual([{ field: 'date_created_gmt', message: expect.stringContaining('2026-11-31T09:15:00') }]);
    expect(bad.json.error.message).toContain('order.created');
    expect([await count('orders'), await count('connectorDeliveries')]).toEqual(before);
    const offset = await deliver('order.created', phpJson('woocommerce-order.json', { id: 1001, date_paid_gmt: '2026-11-20T09:15:40+00:00' }));
    expect(offset.json.error.details.map((d: { field: string }) => d.field)).toEqual(['date_paid_gmt']);
    const fixed = await deliver('order.created', phpJson('woocommerce-order.json', { id: 1001 }), id);
    expect(fixed.json).toMatchObject({ recorded: 'order', externalId: '1001' });
  });

  it('refuses a body that is not JSON, and a store-side check failure, with 400', async () => {
    const notJson = await deliver('order.created', '<html>oops</html>');
    expect([notJson.status, notJson.json.error.details[0].field]).toEqual([400, 'body']);
    const negative = await deliver('order.created', phpJson('woocommerce-order.json', { id: 1002, total: '-5.00' }));
    expect(negative.status).toBe(400);
    expect(negative.json.error.details[0].field).toContain('total');
    expect(await order('1002')).toBeUndefined();
  });

  it('a product webhook turns the stub into a full product; a customer webhook links the account', async () => {
    const p = await deliver('product.updated', phpJson('woocommerce-product.json'));
    expect(p.json).toMatchObject({ recorded: 'product', externalId: '93', applied: true });
    const product = await t.db.k.selectFrom('products').selectAll().where('externalId', '=', '93').executeTakeFirstOrThrow();
    expect([Number(product.isStub), product.sku, product.url, product.price]).toEqual([0, 'MUG-BLUE', 'https://shop.example/product/cafe-mug-blue/', 15]);
    const c = await deliver('customer.created', phpJson('woocommerce-customer.json'));
    expect(c.json).toMatchObject({ recorded: 'customer', externalId: '12' });
    expect(await count('contacts')).toBe(1);
    const ext = await t.db.k.selectFrom('contactExternalIds').selectAll().where('source', '=', 'woocommerce').execute();
    expect(ext.map((e) => e.externalId)).toEqual(['12']);
  });

  it('answers topics it does not use 200, saying they were ignored', async () => {
    const coupon = await deliver('coupon.created', '{"id":5,"code":"x"}');
    expect([coupon.status, coupon.json]).toEqual([200, { ok: true, ignored: true, topic: 'coupon.created', why: 'topic coupon.created is not used by Chapar' }]);
    const deleted = await deliver('order.deleted', '{"id":727}');
    expect(deleted.json).toMatchObject({ ignored: true, why: expect.stringContaining('only an id') });
    expect((await order('727'))!.status).toBe('processing');
  });

  it('ignores (200) an order that names nobody, such as a checkout draft before the email field', async () => {
    const body = phpJson('woocommerce-order.json', { id: 1003, status: 'checkout-draft', customer_id: 0, billing: { first_name: '', last_name: '', email: '', phone: '', city: '', country: '' } });
    const r = await deliver('order.created', body);
    expect([r.status, r.json]).toEqual([200, { ok: true, ignored: true, topic: 'order.created', why: 'order 1003 has no email and no customer account: there is nobody to link it to' }]);
    expect(await order('1003')).toBeUndefined();
  });

  it('refuses bodies over the limit', async () => {
    const r = await deliver('order.created', `{"pad":"${'x'.repeat(2 * 1_048_576)}"}`);
    expect(r.status).toBe(413);
  });
});
