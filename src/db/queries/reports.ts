import { sql } from 'kysely';
import type { Db } from '../database.ts';

/** Which messages a report covers: created in [from, to), optionally one campaign or stream. */
export interface ReportScope {
  from: number;
  to: number;
  campaignId?: number;
  stream?: 'marketing' | 'transactional';
}

function scopeSql(s: ReportScope) {
  return sql`m.created_at >= ${s.from} AND m.created_at < ${s.to}${s.campaignId === undefined ? sql`` : sql` AND m.campaign_id = ${s.campaignId}`}${s.stream === undefined ? sql`` : sql` AND m.stream = ${s.stream}`}`;
}

/** Outbox outcomes of the scope's messages: sent, each kind of bounce, complaints, suppressed, failed. Reads only. */
export async function selectOutcomeTotals(db: Db, s: ReportScope): Promise<{ sent: number; hardBounces: number; softBounces: number; policyBlocks: number; complaints: number; suppressed: number; failed: number }> {
  const r = await sql<Record<string, number | string | null>>`
    SELECT
      SUM(CASE WHEN m.status IN ('sent', 'bounced', 'complained') THEN 1 ELSE 0 END) AS sent,
      SUM(CASE WHEN m.status = 'bounced' AND m.reason LIKE 'hard_bounce%' THEN 1 ELSE 0 END) AS hard,
      SUM(CASE WHEN m.status = 'bounced' AND m.reason LIKE 'soft_bounce%' THEN 1 ELSE 0 END) AS soft,
      SUM(CASE WHEN m.status = 'bounced' AND m.reason LIKE 'policy_block%' THEN 1 ELSE 0 END) AS policy,
      SUM(CASE WHEN m.status = 'complained' THEN 1 ELSE 0 END) AS complaints,
      SUM(CASE WHEN m.status = 'suppressed' THEN 1 ELSE 0 END) AS suppressed,
      SUM(CASE WHEN m.status = 'failed' THEN 1 ELSE 0 END) AS failed
    FROM messages m WHERE ${scopeSql(s)}`.execute(db.k);
  const x = r.rows[0] ?? {};
  const n = (v: unknown) => Number(v ?? 0);
  return { sent: n(x.sent), hardBounces: n(x.hard), softBounces: n(x.soft), policyBlocks: n(x.policy), complaints: n(x.complaints), suppressed: n(x.suppressed), failed: n(x.failed) };
}

/** Engagement events of the scope's messages by type and by person-or-machine: total hits and distinct messages. Reads only. */
export async function selectEngagementCounts(db: Db, s: ReportScope): Promise<{ type: string; machine: boolean; total: number; unique: number }[]> {
  const r = await sql<{ type: string; machine: number | boolean; total: number | string; uniq: number | string }>`
    SELECT e.type AS type, CASE WHEN e.machine IS NULL THEN 0 ELSE 1 END AS machine, COUNT(*) AS total, COUNT(DISTINCT e.message_ref) AS uniq
    FROM events e JOIN messages m ON m.ref = e.message_ref
    WHERE ${scopeSql(s)} AND e.type IN ('email_delivered', 'email_opened', 'email_clicked', 'unsubscribed')
    GROUP BY e.type, CASE WHEN e.machine IS NULL THEN 0 ELSE 1 END`.execute(db.k);
  return r.rows.map((x) => ({ type: x.type, machine: Number(x.machine) === 1, total: Number(x.total), unique: Number(x.uniq) }));
}
