import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { sweepAbandonedCheckouts } from '../../src/services/abandoned-checkouts.ts';

const SECRET = 'shpss_test_secret';
const raw = (name: string) => readFileSync(new URL(`../fixtures/store/${name}`, import.meta.url), 'utf8');
const sign = (body: string, secret = SECRET) => createHmac('sha256', secret).update(body).digest('base64');
/** A fixture with top-level fields replaced by text substitution, so its ids above 2^53 stay exact. */
function patched(name: string, patch: Record<string, unknown> = {}): string {
  let text = raw(name);
  for (const [k, v] of Object.entries(patch)) {
    const re = new RegExp(`"${k}":("(?:[^"\\\\]|\\\\.)*"|-?\\d+(?:\\.\\d+)?|null|true|false)`);
    if (!re.test(text)) throw new Error(`fixture ${name} has no top-level ${k}`);
    text = text.replace(re, `"${k}":${JSON.stringify(v)}`);
  }
  return text;
}
const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

describe.each(DIALECTS)('Shopify webhooks on %s', (dialect) => {
  let t: TestApp;
  let event = 0;

  const deliver = (topic: string, body: string, extra: Record<string, string> = {}) =>
    t.request({
      method: 'POST',
      url: '/webhooks/shopify',
      body,
      scope: 'none',
      headers: {
        'content-type': 'application/json',
        'x-shopify-topic': topic,
        'x-shopify-hmac-sha256': sign(body),
        'x-shopify-shop-domain': 'chapar-test.myshopify.com',
        'x-shopify-api-version': '2026-10',
        'x-shopify-webhook-id': `wh-${++event}`,
        'x-shopify-event-id': `ev-${event}`,
        'x-shopify-triggered-at': '2026-11-27T10:00:00.000Z',
        ...extra,
      },
    });
  const count = async (table: 'orders' | 'products' | 'connectorDeliveries' | 'contacts' | 'carts') => Number((await t.db.k.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
  const order = (externalId: string) => t.db.k.selectFrom('orders').selectAll().where('source', '=', 'shopify').where('externalId', '=', externalId).executeTakeFirst();
  const cart = (externalId: string) => t.db.k.selectFrom('carts').selectAll().where('source', '=', 'shopify').where('externalId', '=', externalId).executeTakeFirst();

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t?.close());

  it('refuses webhooks while the connector is not set up (401)', async () => {
    const r = await deliver('orders/create', raw('shopify-order.json'));
    expect(r.status).toBe(401);
    expect(await count('orders')).toBe(0);
  });

  it('checks and saves the settings, the client secret sealed and never shown', async () => {
    const bad = await t.request({ method: 'PUT', url: '/api/v1/connectors/shopify', body: { secret: 'short', shopDomain: 'https://x.myshopify.com/', abandonAfterMinutes: 5 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.details.map((d: { field: string }) => d.field)).toEqual(['secret', 'shopDomain']);
    const tooSoon = await t.request({ method: 'PUT', url: '/api/v1/connectors/shopify', body: { secret: SECRET, abandonAfterMinutes: 2 } });
    expect(tooSoon.status).toBe(400);
    const r = await t.request({ method: 'PUT', url: '/api/v1/connectors/shopify', body: { secret: SECRET, shopDomain: 'Chapar-Test.myshopify.com', abandonAfterMinutes: 30 } });
    expect(r.status).toBe(200);
    expect(r.json.shopify).toMatchObject({ configured: true, shopDomain: 'chapar-test.myshopify.com', abandonAfterMinutes: 30 });
    expect(r.body).not.toContain(SECRET);
    // Changing the delay alone keeps the saved secret.
    const delay = await t.request({ method: 'PUT', url: '/api/v1/connectors/shopify', body: { abandonAfterMinutes: 30 } });
    expect(delay.status).toBe(200);
  });

  it('refuses a wrong or missing HMAC with 401 and stores nothing', async () => {
    const body = raw('shopify-order.json');
    const wrong = await deliver('orders/create', body, { 'x-shopify-hmac-sha256': sign(body, 'shpss_other_secret') });
    expect(wrong.status).toBe(401);
    const tampered = await deliver('orders/create', body.replace('"398.00"', '"1.00"'), { 'x-shopify-hmac-sha256': sign(body) });
    expect(tampered.status).toBe(401);
    const missing = await deliver('orders/create', body, { 'x-shopify-hmac-sha256': '' });
    expect(missing.status).toBe(401);
    expect([await count('orders'), await count('contacts'), await count('connectorDeliveries')]).toEqual([0, 0, 0]);
  });

  it('refuses a signed webhook from another shop (403)', async () => {
    const r = await deliver('orders/create', raw('shopify-order.json'), { 'x-shopify-shop-domain': 'other-shop.myshopify.com' });
    expect(r.status).toBe(403);
    expect(await count('orders')).toBe(0);
  });

  it('stores orders/create with exact big ids, a stub for the unknown product, no flag in the store currency', async () => {
    const r = await deliver('orders/create', raw('shopify-order.json'));
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ recorded: 'order', externalId: '820982911946154508', applied: true, stubProducts: 1, warnings: [] });
    expect(await order('820982911946154508')).toMatchObject({ number: '#9999', status: 'processing', sourceStatus: 'paid', currency: 'USD', total: 398, discount: 10 });
    const products = await t.db.k.selectFrom('products').select(['externalId', 'isStub', 'sku']).execute();
    expect(products.map((p) => [p.externalId, Number(p.isStub), p.sku])).toEqual([['632910392', 1, 'IPOD2008PINK']]);
    const ext = await t.db.k.selectFrom('contactExternalIds').select(['externalId']).where('source', '=', 'shopify').execute();
    expect(ext.map((e) => e.externalId)).toEqual(['115310627314723954']);
  });

  it('stores a retried event once (same X-Shopify-Event-Id, new webhook id)', async () => {
    const body = patched('shopify-order.json', { updated_at: '2026-11-26T09:40:00-05:00', fulfillment_status: 'fulfilled' });
    const first = await deliver('orders/updated', body, { 'x-shopify-event-id': 'ev-retry' });
    expect(first.json).toMatchObject({ recorded: 'order', applied: true });
    const again = await deliver('orders/updated', body, { 'x-shopify-event-id': 'ev-retry', 'x-shopify-webhook-id': 'wh-other' });
    expect(again.json).toEqual({ ok: true, duplicate: true, topic: 'orders/updated', deliveryId: 'ev-retry' });
    const o = await order('820982911946154508');
    expect([o?.status, o?.completedAt]).toEqual(['completed', Date.parse('2026-11-26T14:40:00Z')]);
    expect(await count('orders')).toBe(1);
  });

  it('maps refunds and cancellations, and flags an order in another currency', async () => {
    const refunded = await deliver('orders/updated', patched('shopify-order.json', { updated_at: '2026-11-26T10:00:00-05:00', financial_status: 'refunded' }));
    expect(refunded.status).toBe(200);
    expect((await order('820982911946154508'))?.status).toBe('refunded');
    const cancelled = await deliver('orders/create', patched('shopify-order.json', { id: 5550001, name: '#1002', cancelled_at: '2026-11-26T11:00:00-05:00', financial_status: 'voided' }));
    expect(cancelled.json.recorded).toBe('order');
    expect((await order('5550001'))?.status).toBe('cancelled');
    const euro = await deliver('orders/create', patched('shopify-order.json', { id: 5550002, name: '#1003', currency: 'EUR' }));
    expect(euro.json.warnings).toEqual([expect.stringContaining("EUR is not the store's currency (USD)")]);
    expect((await order('5550002'))?.currency).toBe('EUR');
  });

  it('refuses malformed dates with 400 naming the field, storing nothing', async () => {
    const before = [await count('orders'), await count('connectorDeliveries')];
    const r = await deliver('orders/create', patched('shopify-order.json', { id: 5550003, processed_at: '26/11/2026 09:30' }));
    expect(r.status).toBe(400);
    expect(r.json.error.details).toEqual([{ field: 'processed_at', message: expect.stringContaining('26/11/2026 09:30') }]);
    const checkout = await deliver('checkouts/create', patched('shopify-checkout.json', { id: 777, updated_at: '2026-11-27T25:00:00Z' }));
    expect(checkout.json.error.details.map((d: { field: string }) => d.field)).toEqual(['updated_at']);
    expect([await count('orders'), await count('connectorDeliveries')]).toEqual(before);
    expect(await count('carts')).toBe(0);
  });

  it('stores customers/create as a contact', async () => {
    const r = await deliver('customers/create', raw('shopify-customer.json'));
    expect(r.json).toMatchObject({ recorded: 'customer', externalId: '706405506930370084' });
    const c = await t.db.k.selectFrom('contacts').select(['email', 'firstName']).where('email', '=', 'bob@biller.com').executeTakeFirst();
    expect(c).toEqual({ email: 'bob@biller.com', firstName: 'Bob' });
  });

  it('an open checkout becomes abandoned after the configured delay; a completed one is converted', async () => {
    const now = t.clock.now();
    const open = await deliver('checkouts/create', patched('shopify-checkout.json', { id: 4001, created_at: iso(now - 10 * 60_000), updated_at: iso(now - 10 * 60_000) }));
    expect(open.json).toMatchObject({ recorded: 'cart', externalId: '4001' });
    const done = await deliver('checkouts/update', patched('shopify-checkout.json', { id: 4002, updated_at: iso(now - 5 * 60_000), completed_at: iso(now - 5 * 60_000) }));
    expect(done.json).toMatchObject({ recorded: 'cart', externalId: '4002' });
    expect(await cart('4001')).toMatchObject({ status: 'open', value: 398, recoveryUrl: expect.stringContaining('/recover?key=') });
    expect((await cart('4002'))?.status).toBe('converted');

    // 10 minutes idle of the 30 configured: still open.
    expect((await sweepAbandonedCheckouts(t.app.ctx)).abandoned).toEqual([]);
    t.clock.advance(19 * 60_000);
    expect((await sweepAbandonedCheckouts(t.app.ctx)).abandoned).toEqual([]);
    t.clock.advance(60_000);
    const swept = await sweepAbandonedCheckouts(t.app.ctx);
    expect(swept.abandoned.map((c) => [c.source, c.externalId, c.value])).toEqual([['shopify', '4001', 398]]);
    expect((await cart('4001'))?.status).toBe('abandoned');
    expect((await cart('4002'))?.status).toBe('converted');
    const events = await t.db.k.selectFrom('events').select(['type', 'source']).where('type', '=', 'cart_abandoned').execute();
    expect(events).toEqual([{ type: 'cart_abandoned', source: 'shopify' }]);
    // A later sweep changes nothing more.
    t.clock.advance(60 * 60_000);
    expect((await sweepAbandonedCheckouts(t.app.ctx)).abandoned).toEqual([]);

    // The shopper comes back and completes it: converted.
    const completed = await deliver('checkouts/update', patched('shopify-checkout.json', { id: 4001, updated_at: iso(t.clock.now()), completed_at: iso(t.clock.now()) }));
    expect(completed.status).toBe(200);
    expect((await cart('4001'))?.status).toBe('converted');
  });

  it('erases a customer on customers/redact (by id, or by address), keeping only the keyed hash', async () => {
    const erase = await deliver('customers/redact', '{"shop_id":954889,"shop_domain":"chapar-test.myshopify.com","customer":{"id":706405506930370084,"email":"someone-else@example.com"},"orders_to_redact":[]}');
    expect([erase.status, erase.json]).toEqual([200, { ok: true, topic: 'customers/redact', erased: true }]);
    expect(await t.db.k.selectFrom('contacts').select('id').where('email', '=', 'bob@biller.com').executeTakeFirst()).toBeUndefined();
    const erased = await t.db.k.selectFrom('suppressions').select(['email', 'reason']).where('reason', '=', 'erased').execute();
    expect(erased).toEqual([{ email: null, reason: 'erased' }]);
    // Unknown to Chapar: nothing to erase, still 200 (Shopify retries anything else).
    const unknown = await deliver('customers/redact', '{"shop_id":954889,"customer":{"id":191167,"email":"john@example.com"}}');
    expect(unknown.json).toEqual({ ok: true, topic: 'customers/redact', erased: false });
    const empty = await deliver('customers/redact', '{"shop_id":954889,"customer":{}}');
    expect(empty.status).toBe(400);
  });

  it('answers topics it does not use 200, saying they were ignored', async () => {
    const r = await deliver('shop/update', '{"id":954889}');
    expect([r.status, r.json]).toEqual([200, { ok: true, ignored: true, topic: 'shop/update', why: 'topic shop/update is not used by Chapar' }]);
    const request = await deliver('customers/data_request', '{"shop_id":954889,"customer":{"id":191167}}');
    expect(request.json).toMatchObject({ ignored: true, why: expect.stringContaining('gdpr-export') });
  });
});
