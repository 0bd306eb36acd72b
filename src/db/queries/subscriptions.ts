import { sql } from 'kysely';
import type { SubscriptionStatus } from '../../domain/consent.ts';
import { sqliteStatement } from '../prepared.ts';
import type { Db } from '../database.ts';

/** One contact's status on one topic, with the topic's key. */
export interface SubscriptionRow {
  contactId: number;
  topicId: number;
  topicKey: string;
  status: SubscriptionStatus;
  updatedAt: number;
}

/** Reads the subscriptions of many contacts (all topics). */
export async function selectSubscriptions(db: Db, contactIds: readonly number[]): Promise<SubscriptionRow[]> {
  if (contactIds.length === 0) return [];
  const rows = await db.k
    .selectFrom('subscriptions as s')
    .innerJoin('topics as t', 't.id', 's.topicId')
    .select(['s.contactId', 's.topicId', 't.key as topicKey', 's.status', 's.updatedAt'])
    .where('s.contactId', 'in', contactIds)
    .orderBy('s.contactId')
    .orderBy('t.key')
    .execute();
  return rows as SubscriptionRow[];
}

/** Writes (inserts or replaces) subscription statuses. */
export async function upsertSubscriptions(db: Db, rows: readonly { contactId: number; topicId: number; status: SubscriptionStatus }[], now: number): Promise<void> {
  if (rows.length === 0) return;
  await db.k
    .insertInto('subscriptions')
    .values(rows.map((r) => ({ ...r, updatedAt: now })))
    .onConflict((oc) =>
      oc.columns(['contactId', 'topicId']).doUpdateSet({
        status: (eb) => eb.ref('excluded.status'),
        updatedAt: (eb) => eb.ref('excluded.updatedAt'),
      }),
    )
    .execute();
}

/** A subscription left pending by a signup form that nobody confirmed. */
export interface LapsedPendingTopic {
  contactId: number;
  topicId: number;
  topicKey: string;
  email: string | null;
  /** Where the topic stood before the request: `unsubscribed`, or null for no status. */
  before: 'unsubscribed' | null;
}

/**
 * Subscriptions pending since before `before` whose latest consent entry is a signup form's
 * request (source `form`), and whose contact was sent no confirmation email since `before` (asking
 * again sends a new link, whose month starts then). Pending set by the API or an import is the
 * caller's to settle. One topic at a time: its (topic, status) index finds the pending rows, where
 * a search over all topics read every subscription. `onlyContact` re-checks one (inside the
 * transaction that lapses it).
 */
export async function selectLapsedPendingTopics(db: Db, p: { topicId: number; before: number; limit: number; onlyContact?: number }): Promise<LapsedPendingTopic[]> {
  const r = await sql<{ contactId: number; topicId: number; topicKey: string; email: string | null; earlier: string | null }>`
    SELECT s.contact_id AS "contactId", s.topic_id AS "topicId", t.key AS "topicKey", c.email AS "email",
      (SELECT l.status FROM consent_log l WHERE l.contact_id = s.contact_id AND l.topic_id = s.topic_id AND l.status <> 'pending' ORDER BY l.id DESC LIMIT 1) AS "earlier"
    FROM subscriptions s JOIN topics t ON t.id = s.topic_id JOIN contacts c ON c.id = s.contact_id
    WHERE s.topic_id = ${p.topicId} AND s.status = 'pending' AND s.updated_at < ${p.before}${p.onlyContact === undefined ? sql`` : sql` AND s.contact_id = ${p.onlyContact}`}
      AND (SELECT l.source FROM consent_log l WHERE l.contact_id = s.contact_id AND l.topic_id = s.topic_id ORDER BY l.id DESC LIMIT 1) = 'form'
      AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.contact_id = s.contact_id AND m.stream_id = 'optin' AND m.created_at >= ${p.before})
    ORDER BY s.contact_id
    LIMIT ${p.limit}`.execute(db.k);
  return r.rows.map((x) => ({ contactId: Number(x.contactId), topicId: Number(x.topicId), topicKey: x.topicKey, email: x.email, before: x.earlier === 'unsubscribed' ? 'unsubscribed' : null }));
}

/** Removes a contact's status on a topic (it never had one but a request that lapsed). */
export async function deleteSubscription(db: Db, contactId: number, topicId: number): Promise<void> {
  await db.k.deleteFrom('subscriptions').where('contactId', '=', contactId).where('topicId', '=', topicId).execute();
}

/** Reads one address's status on one topic by email key and topic key (the send-path lookup). */
export async function selectStatusByEmailKey(db: Db, emailKey: string, topicKey: string): Promise<SubscriptionStatus | null> {
  const fast = sqliteStatement(db, 'SELECT s.status FROM contacts c JOIN subscriptions s ON s.contact_id = c.id JOIN topics t ON t.id = s.topic_id WHERE c.email_key = ? AND t.key = ?');
  if (fast) return ((fast.get(emailKey, topicKey) as { status: SubscriptionStatus } | undefined)?.status) ?? null;
  const row = await db.k
    .selectFrom('contacts as c')
    .innerJoin('subscriptions as s', 's.contactId', 'c.id')
    .innerJoin('topics as t', 't.id', 's.topicId')
    .select('s.status')
    .where('c.emailKey', '=', emailKey)
    .where('t.key', '=', topicKey)
    .executeTakeFirst();
  return (row?.status as SubscriptionStatus | undefined) ?? null;
}
