import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createWooRestClient } from '../../src/adapters/store/woocommerce-rest.ts';
import { mapRestOrder } from '../../src/adapters/store/woocommerce-rest-mapping.ts';
import { oauthBaseString, signOAuthQuery } from '../../src/adapters/store/woocommerce-oauth.ts';
import { selectBackfillCursor } from '../../src/db/queries/backfill-cursors.ts';
import { AppError } from '../../src/lib/errors.ts';
import { backfillWooRest, type RestCursor } from '../../src/services/woocommerce-rest-backfill.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { openTestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { restCustomer, restGmt, restOrder, restProducts } from '../helpers/woocommerce-data.ts';
import { startFakeWooShop, WOO_TEST_CA, wooExpectedSignature, type FakeWooShop } from '../helpers/woocommerce-rest-server.ts';

const KEY = `ck_${'a1'.repeat(20)}`;
const SECRET = `cs_${'b2'.repeat(20)}`;
// 250 orders (3 pages of 100), of which 3 trashed: the API lists 247.
const ORDERS = Array.from({ length: 250 }, (_, i) => restOrder(i + 1, i + 1 === 7 || i + 1 === 150 || i + 1 === 249 ? { status: 'trash' } : {}));
const LISTED = 247;
const fast = { backoffMs: 1, maxWaitMs: 5 };

function shopData() {
  return { orders: ORDERS.map((o) => structuredClone(o)), customers: [0, 1, 2, 3, 4].map(restCustomer), products: restProducts() };
}

describe('WooCommerce REST client', () => {
  it('signs OAuth 1.0a requests exactly as WooCommerce checks them (independent PHP-style recomputation)', () => {
    const url = 'http://127.0.0.1:8080/wp-json/wc/v3/orders';
    const params = { page: '2', per_page: '100', modified_after: '2026-11-27T09:00:00', dates_are_gmt: 'true' };
    const signed = signOAuthQuery({ method: 'GET', url, params, consumerKey: KEY, consumerSecret: SECRET, nowMs: 1_764_000_000_000, nonce: 'n0nce' });
    expect(signed.oauth_signature_method).toBe('HMAC-SHA256');
    expect(signed.oauth_timestamp).toBe('1764000000');
    expect(signed.oauth_signature).toBe(wooExpectedSignature('GET', url, signed, SECRET, 'sha256'));
    // The base string percent-encodes the ':' of the date twice (once as a value, once in the pair list).
    expect(oauthBaseString('GET', url, { a: '09:00' })).toBe('GET&http%3A%2F%2F127.0.0.1%3A8080%2Fwp-json%2Fwc%2Fv3%2Forders&a%3D09%253A00');
  });

  it('refuses bad options before any request', () => {
    const ok = { url: 'https://shop.example', consumerKey: KEY, consumerSecret: SECRET };
    expect(() => createWooRestClient({ ...ok, url: 'shop.example' })).toThrow(/--rest: "shop.example" is not a URL/);
    expect(() => createWooRestClient({ ...ok, url: 'ftp://shop.example' })).toThrow(/not an http\(s\) URL/);
    expect(() => createWooRestClient({ ...ok, consumerKey: 'ck_short' })).toThrow(/--key: .*ck_/);
    expect(() => createWooRestClient({ ...ok, consumerSecret: KEY })).toThrow(/--secret/);
    expect(() => createWooRestClient({ ...ok, url: 'http://shop.example', auth: 'basic' })).toThrow(/in the clear/);
    expect(createWooRestClient({ ...ok, url: 'https://shop.example/wp-json/wc/v3/' }).siteUrl).toBe('https://shop.example');
  });

  it('maps a REST order with the webhook mappers: money strings, UTC dates, guest and registered customer, items, coupons', () => {
    const guest = mapRestOrder(restOrder(6));
    expect(guest).toMatchObject({ kind: 'ok', value: { externalId: '6', total: 37.5, discount: 5, currency: 'USD', couponCodes: ['yalda'], status: 'completed', sourceStatus: 'completed' } });
    if (guest.kind !== 'ok') throw new Error('not ok');
    expect(guest.value.orderedAt).toBe(Date.parse('2025-01-01T14:00:00Z'));
    expect(guest.value.paidAt).toBe(Date.parse('2025-01-01T14:10:00Z'));
    expect(guest.value.customer).toMatchObject({ externalId: null, email: 'ali.rezaei@example.ir', firstName: 'علی', attributes: { city: 'اصفهان', country: 'IR' } });
    expect(guest.value.items).toEqual([
      { productExternalId: '11', sku: 'BOOK-HAFEZ', name: 'کتاب شعر حافظ', quantity: 2, price: 15 },
      { productExternalId: '12', sku: 'TEA-1', name: 'Tea set', quantity: 1, price: 12.5 },
    ]);
    expect(mapRestOrder(restOrder(5))).toMatchObject({ kind: 'ok', value: { customer: { externalId: '100' } } });
    expect(mapRestOrder(restOrder(1, { status: 'on-hold' }))).toMatchObject({ value: { status: 'on_hold' } });
    expect(mapRestOrder(restOrder(1, { status: 'checkout-draft' }))).toMatchObject({ value: { status: 'draft' } });
    expect(mapRestOrder(restOrder(1, { total: '12,50' }))).toEqual({ kind: 'invalid', reason: 'order 1: total: "12,50" is not an amount such as 12.50' });
    expect(mapRestOrder(restOrder(1, { date_created_gmt: '2025-01-01T10:00:00+03:30' }))).toMatchObject({ kind: 'invalid', reason: expect.stringMatching(/^order 1: date_created_gmt: .* \(UTC, no offset\)$/) });
    expect(mapRestOrder(restOrder(3, { billing: { email: '' } }))).toEqual({ kind: 'skip', reason: 'order 3 has no email and no customer account' });
    expect(mapRestOrder('nope')).toEqual({ kind: 'invalid', reason: 'a order in the list is not an object' });
  });
});

