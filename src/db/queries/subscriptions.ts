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
