import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { migrateToLatest, migrateUpTo } from '../../src/db/migrate.ts';
import { DIALECTS, openTestDatabase } from '../helpers/databases.ts';

// Migration 007 makes a contact's address optional. On SQLite that rebuilds the contacts table,
// which every other table points at: nothing stored may be lost, and the foreign keys (cascades
// included) must still point at the new table.
describe.each(DIALECTS)('migration 007 (contacts by store id) on %s', (dialect) => {
  it('keeps every contact and every row that refers to one, with working foreign keys', async () => {
    const db = await openTestDatabase(dialect, { migrate: (d) => migrateUpTo(d, '2026-11-27-006-store') });
    try {
      const now = Date.parse('2026-11-27T10:00:00Z');
      const ids: number[] = [];
      for (const name of ['ana', 'bob']) {
        const row = await db.k.insertInto('contacts').values({ email: `${name}@example.com`, emailKey: `${name}@example.com`, emailDomain: 'example.com', firstName: name, attributes: '{"city":"Tehran"}', createdAt: now, updatedAt: now }).returning('id').executeTakeFirstOrThrow();
        ids.push(Number(row.id));
      }
      await db.k.insertInto('contactExternalIds').values({ contactId: ids[0]!, source: 'woocommerce', externalId: '17' }).execute();
      await db.k.insertInto('events').values({ type: 'viewed_product', contactId: ids[0]!, messageRef: null, properties: '{}', occurredAt: now }).execute();
      await db.k.insertInto('contactMetrics').values({ contactId: ids[1]!, ordersCount: 2, totalSpent: 10, averageOrderValue: 5, updatedAt: now } as never).execute();

      await db.k.insertInto('orders').values({ source: 'woocommerce', externalId: '5001', contactId: ids[1]!, status: 'completed', currency: 'USD', total: 42.5, orderedAt: now, createdAt: now, updatedAt: now } as never).execute();

      expect(await migrateToLatest(db)).toEqual(['2026-11-27-007-contacts-by-store-id', '2026-11-27-008-event-source-ids', '2026-11-27-009-events-by-contact', '2026-11-27-010-order-refunds', '2026-11-27-011-signup-contacts']);
      // Migration 010: orders stored before it have nothing refunded.
      expect(await db.k.selectFrom('orders').select(['total', 'refunded']).execute()).toEqual([{ total: 42.5, refunded: 0 }]);

      const contacts = await db.k.selectFrom('contacts').select(['id', 'email', 'firstName', 'attributes']).orderBy('id').execute();
      expect(contacts.map((c) => [Number(c.id), c.email, c.firstName])).toEqual([[ids[0], 'ana@example.com', 'ana'], [ids[1], 'bob@example.com', 'bob']]);
      expect(await db.k.selectFrom('contactExternalIds').select('contactId').execute()).toHaveLength(1);
      // An address-less contact can now be stored; half an address cannot.
      const bare = await db.k.insertInto('contacts').values({ email: null, emailKey: null, emailDomain: null, attributes: '{}', createdAt: now, updatedAt: now }).returning('id').executeTakeFirstOrThrow();
      expect(Number(bare.id)).toBeGreaterThan(ids[1]!);
      await expect(db.k.insertInto('contacts').values({ email: 'x@example.com', emailKey: null, emailDomain: null, attributes: '{}', createdAt: now, updatedAt: now }).execute()).rejects.toThrow(/constraint/i);
      // The unique address index is back, and foreign keys still cascade from the new table.
      await expect(db.k.insertInto('contacts').values({ email: 'ana@example.com', emailKey: 'ana@example.com', emailDomain: 'example.com', attributes: '{}', createdAt: now, updatedAt: now }).execute()).rejects.toThrow(/unique|duplicate/i);
      await db.k.deleteFrom('contacts').where('id', '=', ids[0]!).execute();
      expect(await db.k.selectFrom('contactExternalIds').selectAll().execute()).toHaveLength(0);
      expect(await db.k.selectFrom('events').selectAll().execute()).toHaveLength(0);
      await db.k.deleteFrom('contacts').where('id', '=', ids[1]!).execute();
      expect(await db.k.selectFrom('contactMetrics').selectAll().execute()).toHaveLength(0);
      await expect(db.k.insertInto('contactExternalIds').values({ contactId: 999_999, source: 'woocommerce', externalId: '18' }).execute()).rejects.toThrow(/foreign key/i);
      if (dialect === 'sqlite') expect((await sql<{ n: number }>`SELECT COUNT(*) AS n FROM sqlite_master WHERE sql LIKE '%contacts_rebuilt%'`.execute(db.k)).rows[0]!.n).toBe(0);
    } finally {
      await db.close();
    }
  });
});
