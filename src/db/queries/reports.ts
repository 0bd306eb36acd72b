import { sql } from 'kysely';
import type { Db } from '../database.ts';

/** Which messages a report covers: created in [from, to), optionally one campaign or stream. */
export interface ReportScope {
  from: number;
  to: number;
  campaignId?: number;
  stream?: 'marketing' | 'transactional';
}

/** How long before its message was queued an event may say it happened (a provider's clock). */
const CLOCK_SLACK_MS = 86_400_000;

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
  // A message's events are indexed through its contact (migration 009): for each message, its
  // contact's events since the message was queued (a day earlier, for a provider's clock), and for
  // a message to an address that is no contact, the events with no contact.
  const types = sql`e.type IN ('email_delivered', 'email_opened', 'email_clicked', 'unsubscribed')`;
  const hit = sql`e.type AS type, CASE WHEN e.machine IS NULL THEN 0 ELSE 1 END AS machine, e.message_ref AS ref`;
  const r = await sql<{ type: string; machine: number | boolean; total: number | string; uniq: number | string }>`
    SELECT h.type AS type, h.machine AS machine, COUNT(*) AS total, COUNT(DISTINCT h.ref) AS uniq FROM (
      SELECT ${hit} FROM messages m
      JOIN events e ON e.contact_id = m.contact_id AND e.occurred_at >= m.created_at - ${CLOCK_SLACK_MS} AND e.message_ref = m.ref
      WHERE ${scopeSql(s)} AND ${types}
      UNION ALL
      SELECT ${hit} FROM messages m
      JOIN events e ON e.contact_id IS NULL AND e.message_ref = m.ref
      WHERE m.contact_id IS NULL AND ${scopeSql(s)} AND ${types}
    ) h
    GROUP BY h.type, h.machine`.execute(db.k);
  return r.rows.map((x) => ({ type: x.type, machine: Number(x.machine) === 1, total: Number(x.total), unique: Number(x.uniq) }));
}
