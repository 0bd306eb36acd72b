import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../database.ts';
import { PURCHASE_STATUSES } from '../../domain/store.ts';
import { RFM_GRID } from '../../domain/rfm.ts';

// RFM in one statement: aggregate purchases per contact, rank each measure with window functions,
// turn ranks into quintile scores, name the group, and upsert only the rfm_* columns of
// contact_metrics (the store-data service owns the rest of that row).

const PURCHASES = sql.join(PURCHASE_STATUSES.map((s) => sql`${s}`));

/** score = 1 + floor(5 · (rank − 1) / n): ties share the lowest rank and so one score (domain/rfm.ts quintileOf). */
const score = (order: RawBuilder<unknown>) => sql`(1 + (5 * (RANK() OVER (ORDER BY ${order}) - 1)) / COUNT(*) OVER ())`;

/** domain/rfm.ts's grid as a CASE over the scored row (r, f). */
function groupCase(): RawBuilder<string> {
  const whens = RFM_GRID.map(([rs, fs, group]) => sql`WHEN r IN (${sql.join(rs.map((x) => sql.lit(x)))}) AND f IN (${sql.join(fs.map((x) => sql.lit(x)))}) THEN ${sql.lit(group)}`);
  return sql`CASE ${sql.join(whens, sql` `)} END`;
}

/**
 * Scores every contact with at least one purchase and writes rfm_recency/frequency/monetary,
 * rfm_segment and rfm_scored_at, creating the contact_metrics row when missing. Reads orders;
 * changes contact_metrics (rfm_* only on existing rows). Returns the number of contacts scored.
 */
export async function upsertRfmScores(db: Db, now: number): Promise<number> {
  // SQLite needs a WHERE on an INSERT … SELECT before ON CONFLICT (to tell it from a join's ON).
  // Every purchase is read: on SQLite one sequential scan and a sort beats walking orders through
  // an index (orders_contact or orders_status_time: a random read per order), 3× at 1.5 M orders.
  const orders = db.dialect === 'sqlite' ? sql`orders NOT INDEXED` : sql`orders`;
  const r = await sql`INSERT INTO contact_metrics (contact_id, rfm_recency, rfm_frequency, rfm_monetary, rfm_segment, rfm_scored_at, updated_at)
    SELECT contact_id, r, f, mo, ${groupCase()}, CAST(${now} AS BIGINT), CAST(${now} AS BIGINT) FROM (
      SELECT contact_id, ${score(sql`last_at`)} AS r, ${score(sql`n`)} AS f, ${score(sql`spent`)} AS mo FROM (
        SELECT contact_id, MAX(ordered_at) AS last_at, COUNT(*) AS n, SUM(total) AS spent
        FROM ${orders} WHERE status IN (${PURCHASES}) AND contact_id IS NOT NULL GROUP BY contact_id
      ) per_contact
    ) scored WHERE true
    ON CONFLICT (contact_id) DO UPDATE SET rfm_recency = excluded.rfm_recency, rfm_frequency = excluded.rfm_frequency,
      rfm_monetary = excluded.rfm_monetary, rfm_segment = excluded.rfm_segment, rfm_scored_at = excluded.rfm_scored_at`.execute(db.k);
  return Number(r.numAffectedRows ?? 0);
}

/** Clears the scores of contacts that no longer have a purchase (all refunded, say). Changes contact_metrics rfm_* columns. */
export async function clearStaleRfmScores(db: Db, now: number): Promise<number> {
  const r = await db.k
    .updateTable('contactMetrics')
    .set({ rfmRecency: null, rfmFrequency: null, rfmMonetary: null, rfmSegment: null, rfmScoredAt: now })
    .where('rfmScoredAt', '<', now)
    .where('rfmSegment', 'is not', null)
    .executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Counts contacts per RFM group. Reads contact_metrics. */
export async function countRfmGroups(db: Db): Promise<{ group: string; contacts: number }[]> {
  const rows = await db.k
    .selectFrom('contactMetrics')
    .select(['rfmSegment', (eb) => eb.fn.countAll<number>().as('n')])
    .where('rfmSegment', 'is not', null)
    .groupBy('rfmSegment')
    .execute();
  return rows.map((r) => ({ group: r.rfmSegment!, contacts: Number(r.n) }));
}

/** The time of the last scoring, or null when never scored. Reads contact_metrics. */
export async function selectLastRfmRun(db: Db): Promise<number | null> {
  const row = await db.k.selectFrom('contactMetrics').select((eb) => eb.fn.max('rfmScoredAt').as('at')).executeTakeFirst();
  return row?.at == null ? null : Number(row.at);
}
