import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectContactMetrics } from '../../src/db/queries/contact-metrics.ts';
import { openTestCli, type TestCli } from '../helpers/cli.ts';
import { DIALECTS } from '../helpers/databases.ts';

const FIXTURES = fileURLToPath(new URL('../fixtures/store/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

function readRejects(file: string): { kind: string; line: number; reason: string }[] {
  const rows = parse(readFileSync(file), { columns: true }) as { kind: string; line: string; reason: string }[];
  return rows.map((r) => ({ kind: r.kind, line: Number(r.line), reason: r.reason }));
}

describe.each(DIALECTS)('chapar orders/products import on %s', (dialect) => {
  let cli: TestCli;
  beforeAll(async () => {
    cli = await openTestCli(dialect);
  });
  afterAll(async () => cli.close());

  it('stores good orders, reports every bad line with its number and reason, and flags another currency', async () => {
    const rejects = cli.path('order-rejects.csv');
    const r = await cli.run(['orders', 'import', fixture('orders-mixed.csv'), '--rejects', rejects]);
    expect(r.stdout).toBe('11 rows read: 3 orders stored, 7 rows rejected, 1 warnings\n');
    expect(r.code).toBe(3);
    // Lines are reported as each batch of orders is stored, so sort them to compare.
    const lines = readRejects(rejects).sort((a, b) => a.line - b.line);
    expect(lines).toEqual([
      { kind: 'rejected', line: 5, reason: expect.stringContaining('ordered_at: "31/12/2025" is not a date') },
      { kind: 'warning', line: 6, reason: expect.stringContaining("currency: EUR is not the store's currency (USD)") },
      { kind: 'rejected', line: 7, reason: 'order "D1" was not stored: see line 8' },
      { kind: 'rejected', line: 8, reason: 'quantity: "two" is not a whole number' },
      { kind: 'rejected', line: 9, reason: expect.stringContaining('email: "not-an-address" is not a valid email address') },
      { kind: 'rejected', line: 10, reason: expect.stringContaining('ordered_at: "2026-02-30T00:00:00Z" is not a date') },
      { kind: 'rejected', line: 11, reason: 'order_id: the rows of order "A1" must be next to each other; it started on line 2' },
      { kind: 'rejected', line: 12, reason: 'order_id: is required' },
    ]);
    const orders = await cli.db.k.selectFrom('orders').select(['externalId', 'status', 'currency', 'total', 'source']).orderBy('externalId').execute();
    expect(orders).toEqual([
      { externalId: 'A1', status: 'completed', currency: 'USD', total: 30, source: 'csv' },
      { externalId: 'A2', status: 'processing', currency: 'USD', total: 45.5, source: 'csv' },
      { externalId: 'C1', status: 'on_hold', currency: 'EUR', total: 20, source: 'csv' },
    ]);
    const items = await cli.db.k.selectFrom('orderItems').innerJoin('orders', 'orders.id', 'orderItems.orderId').select(['orders.externalId', 'orderItems.name', 'orderItems.quantity']).where('orders.externalId', '=', 'A1').orderBy('orderItems.id').execute();
    expect(items.map((i) => [i.name, i.quantity])).toEqual([['Mug', 2], ['Tea', 1]]);
    const stubs = await cli.db.k.selectFrom('products').select(['externalId', 'isStub']).orderBy('externalId').execute();
    expect(stubs).toEqual([{ externalId: 'p1', isStub: 1 }, { externalId: 'p2', isStub: 1 }, { externalId: 'p9', isStub: 1 }]);
    // ana: 30 on Oct 1 10:00 and 45.50 on Oct 11 00:00 → 75.50, average 37.75; next = last + the one gap.
    const ana = await cli.db.k.selectFrom('contacts').select('id').where('emailKey', '=', 'ana@example.com').executeTakeFirstOrThrow();
    const first = Date.parse('2026-10-01T10:00:00Z');
    const last = Date.parse('2026-10-11T00:00:00Z');
    expect((await selectContactMetrics(cli.db, [ana.id])).get(ana.id)).toEqual(expect.objectContaining({ ordersCount: 2, totalSpent: 75.5, averageOrderValue: 37.75, firstOrderAt: first, lastOrderAt: last, expectedNextOrderAt: last + (last - first) }));
  });

  it('importing the same file again changes nothing', async () => {
    const r = await cli.run(['orders', 'import', fixture('orders-mixed.csv')]);
    expect(r.stdout).toBe('11 rows read: 3 orders stored, 7 rows rejected, 1 warnings\n');
    expect(r.stderr).toContain('line 5: ordered_at: "31/12/2025" is not a date');
    const n = await cli.db.k.selectFrom('orders').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n.n)).toBe(3);
    const events = await cli.db.k.selectFrom('events').select((eb) => eb.fn.countAll<number>().as('n')).where('type', '=', 'order_placed').executeTakeFirstOrThrow();
    expect(Number(events.n)).toBe(3);
  });

  it('refuses a file with an unknown or missing column before storing anything', async () => {
    const r = await cli.run(['orders', 'import', fixture('orders-bad-header.csv')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('column 5 ("totl") is not one of');
    expect(r.stderr).toContain('the required column "total" is missing');
    expect(r.stderr).toContain('nothing was stored');
  });

  it('imports products, filling the stubs orders made, and reports bad lines', async () => {
    const rejects = cli.path('product-rejects.csv');
    const r = await cli.run(['products', 'import', fixture('products.csv'), '--rejects', rejects]);
    expect(r.stdout).toBe('4 rows read: 2 products stored, 2 rows rejected, 0 warnings\n');
    expect(r.code).toBe(3);
    const lines = readRejects(rejects).sort((a, b) => a.line - b.line);
    expect(lines).toEqual([
      { kind: 'rejected', line: 4, reason: 'name: is required' },
      { kind: 'rejected', line: 5, reason: expect.stringMatching(/price: "abc" is not a number.*in_stock: "maybe" is not yes or no.*updated_at: "2026-13-01" is not a date/) },
    ]);
    const p1 = await cli.db.k.selectFrom('products').selectAll().where('externalId', '=', 'p1').executeTakeFirstOrThrow();
    expect([p1.name, p1.isStub, p1.inStock, p1.url, JSON.parse(String(typeof p1.categories === 'string' ? p1.categories : JSON.stringify(p1.categories)))]).toEqual(['Blue mug', 0, 1, 'https://shop.example/mug', ['Kitchen', 'Mugs']]);
  });

  it('takes an optional refunded column: the net amount counts in the metrics, more than the total is refused', async () => {
    const csv = [
      'order_id,email,status,currency,total,refunded,ordered_at',
      'R-1,rita@example.com,completed,USD,80,30,2026-11-01T00:00:00Z',
      'R-2,rita@example.com,completed,USD,20,,2026-11-02T00:00:00Z',
      'R-3,rita@example.com,completed,USD,20,25,2026-11-03T00:00:00Z',
      'R-4,rita@example.com,completed,USD,20,some,2026-11-04T00:00:00Z',
    ].join('\n');
    const r = await cli.run(['orders', 'import', '-'], Readable.from([csv]));
    expect(r.stdout).toBe('4 rows read: 2 orders stored, 2 rows rejected, 0 warnings\n');
    expect(r.stderr).toContain("line 4: refunded: 25 is more than the order's total (20)");
    expect(r.stderr).toContain('line 5: refunded: "some" is not a number');
    const rita = await cli.db.k.selectFrom('contacts').select('id').where('emailKey', '=', 'rita@example.com').executeTakeFirstOrThrow();
    expect((await selectContactMetrics(cli.db, [rita.id])).get(rita.id)).toEqual(expect.objectContaining({ ordersCount: 2, totalSpent: 70, averageOrderValue: 35 }));
  });

  it('reads standard input and takes --source', async () => {
    const csv = 'order_id,email,status,currency,total,ordered_at\nW-1,wendy@example.com,completed,USD,9.99,2026-11-01T00:00:00+03:30\n';
    const r = await cli.run(['orders', 'import', '-', '--source', 'woocommerce'], Readable.from([csv]));
    expect(r.stdout).toBe('1 rows read: 1 orders stored, 0 rows rejected, 0 warnings\n');
    expect(r.code).toBe(0);
    const o = await cli.db.k.selectFrom('orders').select(['source', 'orderedAt']).where('externalId', '=', 'W-1').executeTakeFirstOrThrow();
    expect(o).toEqual({ source: 'woocommerce', orderedAt: Date.parse('2026-10-31T20:30:00Z') });
    expect((await cli.run(['orders', 'import', '-', '--source', 'etsy'], Readable.from([csv]))).code).toBe(2);
  });
});
