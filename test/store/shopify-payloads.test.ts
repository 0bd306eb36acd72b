import { readFileSync } from 'node:fs';
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { mapShopifyCheckout, mapShopifyCustomer, mapShopifyOrder, mapShopifyProduct, mapShopifyStatus, readShopifyWebhook, shopifyDeliveryId, verifyShopifySignature } from '../../src/adapters/store/shopify-webhooks.ts';
import { parseJsonKeepingBigIds, type Json } from '../../src/adapters/store/payload-reading.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/store/${name}`, import.meta.url));
const json = (name: string) => parseJsonKeepingBigIds(fixture(name).toString('utf8')) as Json;

describe('Shopify webhook signatures', () => {
  const vectorBody = Buffer.from('{"id":727,"status":"processing","billing":{"email":"jane@example.com"}}');

  it('passes the computed vector of formats.md §2', () => {
    expect(verifyShopifySignature(vectorBody, 'shpss_test_secret', { 'x-shopify-hmac-sha256': '+IOcEW7OyLZ7pXpGG1CVJMX5iUhD4/lEOtwE5IoUHpQ=' })).toEqual({ ok: true });
  });

  it('refuses another secret, a changed body and a missing header', () => {
    const headers = { 'x-shopify-hmac-sha256': '+IOcEW7OyLZ7pXpGG1CVJMX5iUhD4/lEOtwE5IoUHpQ=' };
    expect(verifyShopifySignature(vectorBody, 'wc_secret_123', headers).ok).toBe(false);
    expect(verifyShopifySignature(Buffer.from(vectorBody.toString().replace('727', '728')), 'shpss_test_secret', headers).ok).toBe(false);
    expect(verifyShopifySignature(vectorBody, 'shpss_test_secret', {})).toMatchObject({ ok: false, why: expect.stringContaining('X-Shopify-Hmac-Sha256 header is missing') });
  });

  it('verifies a real-sized payload with non-ASCII text byte for byte', () => {
    const raw = fixture('shopify-order.json');
    const sig = createHmac('sha256', 'shpss_test_secret').update(raw).digest('base64');
    expect(verifyShopifySignature(raw, 'shpss_test_secret', { 'x-shopify-hmac-sha256': sig }).ok).toBe(true);
  });

  it('dedupes by X-Shopify-Event-Id, falling back to X-Shopify-Webhook-Id', () => {
    expect(shopifyDeliveryId({ 'x-shopify-event-id': 'ev-1', 'x-shopify-webhook-id': 'wh-1' })).toBe('ev-1');
    expect(shopifyDeliveryId({ 'x-shopify-webhook-id': 'wh-1' })).toBe('wh-1');
    expect(shopifyDeliveryId({})).toBe(null);
  });
});

