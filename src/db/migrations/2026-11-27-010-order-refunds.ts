import type { Kysely, Migration } from 'kysely';

// Frozen once landed: never edit, add a new migration instead. Imports nothing from the app.
// What has been refunded of an order so far. A partial refund leaves the order's status as it
// was (WooCommerce keeps it `completed`, Shopify says `partially_refunded`), so without this the
// money a customer kept (total spent, average order value, RFM's monetary score) counted the
// refunded part too. The net amount is `total - refunded`.

export function orderRefunds(dialect: 'sqlite' | 'postgres'): Migration {
  const money = dialect === 'postgres' ? 'double precision' : 'real';
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('orders').addColumn('refunded', money, (c) => c.notNull().defaultTo(0)).execute();
    },
  };
}
