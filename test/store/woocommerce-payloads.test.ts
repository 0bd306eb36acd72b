import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isWooCommercePing, mapWooCommerceCustomer, mapWooCommerceOrder, mapWooCommerceProduct, mapWooCommerceStatus, readWooCommerceWebhook, verifyWooCommerceSignature } from '../../src/adapters/store/woocommerce-webhooks.ts';
import { parseJsonKeepingBigIds, type Json } from '../../src/adapters/store/payload-reading.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/store/${name}`, import.meta.url));
const json = (name: string) => parseJsonKeepingBigIds(fixture(name).toString('utf8')) as Json;
const sign = (body: Buffer | string, secret: string) => createHmac('sha256', secret).update(body).digest('base64');

describe('WooCommerce webhook signatures', () => {
  const vectorBody = Buffer.from('{"id":727,"status":"processing","billing":{"email":"jane@example.com"}}');

  it('passes the computed vector of formats.md §1.5', () => {
    const headers = { 'x-wc-webhook-signature': 'VylzVvZ7IRYbE793VHHQWuRlNCiK4WprD9OutpN6XtQ=' };
    expect(verifyWooCommerceSignature(vectorBody, 'wc_secret_123', headers)).toEqual({ ok: true });
  });

  it('refuses another secret, a changed body, a missing or malformed header', () => {
    const headers = { 'x-wc-webhook-signature': 'VylzVvZ7IRYbE793VHHQWuRlNCiK4WprD9OutpN6XtQ=' };
    expect(verifyWooCommerceSignature(vectorBody, 'wc_secret_124', headers)).toMatchObject({ ok: false, why: expect.stringContaining('does not match') });
    expect(verifyWooCommerceSignature(Buffer.from(`${vectorBody} `), 'wc_secret_123', headers).ok).toBe(false);
    expect(verifyWooCommerceSignature(vectorBody, 'wc_secret_123', {})).toMatchObject({ ok: false, why: expect.stringContaining('missing') });
    expect(verifyWooCommerceSignature(vectorBody, 'wc_secret_123', { 'x-wc-webhook-signature': 'not base64!' })).toMatchObject({ ok: false, why: expect.stringContaining('not a base64') });
    // A truncated signature must not pass a prefix comparison.
    expect(verifyWooCommerceSignature(vectorBody, 'wc_secret_123', { 'x-wc-webhook-signature': 'VylzVvZ7IRYbE793VHHQWuRlNCiK4WprD9OutpN6Xt' }).ok).toBe(false);
  });

  it('verifies PHP-escaped bodies byte for byte (never a re-serialised object)', () => {
    const raw = fixture('woocommerce-order.json');
    expect(raw.toString('latin1')).toContain('\\/');
    expect(raw.toString('latin1')).toContain('\\u00e9');
    const sig = sign(raw, 'wc_secret_123');
    expect(verifyWooCommerceSignature(raw, 'wc_secret_123', { 'x-wc-webhook-signature': sig }).ok).toBe(true);
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(raw.toString('utf8'))));
    expect(verifyWooCommerceSignature(reserialised, 'wc_secret_123', { 'x-wc-webhook-signature': sig }).ok).toBe(false);
  });

  it('recognises the creation ping: form body webhook_id=N without X-WC headers', () => {
    expect(isWooCommercePing(Buffer.from('webhook_id=42'), { 'content-type': 'application/x-www-form-urlencoded' })).toBe(true);
    expect(isWooCommercePing(Buffer.from('webhook_id=42'), { 'x-wc-webhook-topic': 'order.created' })).toBe(false);
    expect(isWooCommercePing(Buffer.from('webhook_id=42'), { 'x-wc-webhook-signature': 'x' })).toBe(false);
    expect(isWooCommercePing(Buffer.from('{"id":1}'), {})).toBe(false);
  });
});