describe('Shopify payloads → connector inputs', () => {
  it('maps a paid order, keeping ids above 2^53 exact', () => {
    const r = mapShopifyOrder(json('shopify-order.json'));
    expect(r).toEqual({
      ok: true,
      value: {
        source: 'shopify',
        externalId: '820982911946154508',
        number: '#9999',
        customer: { source: 'shopify', externalId: '115310627314723954', email: 'jon@example.com', firstName: 'Jon', lastName: 'Snow', phone: null, locale: 'en-CA', attributes: { city: 'Ottawa', country: 'CA' } },
        status: 'processing',
        sourceStatus: 'paid',
        currency: 'USD',
        total: 398,
        refunded: 0,
        discount: 10,
        couponCodes: ['SPRING10'],
        orderedAt: Date.parse('2026-11-26T14:30:00Z'),
        paidAt: Date.parse('2026-11-26T14:30:00Z'),
        completedAt: null,
        updatedAt: Date.parse('2026-11-26T14:31:12Z'),
        items: [
          { productExternalId: '632910392', sku: 'IPOD2008PINK', name: 'IPod Nano - 8GB', quantity: 1, price: 199 },
          { productExternalId: null, sku: null, name: 'Gift wrap — «Élan»', quantity: 1, price: 199 },
        ],
      },
    });
  });

  it('maps financial and fulfillment status to the normalised status', () => {
    const s = (financial: string | null, fulfillment: string | null = null, cancelled = false) => mapShopifyStatus({ financial, fulfillment, cancelled });
    expect(s('pending')).toBe('pending');
    expect(s(null)).toBe('pending');
    expect(s('authorized')).toBe('processing');
    expect(s('paid')).toBe('processing');
    expect(s('partially_refunded')).toBe('processing');
    expect(s('paid', 'fulfilled')).toBe('completed');
    expect(s('paid', 'partial')).toBe('processing');
    expect(s('refunded', 'fulfilled')).toBe('refunded');
    expect(s('voided')).toBe('cancelled');
    expect(s('paid', null, true)).toBe('cancelled');
    expect(s('expired')).toBe('failed');
  });

  it('a fulfilled order is completed at its last fulfillment', () => {
    const o = { ...json('shopify-order.json'), fulfillment_status: 'fulfilled', fulfillments: [{ id: 1, created_at: '2026-11-27T08:00:00+01:00' }, { id: 2, created_at: '2026-11-28T08:00:00Z' }] };
    const r = mapShopifyOrder(o);
    expect(r.ok && [r.value.status, r.value.sourceStatus, r.value.completedAt]).toEqual(['completed', 'paid/fulfilled', Date.parse('2026-11-28T08:00:00Z')]);
  });

  it('counts the successful refund transactions of its refunds as refunded, never above the total', () => {
    const refund = (transactions: unknown[]) => ({ id: 1, created_at: '2026-11-27T10:00:00Z', transactions });
    const o = {
      ...json('shopify-order.json'),
      financial_status: 'partially_refunded',
      refunds: [
        refund([{ id: 11, kind: 'refund', status: 'success', amount: '41.50' }, { id: 12, kind: 'refund', status: 'failure', amount: '100.00' }]),
        // A restock of items with no money back has no transaction; a capture is not a refund.
        refund([]),
        refund([{ id: 13, kind: 'capture', status: 'success', amount: '398.00' }, { id: 14, kind: 'refund', status: 'success', amount: 10 }]),
      ],
    };
    const r = mapShopifyOrder(o);
    expect(r.ok && [r.value.status, r.value.total, r.value.refunded]).toEqual(['processing', 398, 51.5]);
    const all = mapShopifyOrder({ ...o, refunds: [refund([{ kind: 'refund', status: 'success', amount: '398.00' }, { kind: 'refund', status: 'success', amount: '0.01' }])] });
    expect(all.ok && all.value.refunded).toBe(398);
    const bad = mapShopifyOrder({ ...o, refunds: [refund([{ kind: 'refund', status: 'success', amount: 'lots' }])] });
    expect(bad.ok ? [] : bad.errors.map((e) => e.field)).toEqual(['refunds/0/transactions/0/amount']);
  });

  it('names malformed dates and amounts', () => {
    const r = mapShopifyOrder({ ...json('shopify-order.json'), processed_at: 'yesterday', created_at: '2026-11-26T09:30:00', total_price: 'free', currency: 'US' });
    expect(r.ok ? [] : r.errors.map((e) => e.field).sort()).toEqual(['created_at', 'currency', 'processed_at', 'total_price']);
  });

  it('maps an open checkout to a cart with its recovery link', () => {
    expect(mapShopifyCheckout(json('shopify-checkout.json'))).toEqual({
      ok: true,
      value: {
        source: 'shopify',
        externalId: '981820079255243537',
        customer: { source: 'shopify', externalId: '603851970716743426', email: 'jon@example.com', firstName: 'Jon', lastName: 'Snow', phone: null, locale: 'en', attributes: {} },
        items: [{ productExternalId: '632910392', sku: 'IPOD2008PINK', name: 'IPod Nano - 8GB', quantity: 2, price: 199 }],
        value: 398,
        currency: 'USD',
        recoveryUrl: 'https://checkout.local/548380009/checkouts/123123123/recover?key=example-secret-token',
        updatedAt: Date.parse('2026-11-27T09:30:00Z'),
        completedAt: null,
        orderExternalId: null,
      },
    });
  });

  it('a checkout with completed_at is converted; one without updated_at falls back to created_at', () => {
    const done = mapShopifyCheckout({ ...json('shopify-checkout.json'), completed_at: '2026-11-27T04:40:00-05:00' });
    expect(done.ok && done.value.completedAt).toBe(Date.parse('2026-11-27T09:40:00Z'));
    const early = mapShopifyCheckout({ ...json('shopify-checkout.json'), updated_at: null });
    expect(early.ok && early.value.updatedAt).toBe(Date.parse('2026-11-27T09:20:00Z'));
    const broken = mapShopifyCheckout({ ...json('shopify-checkout.json'), completed_at: '2026-13-01T00:00:00Z' });
    expect(broken.ok ? [] : broken.errors.map((e) => e.field)).toEqual(['completed_at']);
  });

  it('maps a customer and a product', () => {
    expect(mapShopifyCustomer(json('shopify-customer.json'))).toEqual({
      ok: true,
      value: { source: 'shopify', externalId: '706405506930370084', email: 'bob@biller.com', firstName: 'Bob', lastName: 'Biller', phone: null, locale: null, attributes: { city: 'Paris', country: 'FR' } },
    });
    const p = mapShopifyProduct({ id: 632910392, title: 'IPod Nano - 8GB', handle: 'ipod-nano', product_type: 'Cult Products', updated_at: '2026-11-20T10:00:00-05:00', image: { src: 'https://cdn.shopify.com/ipod.jpg' }, variants: [{ id: 1, sku: 'IPOD2008PINK', price: '199.00', inventory_quantity: 0, inventory_management: 'shopify', inventory_policy: 'deny' }] }, 'shop.example');
    expect(p).toEqual({
      ok: true,
      value: { source: 'shopify', externalId: '632910392', sku: 'IPOD2008PINK', name: 'IPod Nano - 8GB', url: 'https://shop.example/products/ipod-nano', imageUrl: 'https://cdn.shopify.com/ipod.jpg', price: 199, categories: ['Cult Products'], inStock: false, updatedAt: Date.parse('2026-11-20T15:00:00Z') },
    });
  });

  it('reads topics: orders, customers, checkouts, products; others ignored with a reason', () => {
    expect(readShopifyWebhook('orders/create', json('shopify-order.json'), null).kind).toBe('order');
    expect(readShopifyWebhook('orders/updated', json('shopify-order.json'), null).kind).toBe('order');
    expect(readShopifyWebhook('customers/create', json('shopify-customer.json'), null).kind).toBe('customer');
    expect(readShopifyWebhook('checkouts/update', json('shopify-checkout.json'), null).kind).toBe('cart');
    expect(readShopifyWebhook('shop/update', {}, null)).toMatchObject({ kind: 'ignored', why: expect.stringContaining('shop/update') });
    expect(readShopifyWebhook('customers/redact', { customer: { id: 191167, email: 'john@example.com' } }, null)).toEqual({ kind: 'erasure', customer: { source: 'shopify', externalId: '191167', email: 'john@example.com' } });
    expect(readShopifyWebhook('customers/redact', { customer: {} }, null).kind).toBe('invalid');
    expect(readShopifyWebhook('orders/create', 'x', null).kind).toBe('invalid');
    const anonymous = { ...json('shopify-checkout.json'), email: null, customer: null };
    expect(readShopifyWebhook('checkouts/create', anonymous, null)).toEqual({ kind: 'ignored', why: 'checkout 981820079255243537 has no email and no customer account: there is nobody to link it to' });
    const pos = { ...json('shopify-order.json'), email: '', contact_email: null, customer: null };
    expect(readShopifyWebhook('orders/create', pos, null).kind).toBe('ignored');
  });
});
