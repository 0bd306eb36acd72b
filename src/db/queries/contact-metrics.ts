import { sql } from 'kysely';
import type { Db } from '../database.ts';
import { sqliteStatement } from '../prepared.ts';

/** A contact's order metrics as stored (times in epoch ms; null before the first purchase). */
export interface ContactMetricsRecord {
  contactId: number;
  ordersCount: number;
  totalSpent: number;
  averageOrderValue: number;
  firstOrderAt: number | null;
  lastOrderAt: number | null;
  expectedNextOrderAt: number | null;
  updatedAt: number;
}

/**
 * Recomputes the order metrics of these contacts from their orders in one statement each 500
 * contacts (both dialects): purchases are orders with a status in `statuses`; money (total spent,
 * average order value) counts only orders in `currency`, since adding up different currencies
 * would be a silent conversion at 1:1, and net of refunds (total − refunded); the expected next order is the last one plus the average
 * gap, (last − first) / (count − 1), and null with fewer than two purchases. Reads `orders`,
 * changes `contact_metrics` (RFM columns untouched).
 */
export async function recomputeContactMetrics(db: Db, f: { contactIds: readonly number[]; statuses: readonly string[]; currency: string; now: number }): Promise<void> {
  const ids = [...new Set(f.contactIds)];
  for (let i = 0; i < ids.length; i += 500) {
    const chunk = ids.slice(i, i + 500);
    // The WHERE keeps SQLite from reading ON CONFLICT as a join constraint.
    await sql`
      INSERT INTO contact_metrics (contact_id, orders_count, total_spent, average_order_value, first_order_at, last_order_at, expected_next_order_at, updated_at)
      SELECT c.id,
        COUNT(o.id),
        COALESCE(SUM(CASE WHEN o.currency = ${f.currency} THEN o.total - o.refunded END), 0),
        COALESCE(AVG(CASE WHEN o.currency = ${f.currency} THEN o.total - o.refunded END), 0),
        MIN(o.ordered_at),
        MAX(o.ordered_at),
        CASE WHEN COUNT(o.id) >= 2 THEN MAX(o.ordered_at) + (MAX(o.ordered_at) - MIN(o.ordered_at)) / (COUNT(o.id) - 1) END,
        CAST(${f.now} AS BIGINT)
      FROM contacts c
      LEFT JOIN orders o ON o.contact_id = c.id AND o.status IN (${sql.join(f.statuses)})
      WHERE c.id IN (${sql.join(chunk)})
      GROUP BY c.id
      ON CONFLICT (contact_id) DO UPDATE SET
        orders_count = excluded.orders_count,
        total_spent = excluded.total_spent,
        average_order_value = excluded.average_order_value,
        first_order_at = excluded.first_order_at,
        last_order_at = excluded.last_order_at,
        expected_next_order_at = excluded.expected_next_order_at,
        updated_at = excluded.updated_at`.execute(db.k);
  }
}

/** Reads the metrics of many contacts: contact id → metrics. */
export async function selectContactMetrics(db: Db, contactIds: readonly number[]): Promise<Map<number, ContactMetricsRecord>> {
  const out = new Map<number, ContactMetricsRecord>();
  for (let i = 0; i < contactIds.length; i += 500) {
    const rows = await db.k
      .selectFrom('contactMetrics')
      .select(['contactId', 'ordersCount', 'totalSpent', 'averageOrderValue', 'firstOrderAt', 'lastOrderAt', 'expectedNextOrderAt', 'updatedAt'])
      .where('contactId', 'in', contactIds.slice(i, i + 500))
      .execute();
    for (const r of rows) out.set(r.contactId, r as ContactMetricsRecord);
  }
  return out;
}

const ONE_METRICS = 'SELECT contact_id AS "contactId", orders_count AS "ordersCount", total_spent AS "totalSpent", average_order_value AS "averageOrderValue", first_order_at AS "firstOrderAt", last_order_at AS "lastOrderAt", expected_next_order_at AS "expectedNextOrderAt", updated_at AS "updatedAt" FROM contact_metrics WHERE contact_id = ?';

/** Reads one contact's metrics (the delivery path: a prepared statement on SQLite). */
export async function selectOneContactMetrics(db: Db, contactId: number): Promise<ContactMetricsRecord | undefined> {
  const fast = sqliteStatement(db, ONE_METRICS);
  if (fast) return fast.get(contactId) as ContactMetricsRecord | undefined;
  return (await selectContactMetrics(db, [contactId])).get(contactId);
}
