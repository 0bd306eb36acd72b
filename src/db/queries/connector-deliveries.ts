import type { Db } from '../database.ts';

/**
 * Claims a webhook delivery (WooCommerce X-WC-Webhook-Delivery-ID, Shopify X-Shopify-Event-Id):
 * inserts it into connector_deliveries unless it is there. Returns false for a replay.
 */
export async function claimConnectorDelivery(db: Db, d: { source: string; deliveryId: string; topic: string | null; receivedAt: number }): Promise<boolean> {
  const row = await db.k
    .insertInto('connectorDeliveries')
    .values(d)
    .onConflict((oc) => oc.columns(['source', 'deliveryId']).doNothing())
    .returning('deliveryId')
    .executeTakeFirst();
  return row !== undefined;
}

/** Counts the deliveries taken from one source (reads connector_deliveries; tests and status pages). */
export async function countConnectorDeliveries(db: Db, source: string): Promise<number> {
  const row = await db.k.selectFrom('connectorDeliveries').select((eb) => eb.fn.countAll<number>().as('n')).where('source', '=', source).executeTakeFirstOrThrow();
  return Number(row.n);
}