describe.each(DIALECTS)('WooCommerce REST backfill on %s', (dialect) => {
  let t: TestApp;
  let shop: FakeWooShop;
  beforeEach(async () => {
    t = await createTestApp(dialect);
  });
  afterEach(async () => {
    await shop?.close();
    await t?.close();
  });
  const count = async (table: 'orders' | 'products' | 'orderItems') => Number((await t.db.k.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('over plain HTTP signs with OAuth 1.0a, pages by X-WP-TotalPages, retries a 429 once, stores everything', async () => {
    shop = await startFakeWooShop({ key: KEY, secret: SECRET, data: shopData() });
    shop.faults.push({ resource: 'orders', page: 2, status: 429, times: 1, retryAfter: '0' });
    const client = createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: SECRET, ...fast });
    const progress: string[] = [];
    const report = await backfillWooRest(t.app.ctx, client, {}, { onProgress: (p) => progress.push(`${p.resource} ${p.page}/${p.totalPages} ${p.done}/${p.total}`) });
    expect(report.error).toBeUndefined();
    expect(report.complete).toBe(true);
    expect(report.tallies.orders).toMatchObject({ read: LISTED, stored: LISTED, created: LISTED, rejected: 0 });
    expect(report.tallies.customers).toMatchObject({ read: 5, stored: 5 });
    expect(report.tallies.products).toMatchObject({ read: 2, stored: 2 });
    expect(progress).toEqual(['products 1/1 2/2', 'customers 1/1 5/5', 'orders 1/3 100/247', 'orders 2/3 200/247', 'orders 3/3 247/247']);
    expect(shop.requests.every((r) => r.auth === 'oauth')).toBe(true);
    expect(shop.requests.filter((r) => r.resource === 'orders').map((r) => `${r.query.page}:${r.status}`)).toEqual(['1:200', '2:429', '2:200', '3:200']);
    expect(shop.requests[0]!.query).toMatchObject({ per_page: '100', orderby: 'id', order: 'asc' });
    expect(await count('orders')).toBe(LISTED);
    expect(await count('products')).toBe(2);

    const o = await t.db.k.selectFrom('orders').selectAll().where('externalId', '=', '6').executeTakeFirstOrThrow();
    expect(o).toMatchObject({ source: 'woocommerce', status: 'completed', total: 37.5, discount: 5, currency: 'USD', orderedAt: Date.parse('2025-01-01T14:00:00Z') });
    const contact = await t.db.k.selectFrom('contacts').selectAll().where('id', '=', o.contactId!).executeTakeFirstOrThrow();
    expect(contact).toMatchObject({ email: 'ali.rezaei@example.ir', firstName: 'علی', lastName: 'رضایی' });
    expect(await t.db.k.selectFrom('orders').select('id').where('externalId', '=', '7').executeTakeFirst()).toBeUndefined();
    const cursor = await selectBackfillCursor<RestCursor>(t.db, { name: `woocommerce-rest:${shop.url}` });
    expect(cursor).toMatchObject({ phase: 'done', modifiedAfter: null });
  });

  it('resumes after a failure mid-way at the next page, without doubling any order', async () => {
    shop = await startFakeWooShop({ key: KEY, secret: SECRET, data: shopData() });
    shop.faults.push({ resource: 'orders', page: 3, status: 503, times: 100 });
    const client = createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: SECRET, retries: 2, ...fast });
    const first = await backfillWooRest(t.app.ctx, client);
    expect(first.complete).toBe(false);
    expect(first.error).toBeInstanceOf(AppError);
    expect(first.error!.message).toMatch(/orders page 3: the shop answered HTTP 503 3 times/);
    expect(await count('orders')).toBe(200);
    expect(await selectBackfillCursor(t.db, { name: first.cursor })).toMatchObject({ phase: 'orders', page: 2 });

    shop.faults.length = 0;
    shop.requests.length = 0;
    const second = await backfillWooRest(t.app.ctx, client);
    expect(second.complete).toBe(true);
    expect(second.startedFrom).toBe('resumed at orders page 3');
    expect(shop.requests.map((r) => `${r.resource}:${r.query.page}`)).toEqual(['orders:3']);
    expect(second.tallies.orders).toMatchObject({ read: 47, stored: 47, created: 47 });
    expect(await count('orders')).toBe(LISTED);
    const items = await count('orderItems');

    // --restart reads everything again: same rows, updated in place.
    const again = await backfillWooRest(t.app.ctx, client, { restart: true });
    expect(again.startedFrom).toBe('start');
    expect(again.tallies.orders).toMatchObject({ read: LISTED, created: 0 });
    expect(await count('orders')).toBe(LISTED);
    expect(await count('orderItems')).toBe(items);
  });

  it('a finished run is followed by runs that read only what changed since it started', async () => {
    shop = await startFakeWooShop({ key: KEY, secret: SECRET, data: shopData() });
    const client = createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: SECRET, ...fast });
    expect((await backfillWooRest(t.app.ctx, client)).complete).toBe(true);
    // The shop changes after the run (ManualClock at 2026-11-27T10:00Z): one order refunded, one new.
    const later = Date.parse('2026-11-27T12:00:00Z');
    Object.assign(shop.data.orders[9]!, { status: 'refunded', date_modified_gmt: restGmt(later) });
    shop.data.orders.push(restOrder(251, { date_created_gmt: restGmt(later), date_modified_gmt: restGmt(later) }));
    shop.requests.length = 0;
    t.clock.set('2026-11-27T13:00:00Z');
    const next = await backfillWooRest(t.app.ctx, client);
    expect(next.startedFrom).toMatch(/^new and changed since 2026-11-27T09:00:00Z/);
    expect(shop.requests.map((r) => r.resource)).toEqual(['products', 'orders']);
    expect(shop.requests[1]!.query).toMatchObject({ modified_after: '2026-11-27T09:00:00', dates_are_gmt: 'true' });
    expect(next.tallies.orders).toMatchObject({ read: 2, stored: 2, created: 1 });
    expect(await t.db.k.selectFrom('orders').select('status').where('externalId', '=', '10').executeTakeFirstOrThrow()).toEqual({ status: 'refunded' });
    expect(await count('orders')).toBe(LISTED + 1);
  });

  it('over HTTPS uses Basic auth (or query keys), and says clearly when the shop refuses the keys', async () => {
    shop = await startFakeWooShop({ secure: true, key: KEY, secret: SECRET, data: shopData() });
    const basic = createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: SECRET, ca: WOO_TEST_CA, ...fast });
    expect((await basic.fetchPage('products', { page: 1, perPage: 100 })).total).toBe(2);
    const query = createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: SECRET, ca: WOO_TEST_CA, auth: 'query', ...fast });
    expect((await query.fetchPage('customers', { page: 1, perPage: 2 })).totalPages).toBe(3);
    expect(shop.requests.map((r) => r.auth)).toEqual(['basic', 'query']);

    const wrong = createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: `cs_${'0'.repeat(40)}`, ca: WOO_TEST_CA, ...fast });
    const report = await backfillWooRest(t.app.ctx, wrong);
    expect(report.complete).toBe(false);
    expect(report.error).toMatchObject({ code: 'unauthorized', message: expect.stringMatching(/HTTP 401 woocommerce_rest_authentication_error: Consumer secret is invalid\./) });
    const unknown = createWooRestClient({ url: shop.url, consumerKey: `ck_${'0'.repeat(40)}`, consumerSecret: SECRET, ca: WOO_TEST_CA, ...fast });
    await expect(unknown.fetchPage('orders', { page: 1, perPage: 100 })).rejects.toThrow(/woocommerce_rest_cannot_view/);
  });

  it('over HTTP a wrong secret fails the OAuth signature check; an unknown path is a clear 404', async () => {
    shop = await startFakeWooShop({ key: KEY, secret: SECRET, data: shopData() });
    const wrong = createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: `cs_${'0'.repeat(40)}`, ...fast });
    await expect(wrong.fetchPage('orders', { page: 1, perPage: 100 })).rejects.toThrow(/Invalid signature - provided signature does not match/);
    const elsewhere = createWooRestClient({ url: `${shop.url}/blog`, consumerKey: KEY, consumerSecret: SECRET, ...fast });
    await expect(elsewhere.fetchPage('orders', { page: 1, perPage: 100 })).rejects.toMatchObject({ code: 'not_found', message: expect.stringMatching(/no WooCommerce REST API at .*\/blog\/wp-json\/wc\/v3/) });
  });

  it('reports orders the shop sends broken, stores the rest', async () => {
    const data = shopData();
    data.orders = data.orders.slice(0, 3);
    data.orders[1]!.total = 'free';
    shop = await startFakeWooShop({ key: KEY, secret: SECRET, data });
    const report = await backfillWooRest(t.app.ctx, createWooRestClient({ url: shop.url, consumerKey: KEY, consumerSecret: SECRET, ...fast }));
    expect(report.complete).toBe(true);
    expect(report.tallies.orders).toMatchObject({ read: 3, stored: 2, rejected: 1 });
    expect(report.problems).toEqual(['order 2: total: "free" is not an amount such as 12.50']);
  });
});