describe('WooCommerce payloads → connector inputs', () => {
  it('maps a processing order with PHP escapes, coupons and line items', () => {
    const r = mapWooCommerceOrder(json('woocommerce-order.json'));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value).toEqual({
      source: 'woocommerce',
      externalId: '727',
      number: '727',
      customer: { source: 'woocommerce', externalId: '12', email: 'renee@example.com', firstName: 'Renée', lastName: 'François', phone: '+1 514 555 0101', attributes: { city: 'Montréal', country: 'CA' } },
      status: 'processing',
      sourceStatus: 'processing',
      currency: 'EUR',
      total: 49.8,
      refunded: 0,
      discount: 5,
      couponCodes: ['welcome5'],
      orderedAt: Date.parse('2026-11-20T09:15:00Z'),
      paidAt: Date.parse('2026-11-20T09:15:40Z'),
      completedAt: null,
      updatedAt: Date.parse('2026-11-20T09:16:02Z'),
      items: [
        { productExternalId: '93', sku: 'MUG-BLUE', name: 'Café mug – blue', quantity: 2, price: 13.5 },
        { productExternalId: '4711', sku: null, name: 'Tea / infusion sampler', quantity: 1, price: 17.9 },
      ],
    });
  });

  it('maps every status word of §1.3 (REST form), wc- prefixes and plugin statuses', () => {
    const cases: [string, string][] = [
      ['pending', 'pending'], ['processing', 'processing'], ['on-hold', 'on_hold'], ['completed', 'completed'], ['cancelled', 'cancelled'],
      ['refunded', 'refunded'], ['failed', 'failed'], ['checkout-draft', 'draft'], ['trash', 'cancelled'], ['wc-on-hold', 'on_hold'], ['ready-for-pickup', 'processing'],
    ];
    for (const [word, status] of cases) expect([word, mapWooCommerceStatus(word, false)]).toEqual([word, status]);
    expect(mapWooCommerceStatus('shipped', true)).toBe('processing');
    expect(mapWooCommerceStatus('awaiting-payment', false)).toBe('pending');
  });

  it('maps a guest order (customer_id 0), a deleted product (product_id 0) and money as numbers', () => {
    const o = { ...json('woocommerce-order.json'), customer_id: 0, status: 'completed', date_completed_gmt: '2026-11-22T08:00:00', line_items: [{ id: 1, name: 'Old thing', product_id: 0, quantity: '3', total: '30.00', sku: 'OLD' }] };
    const r = mapWooCommerceOrder(o);
    expect(r.ok && r.value.customer.externalId).toBe(null);
    expect(r.ok && r.value.status).toBe('completed');
    expect(r.ok && r.value.completedAt).toBe(Date.parse('2026-11-22T08:00:00Z'));
    expect(r.ok && r.value.items).toEqual([{ productExternalId: null, sku: 'OLD', name: 'Old thing', quantity: 3, price: 10 }]);
  });

  it('sums partial refunds (negative totals) into refunded, never above the total, and names a malformed one', () => {
    const o = json('woocommerce-order.json');
    const partly = mapWooCommerceOrder({ ...o, status: 'completed', refunds: [{ id: 801, reason: 'broken mug', total: '-13.50' }, { id: 802, reason: '', total: '-4.90' }] });
    expect(partly.ok && [partly.value.status, partly.value.total, partly.value.refunded]).toEqual(['completed', 49.8, 18.4]);
    const over = mapWooCommerceOrder({ ...o, status: 'refunded', refunds: [{ id: 803, total: '-49.80' }, { id: 804, total: '-0.01' }] });
    expect(over.ok && over.value.refunded).toBe(49.8);
    const bad = mapWooCommerceOrder({ ...o, refunds: [{ id: 805, total: 'all of it' }] });
    expect(bad.ok ? [] : bad.errors.map((e) => e.field)).toEqual(['refunds/0/total']);
    const notList = mapWooCommerceOrder({ ...o, refunds: 'none' });
    expect(notList.ok ? [] : notList.errors.map((e) => e.field)).toEqual(['refunds']);
  });

  it('names each malformed field: dates with offsets or impossible days, money, ids, currency', () => {
    const o = { ...json('woocommerce-order.json'), date_created_gmt: '2026-11-20 09:15:00', date_paid_gmt: '2026-02-30T10:00:00', date_modified_gmt: '2026-11-20T09:16:02+01:00', total: '49,80', currency: 'euro', id: -4 };
    const r = mapWooCommerceOrder(o);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => e.field).sort()).toEqual(['currency', 'date_created_gmt', 'date_modified_gmt', 'date_paid_gmt', 'id', 'total']);
    expect(r.errors.find((e) => e.field === 'date_created_gmt')?.message).toContain('2026-11-20 09:15:00');
  });

  it('refuses an order without its required fields', () => {
    const r = mapWooCommerceOrder({ id: 5 });
    expect(r.ok ? [] : r.errors.map((e) => `${e.field}: ${e.message}`).sort()).toEqual(['currency: is missing', 'date_created_gmt: is missing', 'status: is missing', 'total: is missing']);
  });

  it('maps a customer and a product', () => {
    expect(mapWooCommerceCustomer(json('woocommerce-customer.json'))).toEqual({
      ok: true,
      value: { source: 'woocommerce', externalId: '12', email: 'renee@example.com', firstName: 'Renée', lastName: 'François', phone: '+1 514 555 0101', attributes: { city: 'Montréal', country: 'CA' } },
    });
    expect(mapWooCommerceProduct(json('woocommerce-product.json'))).toEqual({
      ok: true,
      value: {
        source: 'woocommerce', externalId: '93', sku: 'MUG-BLUE', name: 'Café mug – blue', url: 'https://shop.example/product/cafe-mug-blue/',
        imageUrl: 'https://shop.example/wp-content/uploads/2026/01/mug.jpg', price: 15, categories: ['Kitchen & dining', 'Mugs'], inStock: false, updatedAt: Date.parse('2026-11-01T11:00:00Z'),
      },
    });
  });

  it('reads topics: resources it uses, deletions and unknown topics ignored with a reason', () => {
    expect(readWooCommerceWebhook('order.updated', json('woocommerce-order.json')).kind).toBe('order');
    expect(readWooCommerceWebhook('order.restored', json('woocommerce-order.json')).kind).toBe('order');
    expect(readWooCommerceWebhook('customer.created', json('woocommerce-customer.json')).kind).toBe('customer');
    expect(readWooCommerceWebhook('product.updated', json('woocommerce-product.json')).kind).toBe('product');
    expect(readWooCommerceWebhook('order.deleted', { id: 727 })).toMatchObject({ kind: 'ignored', why: expect.stringContaining('only an id') });
    expect(readWooCommerceWebhook('coupon.created', { id: 1 })).toMatchObject({ kind: 'ignored', why: expect.stringContaining('coupon.created') });
    expect(readWooCommerceWebhook('action.woocommerce_add_to_cart', { action: 'woocommerce_add_to_cart', arg: 'abc' }).kind).toBe('ignored');
    expect(readWooCommerceWebhook('order.created', [1, 2])).toEqual({ kind: 'invalid', errors: [{ field: 'body', message: 'must be a JSON object' }] });
  });
});

describe('parseJsonKeepingBigIds', () => {
  it('keeps ids above 2^53 exact and leaves strings, decimals and small numbers alone', () => {
    const v = parseJsonKeepingBigIds('{"id":820982911946154508,"s":"1234567890123456789 \\" 99999999999999999","n":-12345678901234567,"p":12.5,"e":1e21,"a":[9007199254740993]}') as Json;
    expect(v).toEqual({ id: '820982911946154508', s: '1234567890123456789 " 99999999999999999', n: '-12345678901234567', p: 12.5, e: 1e21, a: ['9007199254740993'] });
    expect(() => parseJsonKeepingBigIds('{"id":')).toThrow(SyntaxError);
  });
});
