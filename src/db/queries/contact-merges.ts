import { sql } from 'kysely';
import type { Db } from '../database.ts';

// The statements of a contact merge (services/contact-merges.ts), each moving one kind of row from
// the contact that goes to the one that stays. Run inside one transaction.

/** The tables whose rows simply follow the contact: `orders`, `carts`, `events`, `messages`, `consent_log`. */
export const FOLLOWING_TABLES = ['orders', 'carts', 'events', 'messages', 'consentLog'] as const;

/**
 * Points one table's rows of `from` at `into`. On `consent_log` this is an UPDATE, which its
 * append-only trigger allows (it refuses deletes): each entry keeps its time, address and wording.
 * Changes the named table.
 */
export async function reassignContactRows(db: Db, table: (typeof FOLLOWING_TABLES)[number], from: number, into: number): Promise<number> {
  const r = await db.k.updateTable(table).set({ contactId: into }).where('contactId', '=', from).executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Moves `from`'s external ids to `into` for every source `into` has no id of. Changes `contact_external_ids`. */
export async function moveExternalIds(db: Db, from: number, into: number): Promise<void> {
  await db.k
    .updateTable('contactExternalIds')
    .set({ contactId: into })
    .where('contactId', '=', from)
    .where('source', 'not in', (eb) => eb.selectFrom('contactExternalIds as mine').select('mine.source').where('mine.contactId', '=', into))
    .execute();
}

/**
 * Gives `into` each of `from`'s topic statuses that is newer than its own (or that it lacks),
 * keeping the status's time: the latest word of the person counts. Changes `subscriptions`.
 */
export async function moveNewerSubscriptions(db: Db, from: number, into: number): Promise<void> {
  await sql`
    INSERT INTO subscriptions (contact_id, topic_id, status, updated_at)
    SELECT CAST(${into} AS BIGINT), s.topic_id, s.status, s.updated_at FROM subscriptions s
    WHERE s.contact_id = ${from}
      AND NOT EXISTS (SELECT 1 FROM subscriptions m WHERE m.contact_id = ${into} AND m.topic_id = s.topic_id AND m.updated_at >= s.updated_at)
    ON CONFLICT (contact_id, topic_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at`.execute(db.k);
}