describe.each(DIALECTS)('chapar woocommerce backfill --rest on %s', (dialect) => {
  let shop: FakeWooShop;
  afterAll(async () => shop?.close());

  it('stores the shop, prints a summary, and refuses bad options with exit code 2', async () => {
    shop = await startFakeWooShop({ key: KEY, secret: SECRET, data: shopData() });
    const cli = await openTestCli(dialect);
    try {
      const run = await cli.run(['woocommerce', 'backfill', '--rest', shop.url, '--key', KEY, '--secret', SECRET]);
      // Not a terminal: plain progress lines (drawn at most every 200 ms), always ending at 100%.
      expect(run.stderr).toMatch(/^100\.0% 2 products · [\d,]+\/s/m);
      expect(run.stderr).toMatch(/^100\.0% 247 orders · [\d,]+\/s · ETA 0s\n$/m);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`orders: ${LISTED} read, ${LISTED} stored (${LISTED} new), 0 already newer, 0 skipped, 0 rejected`);
      const rerun = await cli.run(['woocommerce', 'backfill', '--rest', shop.url, '--key', KEY, '--secret', SECRET, '--quiet']);
      expect(rerun.stdout).toMatch(/new and changed since/);
      expect((await cli.run(['woocommerce', 'backfill', '--key', KEY])).stderr).toMatch(/give exactly one: --rest URL .* or --db URL/);
      const bad = await cli.run(['woocommerce', 'backfill', '--rest', shop.url, '--key', 'nope', '--secret', SECRET]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--key/);
    } finally {
      await cli.close();
    }
  });
});
