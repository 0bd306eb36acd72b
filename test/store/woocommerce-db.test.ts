import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openWooShopDb, type WooShopDb } from '../../src/adapters/store/woocommerce-db.ts';
import { selectBackfillCursor } from '../../src/db/queries/backfill-cursors.ts';
import { backfillWooDb } from '../../src/services/woocommerce-db-backfill.ts';
import { createTestApp, type TestApp } from '../helpers/app.ts';
import { openTestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';
import { checksumShop, createShopDatabase, TEST_MARIADB_URL, type TestShopDatabase } from '../helpers/mariadb.ts';
import { seedHposOrder, seedLegacyOrder, seedProduct, type SeedOrder } from '../helpers/woocommerce-shop-db.ts';

// Against a real MariaDB (CHAPAR_TEST_MARIADB), with WooCommerce's own table definitions
// (test/fixtures/woocommerce/*.sql) and orders written as WooCommerce writes them, in both storages.

const SHOPPERS = [
  { first: 'مریم', last: 'احمدی', email: 'maryam.ahmadi@example.ir', phone: '+989121234567', city: 'تهران', country: 'IR' },
  { first: 'علی', last: 'رضایی', email: 'ali.rezaei@example.ir', phone: '+989351112233', city: 'اصفهان', country: 'IR' },
  { first: 'Jane', last: 'Doe', email: 'jane@example.com', phone: '', city: 'Berlin', country: 'DE' },
];
const T0 = Date.UTC(2025, 2, 20, 20, 0, 0);
const at = (hours: number) => new Date(T0 + hours * 3600_000);
const book = { name: 'کتاب شعر حافظ', productId: 11, qty: 2, lineTotal: '30' };
const tea = { name: 'Tea set', productId: 12, qty: 1, lineTotal: '12.5' };

function order(id: number, over: Partial<SeedOrder> = {}): SeedOrder {
  const s = SHOPPERS[id % 3]!;
  return {
    id, status: 'wc-completed', currency: 'USD', total: '30.00', discount: '0', customerId: id % 3 === 1 ? 0 : 100 + (id % 3),
    billing: s, created: at(id - 1000), modified: at(id - 1000 + 48), paid: at(id - 1000 + 0.25), completed: at(id - 1000 + 24),
    items: [book], coupons: [], ...over,
  };
}

// 16 orders (ids as WordPress hands them out, refunds in between), one of them trashed (stored as
// cancelled, as its webhook would be), one auto-draft left by the admin screen (not an order); 2 refunds.
const ORDERS: SeedOrder[] = [
  order(1001, { total: '37.50', discount: '5', items: [book, tea], coupons: ['yalda'] }),
  order(1003, { status: 'wc-processing', completed: undefined }),
  order(1005, { status: 'wc-refunded', refunds: [{ id: 1006, amount: '30.00', at: at(30) }] }),
  order(1007, { refunds: [{ id: 1008, amount: '10.00', at: at(31) }] }),
  order(1009, { status: 'trash', trashedFrom: 'wc-completed' }),
  order(1010, { status: 'wc-on-hold', paid: undefined, completed: undefined, items: [{ name: 'پیراهن - M', productId: 13, variationId: 14, qty: 1, lineTotal: '30' }] }),
  order(1011, { status: 'wc-checkout-draft', paid: undefined, completed: undefined }),
  order(1012, { status: 'wc-pending', paid: undefined, completed: undefined }),
  ...Array.from({ length: 7 }, (_, i) => order(1013 + i)),
  order(1020, { status: 'auto-draft', billing: { ...SHOPPERS[0]!, email: '' }, customerId: 0, paid: undefined, completed: undefined, items: [] }),
];
const STORED = 15;

async function seedShop(storage: 'hpos' | 'legacy', prefix: string, orders: SeedOrder[] = ORDERS): Promise<TestShopDatabase> {
  const shop = await createShopDatabase(storage, prefix);
  await seedProduct(shop.conn, prefix, { id: 11, name: 'کتاب شعر حافظ', sku: 'BOOK-HAFEZ' });
  await seedProduct(shop.conn, prefix, { id: 12, name: 'Tea set', sku: 'TEA-1' });
  await seedProduct(shop.conn, prefix, { id: 13, name: 'پیراهن', sku: 'SHIRT' });
  await seedProduct(shop.conn, prefix, { id: 14, name: 'پیراهن - M', sku: 'SHIRT-M', parent: 13 });
  for (const o of orders) await (storage === 'hpos' ? seedHposOrder : seedLegacyOrder)(shop.conn, prefix, o);
  return shop;
}

if (!TEST_MARIADB_URL) {
  describe('WooCommerce database backfill', () => {
    it.skip('needs CHAPAR_TEST_MARIADB=mysql://root@127.0.0.1:3306/test (skipped)', () => {});
  });
} else {
  const SHOPS = [
    { storage: 'hpos' as const, prefix: 'wp_' },
    { storage: 'legacy' as const, prefix: 'shop7_' },
  ];

  describe.each(SHOPS)('WooCommerce database reader, $storage storage, prefix $prefix', ({ storage, prefix }) => {
    let shop: TestShopDatabase;
    let reader: WooShopDb;
    beforeAll(async () => {
      shop = await seedShop(storage, prefix);
      reader = await openWooShopDb(shop.url, prefix);
    });
    afterAll(async () => {
      await reader?.close();
      await shop?.drop();
    });

    it('detects the storage from the shop\'s tables and from WooCommerce\'s own setting', async () => {
      expect(await reader.detectStorage()).toEqual(storage === 'hpos'
        ? { storage: 'hpos', reason: 'posts holds shop_order_placehold placeholders' }
        : { storage: 'legacy', reason: 'posts holds shop_order rows' });
      await shop.conn.query(`INSERT INTO ${prefix}options (option_name, option_value, autoload) VALUES ('woocommerce_custom_orders_table_enabled', ?, 'auto')`, [storage === 'hpos' ? 'yes' : 'no']);
      expect(await reader.detectStorage()).toEqual({ storage, reason: `woocommerce_custom_orders_table_enabled is ${storage === 'hpos' ? 'yes' : 'no'}` });
    });

    it('reads orders in id order, maps money, UTC dates, customers, items with SKUs and coupons; refunds are not orders, trash is cancelled, auto-drafts are skipped', async () => {
      expect(await reader.countOrders(storage, '0')).toBe(16);
      expect(await reader.countOrders(storage, '1012')).toBe(8);
      const batch = (await reader.readOrders(storage, '0', 6))!;
      expect(batch.results.map((r) => r.id)).toEqual(['1001', '1003', '1005', '1007', '1009', '1010']);
      expect(batch.lastId).toBe('1010');
      const byId = new Map(batch.results.map((r) => [r.id, r.mapped]));
      expect(byId.get('1009')).toMatchObject({ kind: 'ok', value: { status: 'cancelled', sourceStatus: 'trash' } });
      expect(byId.get('1001')).toEqual({
        kind: 'ok',
        value: {
          source: 'woocommerce', externalId: '1001', number: '1001', status: 'completed', sourceStatus: 'completed', currency: 'USD', total: 37.5, refunded: 0, discount: 5, couponCodes: ['yalda'],
          orderedAt: T0 + 1 * 3600_000, paidAt: T0 + 1.25 * 3600_000, completedAt: T0 + 25 * 3600_000, updatedAt: T0 + 49 * 3600_000,
          customer: { source: 'woocommerce', externalId: '102', email: 'jane@example.com', firstName: 'Jane', lastName: 'Doe', phone: null, attributes: { city: 'Berlin', country: 'DE' } },
          items: [
            { productExternalId: '11', sku: 'BOOK-HAFEZ', name: 'کتاب شعر حافظ', quantity: 2, price: 15 },
            { productExternalId: '12', sku: 'TEA-1', name: 'Tea set', quantity: 1, price: 12.5 },
          ],
        },
      });
      // A guest (customer_id 0) with a Persian name; a fully refunded order keeps its status.
      expect(byId.get('1003')).toMatchObject({ value: { status: 'processing', completedAt: null, customer: { externalId: null, email: 'ali.rezaei@example.ir', firstName: 'علی', lastName: 'رضایی', phone: '+989351112233', attributes: { city: 'اصفهان', country: 'IR' } } } });
      // Refunds are read from the order's refund rows: all of 1005, part of 1007 (still completed).
      expect(byId.get('1007')).toMatchObject({ value: { status: 'completed', total: 30, refunded: 10 } });
      expect(byId.get('1001')).toMatchObject({ value: { refunded: 0 } });
      expect(byId.get('1005')).toMatchObject({ value: { status: 'refunded', total: 30, refunded: 30, customer: { externalId: '100', email: 'maryam.ahmadi@example.ir', firstName: 'مریم' } } });
      // A variation's own SKU wins over its parent's.
      expect(byId.get('1010')).toMatchObject({ value: { status: 'on_hold', paidAt: null, items: [{ productExternalId: '13', sku: 'SHIRT-M', name: 'پیراهن - M' }] } });
      const next = (await reader.readOrders(storage, '1010', 6))!;
      expect(next.results.map((r) => r.mapped)).toMatchObject([{ value: { status: 'draft' } }, { value: { status: 'pending' } }, {}, {}, {}, {}]);
      const tail = (await reader.readOrders(storage, '1019', 6))!;
      expect(tail.results).toEqual([{ id: '1020', mapped: { kind: 'skip', reason: 'order 1020 is not yet an order (status "auto-draft")' } }]);
      expect(await reader.readOrders(storage, '1020', 6)).toBeUndefined();
    });
  });

  it('both storages give the same orders for the same shop', async () => {
    const a = await seedShop('hpos', 'wp_');
    const b = await seedShop('legacy', 'wp_');
    const ra = await openWooShopDb(a.url);
    const rb = await openWooShopDb(b.url);
    try {
      expect((await ra.readOrders('hpos', '0', 100))!.results).toEqual((await rb.readOrders('legacy', '0', 100))!.results);
    } finally {
      await ra.close();
      await rb.close();
      await a.drop();
      await b.drop();
    }
  });

  it('refuses a wrong prefix (naming the ones it sees), a bad URL, and an unreachable server', async () => {
    const shop = await seedShop('legacy', 'shop7_', []);
    try {
      const reader = await openWooShopDb(shop.url, 'wp_');
      await expect(reader.detectStorage()).rejects.toThrow('no WooCommerce tables with prefix "wp_" in this database; tables found with prefix "shop7_" (use --prefix)');
      await reader.close();
      await expect(openWooShopDb(shop.url, 'wp_; DROP TABLE x')).rejects.toThrow(/--prefix: .* is not a WordPress table prefix/);
      await expect(openWooShopDb('postgres://x/y')).rejects.toThrow(/--db: must start with mysql:\/\//);
      await expect(openWooShopDb('mysql://root@127.0.0.1:3306')).rejects.toThrow(/names no database/);
      await expect(openWooShopDb('mysql://root@127.0.0.1:1/x')).rejects.toThrow(/cannot connect to the shop database at 127.0.0.1/);
    } finally {
      await shop.drop();
    }
  });

  describe.each(DIALECTS)('WooCommerce database backfill into %s', (dialect) => {
    it.each(SHOPS)('stores the $storage shop (prefix $prefix), resumes after an interruption, never writes to the shop', async ({ storage, prefix }) => {
      const shop = await seedShop(storage, prefix);
      const t: TestApp = await createTestApp(dialect);
      const reader = await openWooShopDb(shop.url, prefix);
      try {
        const before = await checksumShop(shop);
        const count = async () => Number((await t.db.k.selectFrom('orders').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
        // Interrupted after the first page of 4 (as Ctrl-C does): those 4 are stored and the cursor says so.
        const stop = new AbortController();
        const first = await backfillWooDb(t.app.ctx, reader, { batchSize: 4, signal: stop.signal }, { onProgress: () => stop.abort() });
        expect(first).toMatchObject({ complete: false, storage, startedFrom: 'start' });
        expect(await count()).toBe(4);
        expect(await selectBackfillCursor(t.db, { name: first.cursor })).toEqual({ storage, lastId: '1007' });

        const progress: string[] = [];
        const second = await backfillWooDb(t.app.ctx, reader, { batchSize: 4 }, { onResource: (r, total) => progress.push(`${r} ${total}`), onProgress: (p) => progress.push(`${p.done}/${p.total}`) });
        expect(second).toMatchObject({ complete: true, startedFrom: 'resumed after order id 1007' });
        expect(progress).toEqual(['orders 12', '4/12', '8/12', '12/12']);
        expect(second.tallies.orders).toMatchObject({ read: 12, stored: 11, created: 11, skipped: 1, rejected: 0 });
        expect(await count()).toBe(STORED);
        const stored = await t.db.k.selectFrom('orders').select(['externalId', 'status', 'total']).orderBy('externalId').execute();
        expect(stored.find((o) => o.externalId === '1009')).toMatchObject({ status: 'cancelled' });
        expect(stored.find((o) => o.externalId === '1020')).toBeUndefined();
        expect(stored.find((o) => o.externalId === '1006')).toBeUndefined();
        expect(stored.find((o) => o.externalId === '1011')).toMatchObject({ status: 'draft' });

        // A finished backfill's next run reads only new orders; --restart reads all again, doubling nothing.
        const again = await backfillWooDb(t.app.ctx, reader, { batchSize: 4 });
        expect(again).toMatchObject({ complete: true, startedFrom: 'new orders after id 1020 (use --restart to read everything)', tallies: { orders: { read: 0 } } });
        await (storage === 'hpos' ? seedHposOrder : seedLegacyOrder)(shop.conn, prefix, order(1021));
        const fresh = await backfillWooDb(t.app.ctx, reader, { batchSize: 4 });
        expect(fresh.tallies.orders).toMatchObject({ read: 1, created: 1 });
        const restarted = await backfillWooDb(t.app.ctx, reader, { batchSize: 4, restart: true });
        expect(restarted.tallies.orders).toMatchObject({ read: 17, created: 0, skipped: 1 });
        expect(await count()).toBe(STORED + 1);

        const contact = await t.db.k.selectFrom('contacts').select(['firstName', 'lastName']).where('email', '=', 'maryam.ahmadi@example.ir').executeTakeFirstOrThrow();
        expect(contact).toEqual({ firstName: 'مریم', lastName: 'احمدی' });
        // The reader never wrote: only the order the test itself added changed the shop.
        await shop.conn.query(storage === 'hpos' ? `DELETE FROM ${prefix}wc_orders WHERE id = 1021` : `DELETE FROM ${prefix}posts WHERE ID = 1021`);
        await shop.conn.query(storage === 'hpos' ? `DELETE FROM ${prefix}wc_order_addresses WHERE order_id = 1021` : `DELETE FROM ${prefix}postmeta WHERE post_id = 1021`);
        if (storage === 'hpos') await shop.conn.query(`DELETE FROM ${prefix}wc_order_operational_data WHERE order_id = 1021; DELETE FROM ${prefix}posts WHERE ID = 1021`);
        await shop.conn.query(`DELETE m FROM ${prefix}woocommerce_order_itemmeta m JOIN ${prefix}woocommerce_order_items i USING (order_item_id) WHERE i.order_id = 1021; DELETE FROM ${prefix}woocommerce_order_items WHERE order_id = 1021`);
        expect(await checksumShop(shop)).toBe(before);
      } finally {
        await reader.close();
        await t.close();
        await shop.drop();
      }
    });

    it('chapar woocommerce backfill --db prints the storage and a summary', async () => {
      const shop = await seedShop('legacy', 'shop7_');
      const cli = await openTestCli(dialect);
      try {
        const run = await cli.run(['woocommerce', 'backfill', '--db', shop.url, '--prefix', 'shop7_', '--quiet']);
        expect(run.code).toBe(0);
        expect(run.stderr).toBe('orders storage: legacy (posts holds shop_order rows)\n');
        expect(run.stdout).toBe(`WooCommerce backfill (start):\n  orders: 16 read, ${STORED} stored (${STORED} new), 0 already newer, 1 skipped, 0 rejected\n`);
        const bad = await cli.run(['woocommerce', 'backfill', '--db', shop.url, '--storage', 'cpt']);
        expect(bad).toMatchObject({ code: 2, stderr: 'error: --storage: "cpt" is not auto, hpos or legacy\n' });
      } finally {
        await cli.close();
        await shop.drop();
      }
    });
  });
}
