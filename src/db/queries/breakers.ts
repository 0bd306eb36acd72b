import { sql, type Selectable } from 'kysely';
import type { Db } from '../database.ts';
import type { BreakersTable } from '../tables.ts';

export type BreakerRow = Selectable<BreakersTable>;

export async function selectBreakers(db: Db): Promise<BreakerRow[]> {
  return db.k.selectFrom('breakers').selectAll().orderBy('scope').execute();
}

export async function upsertBreaker(db: Db, b: BreakerRow): Promise<void> {
  await db.k
    .insertInto('breakers')
    .values(b)
    .onConflict((oc) => oc.column('scope').doUpdateSet({ state: b.state, reason: b.reason, changedAt: b.changedAt, resumedAt: b.resumedAt }))
    .execute();
}

/** Sent, hard-bounced and complained-of messages per transport and per campaign since `since`. */
export async function selectOutcomeCounts(db: Db, since: number): Promise<{ scope: string; sent: number; hardBounces: number; complaints: number }[]> {
  const counts = (column: 'transport' | 'campaign_id', prefix: string) =>
    sql<{ key: string | number; sent: number; hard: number; complaints: number }>`
      SELECT ${sql.ref(column)} AS key,
        COUNT(*) AS sent,
        SUM(CASE WHEN status = 'bounced' AND reason LIKE 'hard_bounce%' THEN 1 ELSE 0 END) AS hard,
        SUM(CASE WHEN status = 'complained' THEN 1 ELSE 0 END) AS complaints
      FROM messages
      WHERE updated_at >= ${since} AND status IN ('sent', 'bounced', 'complained') AND ${sql.ref(column)} IS NOT NULL
      GROUP BY ${sql.ref(column)}`
      .execute(db.k)
      .then((r) => r.rows.map((x) => ({ scope: `${prefix}:${x.key}`, sent: Number(x.sent), hardBounces: Number(x.hard), complaints: Number(x.complaints) })));
  return [...(await counts('transport', 'transport')), ...(await counts('campaign_id', 'campaign'))];
}
